"""A manager settles a call in needs review in a real browser: the queue, the page with what we
sent, every attempt and the provider's state side by side, and a decision that sticks."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect

from resends.models import ReviewDecision
from resends.models.audit import CallState, RequestState
from resends.roles import AGENTS, MANAGERS, ensure_roles
from tests.conftest import make_user
from tests.engine.helpers import ledger
from tests.engine.review_helpers import chargebee_call_in_review

from .conftest import sign_in

pytestmark = [pytest.mark.browser]


@pytest.fixture
def site(live_server, sandbox, transactional_db) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The live console and the sandbox; no worker: the call is brought to review in this
    process, through the engine, and the decision needs no provider call."""
    ensure_roles()
    yield SimpleNamespace(url=live_server.url, sandbox=sandbox)


def test_a_manager_settles_a_call_from_the_queue(site, page) -> None:  # type: ignore[no-untyped-def]
    agent = make_user("alice", group=AGENTS)
    make_user("mona", group=MANAGERS, staff=True)
    call, ours, other = chargebee_call_in_review(site.sandbox, agent)

    sign_in(page, site.url, "mona")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Needs review").click()
    row = page.locator(f'#review-queue tr[data-call="{call.pk}"]')
    expect(row).to_contain_text("answered, but its answer cannot tell")
    page.camera("queue")

    row.get_by_role("link", name="Review").click()
    expect(page.locator("#what-we-sent")).to_contain_text(str(call.idempotency_key))
    expect(page.locator('#attempts li[data-purpose="reconcile"]')).to_contain_text(
        "reconciled_undecided"
    )
    provider = page.locator("#provider")  # loaded by htmx after the page
    expect(provider.locator(".record.match")).to_have_count(2)
    expect(provider.locator(f'[data-reference="{ours}"]')).to_contain_text("looks like ours")
    expect(provider.locator(f'[data-reference="{other}"]')).to_contain_text("looks like ours")
    page.camera("review")

    page.get_by_label("It was applied").check()
    page.get_by_label("Chargebee order id of the resend").fill(ours)
    page.get_by_label("Why (kept with the decision)").fill(
        "Created a second after our first attempt; the other was made by hand."
    )
    page.get_by_role("button", name="Record the decision").click()

    expect(page.locator(".messages")).to_contain_text(f"Call #{call.pk} recorded as applied")
    expect(page.locator("#nothing-to-review")).to_be_visible()
    expect(page.locator("#review-decisions")).to_contain_text("It was applied")
    page.camera("settled")

    decision = ReviewDecision.objects.get()
    assert decision.decided_by.get_username() == "mona" and decision.provider_reference == ours
    assert {r["reference"] for r in decision.evidence["records"] if r["matches"]} == {ours, other}
    call.refresh_from_db()
    call.request.refresh_from_db()
    assert call.state == CallState.SUCCEEDED and call.request.state == RequestState.SUCCEEDED
    assert len(ledger(site.sandbox, "chargebee")) == 2  # the decision sent nothing
