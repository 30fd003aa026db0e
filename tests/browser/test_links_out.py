"""Links out and copying, in a real browser: a helpdesk opens an order with its ticket, the agent
resends it through Chargebee with the customer's email switched off, copies the new order's id,
and follows the links; a Return Helper resend links its label and the carrier's tracking page."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from resends import links
from resends.accounts import default_account
from resends.models import Order, ProviderCall, ResendRequest
from resends.roles import AGENTS
from tests.conftest import make_user
from tests.engine.helpers import ledger
from tests.engine.worker import wait_until

from .conftest import audit, sign_in
from .test_console_flows import (
    SETTLE_MS,
    order_with_mixed_inventories,
    resendable_chargebee_order,
    wait_for_state,
)

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def sandbox_emails(sandbox: Any) -> list[dict[str, Any]]:
    response = requests.get(f"{sandbox.url}/_sandbox/emails", timeout=10)
    response.raise_for_status()
    return list(response.json()["emails"])


def test_a_helpdesk_link_leads_to_a_quiet_chargebee_resend_whose_id_is_copied(  # type: ignore[no-untyped-def]
    console, page, browser_context
) -> None:
    alice = make_user("alice", group=AGENTS)
    order = resendable_chargebee_order()
    line = order.line_items.filter(quantity__gte=2).first()
    assert line is not None
    chargebee = default_account("chargebee")
    chargebee.order_url_template = "https://demo-test.chargebee.com/d/orders/{id}"
    chargebee.save()
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.url)
    sign_in(page, console.url, "alice")

    page.goto(f"{console.url}/orders/chargebee/{order.external_id}/?ticket=HD-4711")
    expect(page.get_by_test_id("ticket")).to_have_text("HD-4711")
    expect(page.get_by_test_id("dashboard-link")).to_have_attribute(
        "href", f"https://demo-test.chargebee.com/d/orders/{order.external_id}"
    )
    page.camera("order-from-helpdesk")

    page.get_by_role("link", name="Resend via Chargebee").click()
    expect(page.get_by_label("Helpdesk ticket (optional)")).to_have_value("HD-4711")
    page.locator(f"#id_pick_{line.pk}").check()
    page.get_by_label(f"Quantity of {line.sku or line.external_id} to resend").fill("1")
    page.get_by_label("Reason code").select_option("Damaged")
    page.get_by_label("Chargebee emails the customer about this resend").uncheck()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Chargebee sends the customer no email about this resend.")
    expect(preview).to_contain_text(f"Chargebee's history shows it was resent by {alice.email}.")
    expect(page.locator("#submit-button")).to_be_enabled()
    page.camera("preview")

    page.locator("#submit-button").click()
    page.wait_for_url("**/resends/*/")
    wait_for_state(page, "Succeeded")
    audit(page)
    resend = ResendRequest.objects.get()
    assert resend.ticket == "HD-4711"
    new_id = resend.calls.get().provider_reference
    expect(page.get_by_test_id("result-link")).to_have_attribute(
        "href", f"https://demo-test.chargebee.com/d/orders/{new_id}"
    )

    copy = page.get_by_role("button", name=f"Copy provider reference {new_id}")
    copy.click()
    expect(copy.locator("xpath=following-sibling::*[@role='status'][1]")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == new_id

    # The order_resent webhook brings the new order into our copy; the page then links it.
    assert wait_until(
        lambda: Order.objects.filter(account=chargebee, external_id=new_id).exists(), timeout=30
    ), "the order_resent webhook never mirrored the new order"
    page.reload()
    audit(page)
    page.get_by_test_id("new-order").click()
    expect(page.locator("h1")).to_contain_text(new_id)
    audit(page)
    page.go_back()
    expect(page.get_by_test_id("ticket")).to_have_text("HD-4711")
    page.camera("succeeded")

    [effect] = ledger(console.sandbox, "chargebee")
    assert effect["details"]["origin_user"] == alice.email
    assert effect["details"]["customer_email"] is False
    assert sandbox_emails(console.sandbox) == []


def test_a_return_helper_resend_links_its_label_and_the_carriers_tracking(  # type: ignore[no-untyped-def]
    console, page
) -> None:
    make_user("alice", group=AGENTS)
    account = default_account("returnhelper")
    account.label_url_template = f"{console.sandbox.url}/returnhelper/labels/{{id}}"
    account.save()
    order, good, _ = order_with_mixed_inventories()
    sign_in(page, console.url, "alice")
    page.goto(f"{console.url}/orders/{order.pk}/")
    audit(page)
    page.get_by_role("link", name="Resend returned items via Return Helper").click()
    page.wait_for_url("**/returnhelper/**")
    audit(page)
    page.locator(f"#inv-{good.pk}").check()
    page.get_by_label("Service type *").select_option(index=1)
    expect(page.locator("#submit-button")).to_be_enabled()
    page.locator("#submit-button").click()
    page.wait_for_url("**/resends/*/")
    wait_for_state(page, "Succeeded")
    expect(page.get_by_test_id("label")).to_be_visible(timeout=SETTLE_MS)

    call = ProviderCall.objects.get()
    service = ResendRequest.objects.get().destination["shipmentServiceType"]
    tracking = links.tracking_link(service, call.tracking_number)
    assert tracking is not None, f"no carrier known for {service}"
    expect(page.get_by_test_id("tracking")).to_have_attribute("href", tracking.url)
    label = page.get_by_test_id("label").get_attribute("href")
    assert label == f"{console.sandbox.url}/returnhelper/labels/{call.label_id}"
    opened = requests.get(label, timeout=10)
    assert opened.status_code == 200 and call.tracking_number in opened.text
    page.camera("tracking")
