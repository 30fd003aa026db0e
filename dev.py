#!/usr/bin/env python3
"""Set up and run the resend back office on a fresh machine. Needs only Python 3.11.

    python3 dev.py run     # venv + install + migrate + demo data, then sandbox, web, worker, beat
    python3 dev.py test    # venv + install + lint + checks + the whole suite (PostgreSQL/Redis, then SQLite)

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

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


class Supervisor:
    """Runs several processes, prefixes their output, stops all when one stops or on Ctrl-C."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc))
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

    @staticmethod
    def _pump(name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(f"{name:>8} | {line.decode(errors='replace')}")
            sys.stdout.flush()

    def wait(self) -> int:
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the children on TERM too
        try:
            while True:
                for name, proc in self.procs:
                    if proc.poll() is not None:
                        say(f"{name} exited with {proc.returncode}; stopping the rest")
                        return proc.returncode or 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        finally:
            for _, proc in self.procs:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            for _, proc in self.procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


def cmd_run(args: argparse.Namespace) -> None:
    ensure_venv()
    site = f"http://127.0.0.1:{WEB_PORT}"
    env = base_env(SITE_URL=site)
    run(PY, "manage.py", "migrate", "--no-input", "-v0", env=env)
    run(PY, "manage.py", "load_demo_data", env=env)
    sup = Supervisor()
    sup.start(
        "sandbox",
        [
            str(PY),
            "-m",
            "sandbox",
            "--port",
            str(SANDBOX_PORT),
            "--webhook-url",
            f"{site}/webhooks/returnhelper/",
            "--junction-webhook-url",
            f"{site}/webhooks/junction/",
            "--chargebee-webhook-url",
            f"{site}/webhooks/chargebee/",
        ],
        env,
    )
    sup.start(
        "web", [str(PY), "manage.py", "runserver", f"127.0.0.1:{WEB_PORT}", "--noreload"], env
    )
    sup.start(
        "worker",
        [str(PY), "-m", "celery", "-A", "backoffice", "worker", "-l", "INFO", "--concurrency", "2"],
        env,
    )
    sup.start("beat", [str(PY), "-m", "celery", "-A", "backoffice", "beat", "-l", "INFO"], env)
    say(f"console: {site}/   admin: {site}/admin/   (Ctrl-C stops everything)")
    sys.exit(sup.wait())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="set up and run sandbox, web, worker and beat on SQLite")
    test = sub.add_parser(
        "test", help="lint, checks and the whole suite on PostgreSQL+Redis and SQLite"
    )
    test.add_argument("--no-browser", action="store_true", help="skip the headless Chromium tests")
    test.add_argument("pytest_args", nargs="*", help="extra arguments passed to pytest")
    args = parser.parse_args()
    {"run": cmd_run, "test": cmd_test}[args.command](args)


if __name__ == "__main__":
    main()
