"""The bulk_job command: preview, create and status through the same services as the console."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from typing import Any

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


def waiting_job(manager: Any, settings: Any, count: int = 3) -> BulkJob:
    """A job above the approval threshold, created from the command line by mona."""
    settings.BULK_APPROVAL_THRESHOLD = 1
    account = default_account("chargebee")
    for _ in range(count):
        OrderFactory.create(account=account, provider_updated_at=datetime(2026, 3, 1, tzinfo=UTC))
    run("create", "--kind", "chargebee_full", "--updated-from", "2026-01-01T00:00:00Z",
        "--as", manager.username, "--reason", "Damaged")  # fmt: skip
    job = BulkJob.objects.latest("pk")
    assert job.state == BulkState.AWAITING_APPROVAL
    return job


def test_approve_or_reject_from_a_script_by_a_second_manager(
    manager, second_manager, agent, settings
) -> None:  # type: ignore[no-untyped-def]
    job = waiting_job(manager, settings)
    with pytest.raises(CommandError, match="other than the one who created it"):
        run("approve", str(job.pk), "--by", "mona")
    with pytest.raises(CommandError, match="Only managers"):
        run("approve", str(job.pk), "--by", "alice")
    with pytest.raises(CommandError, match="No user “nobody”"):
        run("approve", str(job.pk), "--by", "nobody")
    with pytest.raises(CommandError, match="--note"):
        run("reject", str(job.pk), "--by", "max")
    with pytest.raises(CommandError, match="Say why"):
        run("reject", str(job.pk), "--by", "max", "--note", "  ")
    for ref in ("not-a-job", "9" * 30):  # neither a number the database holds nor a UUID
        with pytest.raises(CommandError, match=f"No bulk job “{ref}”"):
            run("approve", ref, "--by", "max")

    out = run("approve", str(job.public_id), "--by", "max", "--note", "Outage on the 3rd")
    assert out == f"Bulk job #{job.pk}: Queued by max (Outage on the 3rd).\n"
    job.refresh_from_db()
    assert (job.state, job.approved_by, job.decision_note) == (
        BulkState.QUEUED,
        second_manager,
        "Outage on the 3rd",
    )
    with pytest.raises(CommandError, match="This job is queued"):
        run("reject", str(job.pk), "--by", "max", "--note", "changed my mind")

    other = waiting_job(manager, settings)
    assert "Rejected by max" in run("reject", str(other.pk), "--by", "max", "--note", "too wide")
    other.refresh_from_db()
    assert (other.state, other.decision_note) == (BulkState.REJECTED, "too wide")


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_follow_stops_at_once_for_a_job_that_is_not_moving(manager, settings) -> None:  # type: ignore[no-untyped-def]
    job = waiting_job(manager, settings)
    lines = run("status", str(job.pk), "--follow").splitlines()
    assert lines[0].startswith(f"#{job.pk} awaiting approval [{'-' * 30}]   0%")
    assert lines[1] == (
        f"Bulk job #{job.pk} waits for a second manager: `bulk_job approve {job.pk} --by USER` "
        f"or `bulk_job reject {job.pk} ...`."
    )
    BulkJob.objects.filter(pk=job.pk).update(state=BulkState.CANCELLED)
    terminal = Terminal()
    call_command("bulk_job", "status", str(job.pk), "--follow", stdout=terminal)
    drawn = terminal.getvalue()
    assert drawn.startswith(f"\r#{job.pk} cancelled ") and drawn.endswith(
        f"\nBulk job #{job.pk} stopped: cancelled.\n"
    )


def test_follow_gives_up_after_its_timeout(manager, settings) -> None:  # type: ignore[no-untyped-def]
    job = waiting_job(manager, settings)
    BulkJob.objects.filter(pk=job.pk).update(state=BulkState.RUNNING)  # no worker moves it
    with pytest.raises(CommandError, match=f"#{job.pk} is still running after 0.3 s"):
        run("status", str(job.pk), "--follow", "--interval", "0.1", "--timeout", "0.3")
