"""Bulk jobs and schedules in the admin."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from resends.models import BulkJob, BulkKind, BulkState

from ..factories import AccountFactory
from .helpers import signed_in


def console_bulk_job(manager: User) -> BulkJob:
    """A job made on the console: no schedule, no slot."""
    return BulkJob.objects.create(
        created_by=manager,
        account=AccountFactory.create(code="junction"),
        kind=BulkKind.JUNCTION_WINDOW,
        criteria={},
        state=BulkState.FINISHED,
    )


def test_the_add_schedule_page_opens_once_console_jobs_exist(client: Client, manager: User) -> None:
    console_bulk_job(manager)
    signed_in(client, manager)
    page = client.get(reverse("admin:django_celery_beat_periodictask_add"))
    assert page.status_code == 200
    assert "No runs yet." in page.content.decode()


def test_a_schedule_lists_only_its_own_runs(client: Client, manager: User) -> None:
    job = console_bulk_job(manager)
    task = PeriodicTask.objects.create(
        name="Nightly", task="resends.tasks.run_scheduled_replay",
        crontab=CrontabSchedule.objects.create(minute="0", hour="2"),
    )  # fmt: skip
    signed_in(client, manager)
    page = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]))
    body = page.content.decode()
    assert "No runs yet." in body
    assert reverse("resends:bulk-job", args=[job.public_id]) not in body
