"""The bulk_job command: preview, create and status through the same services as the console."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from resends.accounts import default_account
from resends.models import BulkJob, BulkState
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("bulk_job", *args, stdout=out)
    return out.getvalue()


def test_preview_create_and_status(manager) -> None:  # type: ignore[no-untyped-def]
    account = default_account("chargebee")
    for count in (0, 0, 5):
        OrderFactory.create(
            account=account,
            resend_count=count,
            provider_updated_at=datetime(2026, 3, 1, tzinfo=UTC),
        )
    args = ["--kind", "chargebee_full", "--updated-from", "2026-01-01T00:00:00Z"]
    preview = run("preview", *args)
    assert "Matched: 3  to send: 2" in preview and "skipped 1: all 5 resends used" in preview
    assert not BulkJob.objects.exists()

    created = run("create", *args, "--as", "mona", "--reason", "Damaged", "--note", "cron")
    job = BulkJob.objects.get()
    assert (job.channel, job.created_by, job.note, job.state) == (
        "cli",
        manager,
        "cron",
        BulkState.QUEUED,
    )
    assert f"Bulk job #{job.pk}" in created
    assert f"Bulk job #{job.pk}: Queued, 0%" in run("status", str(job.pk))


def test_clear_errors(agent) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="not a manager"):
        run(
            "create",
            "--kind",
            "junction_window",
            "--start",
            "2026-11-01T00:00:00Z",
            "--as",
            "alice",
        )
    with pytest.raises(CommandError, match="not an ISO time"):
        run("preview", "--kind", "junction_orders", "--updated-from", "yesterday")
    with pytest.raises(CommandError, match="Narrow the orders"):
        run("preview", "--kind", "chargebee_full")
    for ref in ("999", "²", "not-a-uuid", "99999999999999999999"):
        with pytest.raises(CommandError, match="No bulk job"):
            run("status", ref)
