"""What /readyz checks: each check answers (ok, detail) quickly and never raises.

Beat's last tick is read from django-celery-beat's own table: beat writes each entry's
last_run_at when it sends it (CELERY_BEAT_SYNC_EVERY=1 makes it write after every send instead
of every three minutes), and the sweeper entry ticks every 30 s. So the check sees beat itself,
with no write of ours and no shared cache (there is none without Redis), and a stopped worker
does not make beat look dead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from resends.redaction import redact_text

TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return Check(False, f"{connection.vendor}: {_first_line(exc)}")
    return Check(True, connection.vendor)


def broker() -> Check:
    return _reach(settings.CELERY_BROKER_URL)


def redis() -> Check:
    """The rate budget's Redis, when it is not the broker already checked."""
    return _reach(settings.REDIS_URL)


def migrations() -> Check:
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return Check(False, f"cannot read the migration table: {_first_line(exc)}")
    if plan:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in plan[:5])
        return Check(False, f"{len(plan)} not applied: {names}")
    return Check(True, "all applied")


def beat() -> Check:
    from django_celery_beat.models import PeriodicTask

    try:
        last = PeriodicTask.objects.filter(enabled=True).order_by("-last_run_at")
        tick = last.exclude(last_run_at=None).values_list("last_run_at", flat=True).first()
    except DatabaseError as exc:
        return Check(False, f"cannot read beat's schedule: {_first_line(exc)}")
    if tick is None:
        return Check(False, "beat has never run")
    age = timezone.now() - tick
    if age > timedelta(seconds=settings.BEAT_STALE_SECONDS):
        return Check(False, f"last tick {int(age.total_seconds())} s ago")
    return Check(True, f"last tick {max(0, int(age.total_seconds()))} s ago")


def all_checks() -> dict[str, Callable[[], Check]]:
    checks = {"database": database, "broker": broker}
    if settings.REDIS_URL and settings.REDIS_URL != settings.CELERY_BROKER_URL:
        checks["redis"] = redis
    checks |= {"migrations": migrations, "beat": beat}
    return checks


def run() -> dict[str, Check]:
    results = {}
    for name, check in all_checks().items():
        try:
            results[name] = check()
        except Exception as exc:  # a check that breaks reports itself down, never a 500
            results[name] = Check(False, f"check failed: {_first_line(exc)}")
    return results


def _reach(url: str) -> Check:
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        import redis as redis_client

        where = f"Redis at {parts.hostname or 'localhost'}:{parts.port or 6379}"
        try:
            client = redis_client.Redis.from_url(
                url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
            )
            try:
                client.ping()
            finally:
                client.close()
        except redis_client.RedisError as exc:
            return Check(False, f"{where} unreachable: {_first_line(exc)}")
        return Check(True, where)
    if parts.scheme == "filesystem":
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])  # type: ignore[arg-type]
        if folder.is_dir() and os.access(folder, os.W_OK):
            return Check(True, "filesystem broker")
        return Check(False, f"filesystem broker folder {folder} is not writable")
    return Check(True, f"{parts.scheme} broker")


def _first_line(exc: BaseException) -> str:
    # Driver messages can quote a connection string; only the first line, masked.
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return redact_text(text)[:200]
