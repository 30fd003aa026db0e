#!/usr/bin/env python3
"""Set up and run the resend back office on a fresh machine. Needs only Python 3.11.

    python3 dev.py run     # venv + install + migrate + demo data, then sandbox, web, worker, beat
    python3 dev.py run --fresh   # the same, with the demo (database and sandbox) started afresh
    python3 dev.py test    # venv + install + lint + checks + the whole suite (PostgreSQL/Redis, then SQLite)

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
PG_URL = "postgres://postgres@127.0.0.1:5432/backoffice"
REDIS_URL = "redis://127.0.0.1:6379/0"
MYPY_PATHS = ("backoffice", "resends", "sandbox", "bench", "tests", "dev.py")
WEB_PORT = int(os.environ.get("PORT", "8000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8765"))


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result.returncode


def run_quietly(*args: str | Path, env: dict[str, str]) -> None:
    """Run a step whose output matters only when it fails."""
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, capture_output=True)
    if result.returncode != 0:
        sys.stdout.buffer.write(result.stdout + result.stderr)
        sys.exit(result.returncode)


def ensure_venv() -> None:
    if sys.version_info[:2] < (3, 11):  # noqa: UP036 - dev.py runs before the venv exists
        sys.exit("Python 3.11 or newer is needed: run this with python3.11.")
    if not PY.exists():
        say("creating .venv")
        run(sys.executable, "-m", "venv", VENV)
    stamp = VENV / ".installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    say("installing the project and its dev tools into .venv")
    run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "-q", "-e", ".[dev]")
    stamp.write_text(digest)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def ensure_service(name: str, port: int, start: list[str]) -> None:
    if port_open("127.0.0.1", port):
        return
    say(f"{name} is not answering on 127.0.0.1:{port}; starting it")
    subprocess.run(start, cwd=ROOT, check=False)
    for _ in range(40):
        if port_open("127.0.0.1", port):
            return
        time.sleep(0.25)
    sys.exit(f"{name} is not running on 127.0.0.1:{port} and could not be started.")


def ensure_postgres_and_redis() -> None:
    clusters = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").exists() else []
    version = clusters[-1] if clusters else ""
    ensure_service(
        "PostgreSQL",
        5432,
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
    )
    ensure_service(
        "Redis",
        6379,
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    )


def drop_stale_test_databases() -> None:
    """Test databases left by runs that were killed (each run's name carries its pid)."""
    listed = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
         "SELECT datname FROM pg_database WHERE datname LIKE 'test_backoffice_run%'"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    for name in listed.stdout.split():
        pid = name.rsplit("run", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                 f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                capture_output=True, check=False,
            )  # fmt: skip


def ensure_chromium() -> None:
    """Browser tests drive Debian's Chromium (a test tool's own browser download fails here)."""
    if Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        say("installing Debian's chromium for the browser tests")
        quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=quiet, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=quiet, check=False)
    if not Path("/usr/bin/chromium").exists():
        sys.exit("Browser tests need /usr/bin/chromium (Debian package 'chromium').")


def base_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
    env.setdefault("DEBUG", "1")
    return env


def production_like_env() -> dict[str, str]:
    return {
        **os.environ,
        "IGNORE_DOTENV": "1",
        "DEBUG": "0",
        "SECRET_KEY": "ci-" + "x" * 60 + "-not-a-real-secret",
        "ALLOWED_HOSTS": "resends.example.com",
        "SITE_URL": "https://resends.example.com",
        "DATABASE_URL": PG_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "JUNCTION_BASE_URL": "https://api.sandbox.us.junction.com",
        "JUNCTION_API_KEY": "sk_us_ci",
        "JUNCTION_WEBHOOK_SECRET": "whsec_Y2ktc2VjcmV0",
        "CHARGEBEE_SITE": "acme-test",
        "CHARGEBEE_API_KEY": "test_ci",
        "CHARGEBEE_WEBHOOK_USERNAME": "hooks",
        "CHARGEBEE_WEBHOOK_PASSWORD": "ci-password",
        "RETURNHELPER_BASE_URL": "https://api.returnshelper.com/uat/user/api",
        "RETURNHELPER_PUBLIC_BASE_URL": "https://api.returnshelper.com/uat/public/api",
        "RETURNHELPER_API_KEY": "ci-key",
        "RETURNHELPER_API_TOKEN": "ci-token",
        "RETURNHELPER_WEBHOOK_SIGNING_KEY": "Y2ktc2lnbmluZy1rZXk=",
        "METRICS_TOKEN": "ci-metrics-token-" + "x" * 32,
    }


