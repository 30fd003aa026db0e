"""The bulk job pages: preview and create, approve or reject, pause and cancel, live progress."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from resends.accounts import default_account
from resends.models import BulkJob, BulkKind, BulkState
from resends.services import bulk_jobs
from tests.factories import OrderFactory

from .helpers import HTMX, signed_in, squash, text

pytestmark = pytest.mark.django_db
FORM = {
    "kind": BulkKind.CHARGEBEE_FULL,
    "updated_from": "2026-01-01T00:00",
    "reason_code": "Damaged",
}


@pytest.fixture
def orders() -> None:
    account = default_account("chargebee")
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    for count in (0, 0, 0, 5):
        OrderFactory.create(account=account, resend_count=count, provider_updated_at=moment)


def test_the_preview_counts_and_explains_before_anything_is_created(
    client: Client, manager: User, orders: None
) -> None:
    signed_in(client, manager)
    fragment = client.post(reverse("resends:bulk-new"), {**FORM, "action": "preview"}, headers=HTMX)
    words = squash(text(fragment))
    assert "<html" not in text(fragment)
    assert "Orders matched 4" in words and "Will be sent 3" in words
    assert "all 5 resends used" in words
    assert not BulkJob.objects.exists()


def test_a_narrow_enough_filter_is_required(client: Client, manager: User) -> None:
    signed_in(client, manager)
    page = client.post(
        reverse("resends:bulk-new"), {"kind": BulkKind.CHARGEBEE_FULL, "action": "preview"}
    )
    assert "Narrow the orders" in text(page) and 'id="create-button" disabled' in text(page)


def test_create_then_another_manager_approves(
    client: Client, manager: User, second_manager: User, orders: None, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.BULK_APPROVAL_THRESHOLD = 2
    signed_in(client, manager)
    created = client.post(reverse("resends:bulk-new"), {**FORM, "action": "create"})
    job = BulkJob.objects.get()
    assert created.status_code == 302 and created["Location"] == reverse(
        "resends:bulk-job", args=[job.public_id]
    )
    assert job.state == BulkState.AWAITING_APPROVAL and job.created_by == manager
    page = client.get(created["Location"])
    assert "Approve" not in text(page)  # not for the one who created it

    other = signed_in(Client(), second_manager)
    assert "Approve" in text(other.get(created["Location"]))
    other.post(reverse("resends:bulk-action", args=[job.public_id, "approve"]), {"note": "outage"})
    job.refresh_from_db()
    assert (job.state, job.approved_by, job.decision_note) == (
        BulkState.QUEUED,
        second_manager,
        "outage",
    )


def test_pause_and_cancel_from_the_job_page(client: Client, manager: User, orders: None) -> None:
    signed_in(client, manager)
    job, _ = bulk_jobs.create_job(
        actor=manager, kind=BulkKind.CHARGEBEE_FULL, account=default_account("chargebee"),
        criteria={"updated_from": "2026-01-01T00:00:00Z"}, reason_code="Damaged",
    )  # fmt: skip
    url = reverse("resends:bulk-job", args=[job.public_id])
    client.post(reverse("resends:bulk-action", args=[job.public_id, "pause"]))
    assert BulkJob.objects.get().state == BulkState.PAUSED
    assert "Resume" in text(client.get(url))
    progress = client.get(reverse("resends:bulk-progress", args=[job.public_id]), headers=HTMX)
    assert progress.status_code == 200 and 'hx-trigger="every 2s"' in text(progress)
    client.post(reverse("resends:bulk-action", args=[job.public_id, "cancel"]))
    assert BulkJob.objects.get().state == BulkState.CANCELLED
    stopped = client.get(reverse("resends:bulk-progress", args=[job.public_id]), headers=HTMX)
    assert stopped.status_code == 286  # no more polling
    again = client.post(reverse("resends:bulk-action", args=[job.public_id, "pause"]), follow=True)
    assert "The job is cancelled" in text(again)
