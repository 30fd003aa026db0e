"""Start a real Celery worker process against the test database and the sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(sandbox: Any, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "1",
        "IGNORE_DOTENV": "1",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "VAR_DIR": str(settings.VAR_DIR),
        "JUNCTION_BASE_URL": sandbox.junction_url,
        "CHARGEBEE_BASE_URL": sandbox.chargebee_url,
        "RETURNHELPER_BASE_URL": sandbox.returnhelper_user_url,
        "RETURNHELPER_PUBLIC_BASE_URL": sandbox.returnhelper_public_url,
        # No rate budget unless a test asks for one (0 means unlimited).
        "JUNCTION_RATE_PER_SECOND": "0",
        "CHARGEBEE_RATE_PER_SECOND": "0",
        "RETURNHELPER_RATE_PER_SECOND": "0",
        **extra,
    }


@contextmanager
def celery_worker(
    env: dict[str, str], log: Path, concurrency: int = 2
) -> Iterator[subprocess.Popen[bytes]]:
    args = [
        sys.executable, "-m", "celery", "-A", "backoffice", "worker", "-l", "INFO",
        "-c", str(concurrency), "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
        "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        stop(proc, signal.SIGTERM)


def stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def wait_until(predicate: Any, timeout: float, every: float = 0.3, tick: Any = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if tick is not None:
            tick()
        time.sleep(every)
    return bool(predicate())
