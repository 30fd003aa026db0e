"""``python -m sandbox``: run the provider sandbox as its own process.

Every :class:`SandboxConfig` field is a flag (``--group-max 5``) and an environment variable
(``SANDBOX_GROUP_MAX=5``); flags win over the environment, which wins over the defaults.
``--state-file PATH`` (``SANDBOX_STATE_FILE``) keeps the provider data in that file across
restarts; without it every start seeds afresh.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import fields
from pathlib import Path
from types import FrameType

from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8765")))
    parser.add_argument(
        "--state-file",
        type=Path,
        default=os.environ.get("SANDBOX_STATE_FILE") or None,
        help="resume from this file if it exists, and keep it up to date",
    )
    defaults = SandboxConfig()
    for item in fields(SandboxConfig):
        flag = "--" + item.name.replace("_", "-")
        default = getattr(defaults, item.name)
        if isinstance(default, bool):
            parser.add_argument(flag, dest=item.name, action=argparse.BooleanOptionalAction)
        else:
            parser.add_argument(flag, dest=item.name, metavar=item.name.upper())
    return parser


def config_from(args: argparse.Namespace) -> SandboxConfig:
    changes: dict[str, object] = {}
    for item in fields(SandboxConfig):
        value = getattr(args, item.name)
        if value is None:
            value = os.environ.get("SANDBOX_" + item.name.upper())
        if value is not None:
            changes[item.name] = value
    return SandboxConfig().updated(changes)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    # Many handler threads sleep through injected latency while others work; a short GIL switch
    # interval lets a newly arrived request be stamped without waiting behind them.
    sys.setswitchinterval(0.001)
    try:
        running = start_in_thread(args.host, args.port, config, state_file=args.state_file)
    except ValueError as exc:
        print(f"sandbox: {exc}. Delete the file to start afresh.", file=sys.stderr)
        return 2
    print(f"sandbox listening on {running.url}", flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop.wait(0.5):
        pass
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
