"""Scheduled replays: one job per schedule slot, never overlapping, dry runs, and the admin's
view of each schedule (its timezone and its runs)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from resends.models import BulkJob, BulkKind, BulkState
from resends.services.schedules import run_schedule, slot_of
from resends.tasks import run_scheduled_replay

pytestmark = pytest.mark.django_db
NIGHTLY: dict[str, Any] = {
    "kind": BulkKind.JUNCTION_WINDOW,
    "account": "junction",
    "lookback_hours": 24,
}
TICK = datetime(2026, 11, 10, 2, 0, 3, tzinfo=UTC)


def test_two_ticks_for_one_slot_make_one_job(manager) -> None:  # type: ignore[no-untyped-def]
    first, made = run_schedule("nightly", owner="mona", now=TICK, **NIGHTLY)
    again, made_again = run_schedule(
        "nightly", owner="mona", now=TICK + timedelta(seconds=40), **NIGHTLY
    )
    assert (made, made_again) == (True, False) and first.pk == again.pk
    assert BulkJob.objects.count() == 1
    assert first.slot == datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
    assert first.criteria == {
        "start_at": "2026-11-09T02:00:00+00:00",
        "end_at": "2026-11-10T02:00:00+00:00",
    }
    assert (first.channel, first.created_by) == ("schedule", manager)


def test_a_run_never_overlaps_the_previous_one(manager) -> None:  # type: ignore[no-untyped-def]
    first, _ = run_schedule("nightly", owner="mona", now=TICK, **NIGHTLY)
    assert first.state == BulkState.QUEUED
    second, made = run_schedule("nightly", owner="mona", now=TICK + timedelta(days=1), **NIGHTLY)
    assert made and second.state == BulkState.SKIPPED  # recorded, so the history says why
    first.state = BulkState.FINISHED
    first.save()
    third, _ = run_schedule("nightly", owner="mona", now=TICK + timedelta(days=2), **NIGHTLY)
    assert third.state == BulkState.QUEUED


def test_a_dry_run_schedule_previews_and_sends_nothing(manager) -> None:  # type: ignore[no-untyped-def]
    job, _ = run_schedule("nightly dry", owner="mona", now=TICK, dry_run=True, **NIGHTLY)
    assert job.state == BulkState.DRY_RUN and job.preview["requests"] == 1
    assert not job.requests.exists()


def test_slots_floor_the_tick_time() -> None:
    assert slot_of(datetime(2026, 1, 1, 2, 59, 59, tzinfo=UTC), 60) == datetime(
        2026, 1, 1, 2, tzinfo=UTC
    )
    assert slot_of(datetime(2026, 1, 1, 2, 59, tzinfo=UTC), 15) == datetime(
        2026, 1, 1, 2, 45, tzinfo=UTC
    )


def test_beat_runs_the_task_by_its_schedule_name(manager) -> None:  # type: ignore[no-untyped-def]
    run_scheduled_replay.apply(kwargs={"schedule": "from beat", "owner": "mona", **NIGHTLY})
    assert BulkJob.objects.get().schedule_name == "from beat"


def test_the_admin_shows_each_schedule_with_its_timezone_and_runs(manager) -> None:  # type: ignore[no-untyped-def]
    crontab = CrontabSchedule.objects.create(minute="0", hour="2", timezone="Europe/Berlin")
    task = PeriodicTask.objects.create(
        name="Nightly Junction replay", task="resends.tasks.run_scheduled_replay",
        crontab=crontab, kwargs=json.dumps({"owner": "mona", **NIGHTLY}),
    )  # fmt: skip
    job, _ = run_schedule(task.name, owner="mona", now=TICK, **NIGHTLY)
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert re.search(r"Timezone:?</label>\s*<div[^>]*>\s*Europe/Berlin", body), "the crontab's own"
    assert (
        reverse("resends:bulk-job", args=[job.public_id]) in body and "2026-11-10 02:00 UTC" in body
    )
    schedules = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert '<td class="field-runs">1</td>' in schedules.content.decode()
    listing = client.get(reverse("admin:resends_bulkjob_changelist"))
    assert listing.status_code == 200 and task.name in listing.content.decode()
    # The job is an audit record: nobody edits or deletes it in the admin.
    assert client.get(reverse("admin:resends_bulkjob_add")).status_code == 403
    assert (
        client.post(reverse("admin:resends_bulkjob_change", args=[job.pk]), {}).status_code == 403
    )
    delete = reverse("admin:resends_bulkjob_delete", args=[job.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
