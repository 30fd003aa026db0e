"""A bulk job is not made for nothing: the preview says when nothing would be sent (and why), the
page offers no "Create job", and the server refuses one all the same (a crafted post, the command
line). A schedule's tick still records its run."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from resends.accounts import default_account
from resends.models import BulkJob, BulkKind, BulkState
from resends.rules import SKIP_CAP_USED, RuleViolation
from resends.services import bulk_jobs
from resends.services.schedules import run_schedule
from tests.factories import OrderFactory

from .helpers import HTMX, messages_of, signed_in, squash, text

pytestmark = pytest.mark.django_db
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
FORM = {
    "kind": BulkKind.CHARGEBEE_FULL,
    "updated_from": "2026-01-01T00:00",
    "reason_code": "Damaged",
}


@pytest.fixture
def mona(client: Client, manager: User) -> Client:
    return signed_in(client, manager)


def used_up_orders(count: int) -> None:
    """Chargebee orders that match FORM, each with its 5 resends used."""
    for _ in range(count):
        OrderFactory.create(
            account=default_account("chargebee"), resend_count=5, provider_updated_at=MARCH
        )


def create_button(page: str) -> str:
    match = re.search(r'<button[^>]*id="create-button"[^>]*>', page)
    assert match, "no Create job button"
    return match.group(0)


def preview(client: Client, **form: str) -> str:
    return text(client.post(reverse("resends:bulk-new"), {**FORM, **form}, headers=HTMX))


def test_a_filter_matching_nothing_offers_no_create_job(mona: Client) -> None:
    page = preview(mona, action="preview")
    assert "Nothing would be sent: no orders match this filter." in squash(page)
    assert " disabled" in create_button(page)


def test_when_every_match_is_left_out_the_preview_says_why_and_offers_no_create_job(
    mona: Client,
) -> None:
    used_up_orders(2)
    page = preview(mona, action="preview")
    words = squash(page)
    assert "Orders matched 2" in words and "Will be sent 0" in words
    assert (
        f"Nothing would be sent: all 2 matching orders are left out (2 {SKIP_CAP_USED})." in words
    )
    assert " disabled" in create_button(page)

    OrderFactory.create(account=default_account("chargebee"), provider_updated_at=MARCH)
    page = preview(mona, action="preview")  # one that can be resent: the job can be made
    assert "Nothing would be sent" not in squash(page)
    assert " disabled" not in create_button(page)


def test_a_crafted_create_is_refused_with_the_reason(mona: Client) -> None:
    used_up_orders(1)
    page = preview(mona, action="create")
    assert (
        f"Nothing would be sent: all 1 matching orders are left out (1 {SKIP_CAP_USED})."
        in squash(page)
    )
    assert " disabled" in create_button(page)
    assert not BulkJob.objects.exists()

    whole = mona.post(reverse("resends:bulk-new"), {**FORM, "action": "create"})  # without htmx
    assert whole.status_code == 200 and not messages_of(whole)
    assert "Nothing would be sent" in squash(text(whole))
    assert not BulkJob.objects.exists()


def test_the_service_refuses_a_job_for_nothing(manager: User) -> None:
    with pytest.raises(RuleViolation, match="Nothing would be sent: no orders match"):
        bulk_jobs.create_job(
            actor=manager,
            kind=BulkKind.JUNCTION_ORDERS,
            account=default_account("junction"),
            criteria={"updated_from": "2026-01-01T00:00:00+00:00"},
        )
    assert not BulkJob.objects.exists()


def test_the_command_line_is_refused_too(manager: User) -> None:
    with pytest.raises(CommandError, match="Nothing would be sent: no orders match"):
        call_command(
            "bulk_job", "create", "--kind", "junction_orders", "--as", manager.username,
            "--updated-from", "2026-01-01T00:00:00Z", stdout=StringIO(),
        )  # fmt: skip
    assert not BulkJob.objects.exists()


def test_a_schedule_tick_with_nothing_to_send_still_records_its_run(manager: User) -> None:
    job, created = run_schedule(
        name="Nightly", kind=BulkKind.JUNCTION_ORDERS, account="junction", lookback_hours=24,
        owner=manager.username,
    )  # fmt: skip
    assert created and job.preview["to_send"] == 0
    assert job.state == BulkState.QUEUED  # it finishes at its first step, with nothing sent
