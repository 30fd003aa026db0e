"""Run as a separate process: reserve slots in one account's budget for a while, wait for each,
and print the moment it came (one per line). Used by test_budget to prove the budget is shared."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
django.setup()

from resends.engine import budget  # noqa: E402
from resends.models import ProviderAccount  # noqa: E402


def main() -> None:
    account = ProviderAccount.objects.get(code=sys.argv[1])
    lane = budget.Lane(sys.argv[2])
    go, seconds = Path(sys.argv[3]), float(sys.argv[4])
    Path(f"{go}.ready.{os.getpid()}").touch()  # loaded: the test says when to start
    while not go.exists():
        time.sleep(0.01)
    start_at = float(go.read_text())
    time.sleep(max(0.0, start_at - time.time()))
    stop_at = start_at + seconds
    while time.time() < stop_at:
        slot = budget.reserve(account, lane)
        time.sleep(slot.wait)
        if slot.reserved:
            print(f"{time.time():.6f}", flush=True)  # the moment this slot's request would leave


if __name__ == "__main__":
    main()