def cmd_test(args: argparse.Namespace) -> None:
    ensure_venv()
    ensure_postgres_and_redis()
    drop_stale_test_databases()
    if not args.no_browser and (ROOT / "tests" / "browser").is_dir():
        ensure_chromium()
    say("ruff")
    run(PY, "-m", "ruff", "check", ".")
    run(PY, "-m", "ruff", "format", "--check", "--quiet", ".")
    sqlite_env = base_env(IGNORE_DOTENV="1", VAR_DIR=str(ROOT / "var" / "test"))
    say("mypy")
    # The django-stubs plugin imports the settings, hence sqlite_env. No incremental cache: it does
    # not notice when a setting's type changes, and a stale one hides errors (a full run is ~5 s).
    run(PY, "-m", "mypy", "--no-incremental", *MYPY_PATHS, env=sqlite_env)
    say("import contracts (layers, no cycles)")
    run(VENV / "bin" / "lint-imports", "--no-cache", "--no-logo", env=sqlite_env)
    say("missing migrations?")
    run(PY, "manage.py", "makemigrations", "--check", "--dry-run", env=sqlite_env)
    say("manage.py check --deploy with production-like settings")
    run(PY, "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=production_like_env())
    pytest = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.pytest_args]
    if args.no_browser:
        pytest += ["-m", "not browser"]
    say("test suite on PostgreSQL + Redis")
    pg_env = base_env(
        IGNORE_DOTENV="1",
        # A name of its own, so that two runs on one machine never share a test database.
        DATABASE_URL=f"{PG_URL}_run{os.getpid()}",
        # TEST_REDIS_DB gives concurrent runs on one machine (e.g. two checkouts) a broker each.
        CELERY_BROKER_URL=REDIS_URL.replace("/0", "/" + os.environ.get("TEST_REDIS_DB", "15")),
        # The live server's request threads would keep pooled connections open past teardown.
        DB_CONN_MAX_AGE="0",
        VAR_DIR=str(ROOT / "var" / "test-pg"),
    )
    failed = run(*pytest, env=pg_env, check=False)
    say("test suite on the embedded default (SQLite + filesystem broker)")
    failed |= run(*pytest, env=sqlite_env, check=False)
    if failed:
        sys.exit("tests failed")
    say("all green")


# Run inside the venv with Django set up: where var/ is, what the database holds, the demo logins.
DEMO_FACTS = """
import json
import django
django.setup()
from django.conf import settings
from resends.management.commands.load_demo_data import DEMO_USERS
from resends.models import Order, ResendRequest
print(json.dumps({
    "var_dir": str(settings.VAR_DIR),
    "orders": Order.objects.exists(),
    "resends": ResendRequest.objects.exists(),
    "logins": [[user, password, group] for user, password, group, _ in DEMO_USERS],
}))
"""
ENSURE_ROLES = (
    "import django; django.setup(); from resends.roles import ensure_roles; ensure_roles()"
)
# Lines from the worker and beat that reach the terminal; everything goes to the log file.
ALARMING = ("WARNING", "ERROR", "CRITICAL", "Traceback")


def django_python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(PY), "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "backoffice.settings"},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(result.stderr.strip() or f"python -c failed with {result.returncode}")
    return result.stdout


def demo_facts(env: dict[str, str]) -> dict[str, Any]:
    facts: dict[str, Any] = json.loads(django_python(DEMO_FACTS, env).strip().splitlines()[-1])
    return facts


