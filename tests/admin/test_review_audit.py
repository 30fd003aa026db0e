"""Managers' review decisions in the audit admin (read-only, like the rest of the audit) and in
the CSV export of resend requests."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from resends.admin.export import HEADER
from resends.models import ProviderCall, ResendRequest, ReviewDecision
from resends.models.audit import CallState, RequestState
from resends.models.review import Decision
from resends.services.review import decide

from ..factories import ProviderCallFactory, ResendRequestFactory
from .helpers import admin_url, signed_in

pytestmark = pytest.mark.django_db


def decided(manager: User, agent: User, why: str = "No trace at the provider.") -> ReviewDecision:
    """A call that went to review, given up by a manager through the service."""
    request = ResendRequestFactory.create(submitted_by=agent, state=RequestState.NEEDS_REVIEW)
    call = ProviderCallFactory.create(
        request=request,
        state=CallState.NEEDS_REVIEW,
        error_class="unknown",
        failure_reason="Chargebee answered, but its answer cannot tell: two lookalikes.",
    )
    evidence = {
        "fetched_at": "2026-01-01T10:00:00+00:00",
        "summary": "Order cb_1 has 2 resend(s)",
        "records": [{"title": "Resend order cb_9", "facts": [["Status", "queued"]],
                     "reference": "cb_9", "matches": True}],
    }  # fmt: skip
    return decide(
        actor=manager,
        call_id=call.pk,
        decision=Decision.GIVE_UP,
        why=why,
        evidence=evidence,
        evidence_fetched_at=None,
    ).decision


@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_nobody_adds_changes_or_deletes_a_decision(
    client: Client, request: pytest.FixtureRequest, manager: User, agent: User, who: str
) -> None:
    decision = decided(manager, agent)
    signed_in(client, request.getfixturevalue(who))
    assert client.get(admin_url(ReviewDecision, "add")).status_code == 403
    assert client.get(admin_url(ReviewDecision, "delete", decision.pk)).status_code == 403
    change = client.post(admin_url(ReviewDecision, "change", decision.pk), {"why": "edited"})
    assert change.status_code == 403
    decision.refresh_from_db()
    assert decision.why == "No trace at the provider."


def test_managers_read_decisions_with_their_evidence_agents_do_not(
    client: Client, manager: User, agent: User
) -> None:
    decision = decided(manager, agent)
    signed_in(client, agent)
    assert client.get(admin_url(ReviewDecision, "changelist")).status_code in (302, 403)

    signed_in(client, manager)
    listing = client.get(admin_url(ReviewDecision, "changelist"))
    assert listing.status_code == 200 and "No trace at the provider." in listing.content.decode()
    page = client.get(admin_url(ReviewDecision, "change", decision.pk)).content.decode()
    assert "Resend order cb_9" in page and "two lookalikes" in page
    for model, pk in ((ProviderCall, decision.call_id), (ResendRequest, decision.request_id)):
        inline = client.get(admin_url(model, "change", pk)).content.decode()
        assert "It was not applied: give up" in inline and "Resend order cb_9" in inline, model
    found = client.get(admin_url(ReviewDecision, "changelist"), {"q": str(decision.call_id)})
    assert list(found.context["cl"].result_list) == [decision]


def test_decision_list_queries_do_not_grow_with_the_rows(
    client: Client, manager: User, agent: User, django_assert_max_num_queries
) -> None:
    for _ in range(3):
        decided(manager, agent)
    signed_in(client, manager)
    url = admin_url(ReviewDecision, "changelist")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(20):
        decided(manager, agent)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url).context["cl"].result_list) == 23


def test_the_csv_export_lists_each_requests_decisions(
    client: Client, manager: User, agent: User
) -> None:
    decision = decided(manager, agent, why="=cmd|' /C calc'!A0")  # and stays inert
    signed_in(client, manager)
    response = client.get(reverse("admin:resends_resendrequest_export"))
    assert isinstance(response, StreamingHttpResponse)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-1] == "review_decisions" and tuple(rows[0]) == HEADER
    [row] = [dict(zip(HEADER, r, strict=True)) for r in rows[1:]]
    cell = row["review_decisions"]
    assert cell.startswith(f"call #{decision.call_id}: It was not applied: give up, by mona at ")
    assert cell.endswith(": =cmd|' /C calc'!A0")
    assert row["state"] == RequestState.FAILED
