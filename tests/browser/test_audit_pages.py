"""The pages axe-core found fault with: a manager's audit list and a resend's audit page (Django
admin pages), and the page that refuses an agent the audit. Each is scanned for violations of
every impact, not only the serious and critical ones every page is held to."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from resends.accounts import default_account
from resends.models import Order, ResendRequest
from resends.models.audit import RequestState
from resends.roles import AGENTS, MANAGERS
from resends.services.submit import submit_junction_orders
from tests.conftest import make_user
from tests.engine.worker import wait_until

from .conftest import EVERY_IMPACT, audit, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_the_audit_and_the_refusal_pass_an_accessibility_scan(console, page, new_context) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice", group=AGENTS)
    make_user("mona", group=MANAGERS, staff=True)
    order = Order.objects.filter(account__provider="junction").order_by("pk").first()
    assert order is not None
    submitted = submit_junction_orders(
        actor=alice, account=default_account("junction"), order_ids=[order.external_id],
        intent_key="web:browser-audit-pages", note="Lab asked for the webhook again",
    )  # fmt: skip
    assert wait_until(
        lambda: ResendRequest.objects.get(pk=submitted.request.pk).state == RequestState.SUCCEEDED,
        timeout=60,
    )

    sign_in(page, console.url, "mona")
    page.get_by_role("link", name="Audit (admin)").click()
    page.wait_for_url("**/admin/")
    audit(page)
    page.get_by_role("link", name="Resend requests").first.click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    audit(page, EVERY_IMPACT)
    page.camera("audit-list")

    page.get_by_label("Search", exact=True).fill(order.external_id)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/?q={order.external_id}")
    expect(rows).to_have_count(1)
    audit(page, EVERY_IMPACT)
    rows.first.get_by_role("link").first.click()
    expect(page.locator("#calls-heading")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Item").first).to_be_attached()
    audit(page, EVERY_IMPACT)
    page.camera("audit-detail")

    # An agent who opens the audit is refused, on a page with a heading of its own.
    agents = new_context().new_page()
    sign_in(agents, console.url, "alice")
    agents.goto(f"{console.url}/admin/")
    expect(agents.get_by_role("heading", level=1)).to_be_visible()
    audit(agents, EVERY_IMPACT)
    page.camera.shoot(agents, "agent-refused-the-audit")
    agents.goto(f"{console.url}/bulk/")
    expect(agents.get_by_role("heading", level=1)).to_have_text("Not allowed")
    audit(agents, EVERY_IMPACT)
    page.camera.shoot(agents, "agent-refused-bulk-jobs")