def prepare_demo(env: dict[str, str], state_file: Path, facts: dict[str, Any], fresh: bool) -> str:
    """Make the database and the sandbox's state file agree: both resumed, or both afresh."""
    if fresh:
        say("starting the demo afresh: emptying the database and the sandbox's state")
        run_quietly(PY, "manage.py", "flush", "--no-input", env=env)
        django_python(ENSURE_ROLES, env)
    elif state_file.exists() and facts["orders"]:
        return "resumed where it stopped (python3 dev.py run --fresh starts afresh)"
    elif facts["resends"]:
        sys.exit(
            f"The database has resends, but the sandbox's state ({state_file}) is missing, so "
            "the two would disagree.\nRun `python3 dev.py run --fresh` to start both afresh."
        )
    state_file.unlink(missing_ok=True)  # a new database: the sandbox starts afresh with it
    run_quietly(PY, "manage.py", "load_demo_data", env=env)
    return "loaded afresh"


def parent_death_signal() -> Callable[[], None] | None:
    """For a child, before exec: be sent SIGTERM if dev.py dies, even by SIGKILL, so that no
    server is left holding its port (Linux's PR_SET_PDEATHSIG). Looked up here, in the parent:
    the child only makes the call."""
    if sys.platform != "linux":
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(1, signal.SIGTERM)


