"""A real beat process: its ticks make /readyz's beat check pass, and it logs JSON lines."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from backoffice.celery import app
from tests.engine.worker import ROOT, stop, wait_until, worker_env

from .helpers import json_lines

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def beat_check(client: Client) -> dict[str, object]:
    check: dict[str, object] = client.get("/readyz").json()["checks"]["beat"]
    return check


def test_beat_ticks_are_what_readyz_sees(sandbox, client: Client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.create(
        name="test tick", task="backoffice.clear_sessions", interval=every_second,
        expire_seconds=1,
    )  # fmt: skip
    assert beat_check(client) == {"ok": False, "detail": "beat has never run"}
    log = tmp_path / "beat.log"
    args = [sys.executable, "-m", "celery", "-A", "backoffice", "--quiet", "beat",
            "-s", str(tmp_path / "schedule")]  # fmt: skip
    with log.open("ab") as out:
        beat = subprocess.Popen(
            args, cwd=ROOT, env=worker_env(sandbox, LOG_FORMAT="json"),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        ticked = wait_until(lambda: beat_check(client)["ok"], timeout=60)
        text = log.read_text()
    finally:
        stop(beat, signal.SIGTERM)
        app.control.purge()  # the ticks it sent are for no one
    assert ticked, text[-3000:]
    lines = json_lines(text)
    assert any(line["logger"] == "celery.beat" for line in lines)
