"""Queues and routes: an agent's resend never waits behind a backfill or a sync; the Procfile
runs a worker group per queue; beat's messages expire instead of piling up."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from backoffice.celery import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def worker_modules() -> None:
    """What a worker imports at start: the autodiscovered tasks and CELERY_IMPORTS."""
    app.loader.import_default_modules()


def queue_of(task: str, **options: str) -> str:
    route = app.amqp.router.route(dict(options), task, (1,), {})
    return str(route["queue"].name)


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("resends.tasks.execute_call", "calls"),  # unless the doorbell names the lane's queue
        ("resends.tasks.advance_bulk_job", "bulk_steps"),
        ("resends.tasks.sweep_calls", "maintenance"),
        ("resends.tasks.sweep_bulk_jobs", "maintenance"),
        ("resends.tasks.sync_mirrors", "maintenance"),
        ("resends.tasks.run_scheduled_replay", "maintenance"),
        ("backoffice.clear_sessions", "maintenance"),
        ("backoffice.compact_call_counts", "maintenance"),
    ],
)
def test_each_task_is_routed_to_its_queue(task: str, queue: str) -> None:
    assert task in app.tasks
    assert queue_of(task) == queue


def test_the_doorbell_can_send_a_call_to_either_lanes_queue() -> None:
    assert settings.CALL_QUEUES == {"single": "calls", "bulk": "bulk"}
    for queue in settings.CALL_QUEUES.values():
        assert queue_of("resends.tasks.execute_call", queue=queue) == queue


def test_a_worker_without_q_consumes_every_queue_and_events_are_on() -> None:
    assert set(app.amqp.queues) == {"calls", "bulk", "bulk_steps", "maintenance"}
    assert app.conf.task_default_queue == "calls"
    assert app.conf.worker_send_task_events and app.conf.task_send_sent_event
    assert app.conf.worker_max_tasks_per_child == 1000
    assert app.conf.worker_hijack_root_logger is False


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    found = (re.fullmatch(r"([\w-]+):\s*(.+)", line) for line in lines)
    return {m.group(1): shlex.split(m.group(2)) for m in found if m}


def test_the_procfile_runs_one_worker_group_per_queue_one_beat_and_gunicorn() -> None:
    processes = procfile()
    consumed: list[str] = []
    for args in processes.values():
        if args[:4] == ["celery", "-A", "backoffice", "worker"]:
            consumed += args[args.index("-Q") + 1].split(",")
    assert sorted(consumed) == sorted(app.amqp.queues)  # each queue exactly once
    assert sum("beat" in args for args in processes.values()) == 1
    assert processes["web"][:3] == ["gunicorn", "-c", "gunicorn.conf.py"]


@pytest.mark.django_db(transaction=True)  # the scheduler closes the connection as beat does
def test_beat_entries_expire_once_stored_by_the_database_scheduler() -> None:
    scheduler = DatabaseScheduler(app=app)
    entries: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE
    for name, entry in entries.items():
        expires = scheduler.schedule[name].options["expires"]
        assert expires == entry["options"]["expire_seconds"]
        assert 0 < expires <= max(entry["schedule"], 3600)
    assert "celery.backend_cleanup" not in scheduler.schedule