class Supervisor:
    """Runs several processes and writes their output, prefixed, to a log file. The terminal
    shows it only once everything answers (then the web's lines and the others' warnings and
    errors), and nothing of a normal stop."""

    def __init__(self, log: Path) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log
        self.log = log.open("w", encoding="utf-8")
        self.lock = threading.Lock()
        self.live = False  # echo to the terminal
        self.recent: dict[str, deque[str]] = {}
        self.before_exec = parent_death_signal()

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C reaches dev.py only, which stops the rest in order.
            start_new_session=True,
            preexec_fn=self.before_exec,
        )
        self.procs.append((name, proc))
        self.recent[name] = deque(maxlen=30)
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

    def _pump(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = f"{name:>8} | {raw.decode(errors='replace')}"
            with self.lock:
                self.log.write(line)
                self.log.flush()
                self.recent[name].append(line)
                if self.live and (name in ("web", "sandbox") or any(w in line for w in ALARMING)):
                    sys.stdout.write(line)
                    sys.stdout.flush()

    def exited(self) -> tuple[str, int] | None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def report_exit(self, name: str, code: int) -> None:
        with self.lock:
            self.live = False
            say(f"{name} exited with {code}; stopping the rest. Its last lines:")
            sys.stdout.write("".join(self.recent[name]))
            say(f"everything the processes printed is in {self.log_path}")

    def wait_until_ready(self, checks: list[tuple[str, Callable[[], bool]]]) -> int:
        """Each check in turn until it passes; a process that exits meanwhile ends the wait."""
        for name, check in checks:
            deadline = time.monotonic() + 180
            while not check():
                stopped = self.exited()
                if stopped:
                    self.report_exit(*stopped)
                    return stopped[1] or 1
                if time.monotonic() > deadline:
                    self.report_exit(name, -1)
                    return 1
                time.sleep(0.3)
        return 0

    def go_live(self, banner: str) -> None:
        with self.lock:
            print(banner, flush=True)
            self.live = True

    def wait(self) -> int:
        while True:
            stopped = self.exited()
            if stopped:
                self.report_exit(*stopped)
                return stopped[1] or 1
            time.sleep(0.5)

    def stop(self) -> None:
        """TERM to each process itself (not its group: Celery stops its own pool, and says
        nothing alarming about it), the sandbox last; KILL to the group of one that lingers."""
        with self.lock:
            self.live = False
        ordered = sorted(self.procs, key=lambda item: item[0] == "sandbox")
        for group in (
            [p for n, p in ordered if n != "sandbox"],
            [p for n, p in ordered if n == "sandbox"],
        ):
            for proc in group:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in group:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        self.log.close()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except (OSError, ValueError):
        return False


def worker_answers(env: dict[str, str]) -> bool:
    ping = [str(PY), "-m", "celery", "-A", "backoffice", "inspect", "ping", "--timeout", "2"]
    return subprocess.run(ping, cwd=ROOT, env=env, capture_output=True).returncode == 0


def stop_on_signals() -> None:
    """INT (Ctrl-C, even when a shell started dev.py in the background with INT ignored), TERM
    (kill) and HUP (the terminal closed) stop everything in order."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, interrupt)


def cmd_run(args: argparse.Namespace) -> None:
    stop_on_signals()
    for port, variable in ((WEB_PORT, "PORT"), (SANDBOX_PORT, "SANDBOX_PORT")):
        if port_open("127.0.0.1", port):
            sys.exit(f"127.0.0.1:{port} is taken (is dev.py run already running?); set {variable}.")
    ensure_venv()
    site = f"http://127.0.0.1:{WEB_PORT}"
    sandbox_url = f"http://127.0.0.1:{SANDBOX_PORT}"
    # Given to every process, so that a SANDBOX_PORT in .env cannot split them.
    env = base_env(SITE_URL=site, SANDBOX_PORT=str(SANDBOX_PORT))
    say("migrating the database")
    run_quietly(PY, "manage.py", "migrate", "--no-input", env=env)
    facts = demo_facts(env)
    var_dir = Path(facts["var_dir"])
    state_file = var_dir / "sandbox" / "state.json"
    demo = prepare_demo(env, state_file, facts, args.fresh)
    say(f"demo data {demo}; starting sandbox, web, worker and beat")
    sup = Supervisor(var_dir / "log" / "run.log")
    try:
        sup.start(
            "sandbox",
            [
                str(PY), "-m", "sandbox", "--port", str(SANDBOX_PORT),
                "--state-file", str(state_file),
                "--webhook-url", f"{site}/webhooks/returnhelper/",
                "--junction-webhook-url", f"{site}/webhooks/junction/",
                "--chargebee-webhook-url", f"{site}/webhooks/chargebee/",
            ],
            env,
        )  # fmt: skip
        sup.start(
            "web", [str(PY), "manage.py", "runserver", f"127.0.0.1:{WEB_PORT}", "--noreload"], env
        )
        celery = [str(PY), "-m", "celery", "-A", "backoffice"]
        sup.start("worker", [*celery, "worker", "-l", "INFO", "--concurrency", "2"], env)
        sup.start("beat", [*celery, "beat", "-l", "INFO"], env)
        failed = sup.wait_until_ready(
            [
                ("sandbox", lambda: http_ok(f"{sandbox_url}/_sandbox/health")),
                ("web", lambda: http_ok(f"{site}/login/")),
                ("worker", lambda: worker_answers(env)),
            ]
        )
        if failed:
            sys.exit(failed)
        logins = "\n".join(
            f"    sign in as {user} / {password}  ({group})"
            for user, password, group in facts["logins"]
        )
        sup.go_live(
            f"\n==> ready (the processes' output: {sup.log_path})\n"
            f"    console  {site}/\n    admin    {site}/admin/\n{logins}\n"
            "    Ctrl-C stops everything\n"
        )
        code = sup.wait()
    except KeyboardInterrupt:
        print(flush=True)
        say("stopping")
        code = 0
    finally:
        sup.stop()
    if code == 0:
        say("stopped")
    sys.exit(code)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_ = sub.add_parser("run", help="set up and run sandbox, web, worker and beat on SQLite")
    run_.add_argument(
        "--fresh",
        action="store_true",
        help="empty the database and the sandbox's state and load the demo data again",
    )
    test = sub.add_parser(
        "test", help="lint, checks and the whole suite on PostgreSQL+Redis and SQLite"
    )
    test.add_argument("--no-browser", action="store_true", help="skip the headless Chromium tests")
    test.add_argument("pytest_args", nargs="*", help="extra arguments passed to pytest")
    args = parser.parse_args()
    try:
        {"run": cmd_run, "test": cmd_test}[args.command](args)
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C before everything had started: no traceback


if __name__ == "__main__":
    main()
