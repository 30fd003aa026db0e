"""An agent completes each kind of resend in a real browser; a real worker makes the calls to the
sandbox, and the sandbox's effect ledger shows what happened at the "provider"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from playwright.sync_api import expect

from resends import rules
from resends.models import Order, ProviderCall, ResendRequest, ReturnInventory
from resends.roles import AGENTS
from tests.conftest import make_user
from tests.engine.helpers import ledger

from .conftest import audit, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker]
SETTLE_MS = 60_000


def resendable_chargebee_order() -> Order:
    order = (
        Order.objects.filter(
            account__provider="chargebee",
            resend_count=0,
            resent_status="",
            status__in=("queued", "awaiting_shipment", "shipped", "delivered"),
            line_items__quantity__gte=2,
        )
        .exclude(customer_email="")
        .order_by("pk")
        .first()
    )
    assert order is not None, "the sandbox has no resendable Chargebee order"
    return order


def order_with_mixed_inventories() -> tuple[Order, ReturnInventory, ReturnInventory]:
    for order in Order.objects.filter(inventories__isnull=False).distinct().order_by("pk"):
        items = list(order.inventories.order_by("pk"))
        good = [i for i in items if not rules.returnhelper_inventory_problems(i)]
        bad = [i for i in items if rules.returnhelper_inventory_problems(i)]
        if good and bad and good[0].warehouse_id == bad[0].warehouse_id:
            return order, good[0], bad[0]
    raise AssertionError("the demo data has no order with an eligible and an ineligible item")


def parse(value: str) -> Any:
    return parse_datetime(value.replace("Z", "+00:00"))


def wait_for_state(page: Any, text: str) -> None:
    expect(page.locator("#request-state")).to_have_text(text, timeout=SETTLE_MS)


def test_agent_makes_a_partial_chargebee_resend(console, page) -> None:  # type: ignore[no-untyped-def]
    make_user("alice", group=AGENTS)
    order = resendable_chargebee_order()
    line = order.line_items.filter(quantity__gte=2).first()
    assert line is not None
    sign_in(page, console.url, "alice")
    page.camera("find")

    page.get_by_label("Search").fill(order.customer_email.upper())
    page.get_by_role("link", name=order.external_id).click()
    expect(page.locator("#cap")).to_contain_text("0 of 5 resends used")
    page.camera("order")

    page.get_by_role("link", name="Resend via Chargebee").click()
    page.locator(f"#id_pick_{line.pk}").check()
    page.get_by_label(f"Quantity of {line.sku or line.external_id} to resend").fill("1")
    page.get_by_label("Reason code").select_option("Damaged")
    page.get_by_label("Note for the audit (why)").fill("Arrived broken; customer on the phone")
    preview = page.locator("#preview")
    expect(preview).to_contain_text(f"resend 1 of {line.quantity}")
    expect(preview).to_contain_text(f"POST /api/v2/orders/{order.external_id}/resend")
    expect(page.locator("#submit-button")).to_be_enabled()
    page.camera("preview")

    page.locator("#submit-button").click()
    page.wait_for_url("**/resends/*/")
    wait_for_state(page, "Succeeded")
    expect(page.locator("#status")).to_contain_text("Chargebee created the resend order")
    page.camera("succeeded")

    effects = ledger(console.sandbox, "chargebee")
    assert [e["details"]["line_items"] for e in effects] == [
        [{"id": line.external_id, "fulfillment_quantity": 1}]
    ]
    request = ResendRequest.objects.get()
    assert request.submitted_by.username == "alice"
    assert request.reason_code == "Damaged"
    assert request.note == "Arrived broken; customer on the phone"
    assert request.calls.get().payload["lines"] == [{"id": line.external_id, "quantity": 1}]

    page.goto(f"{console.url}/orders/{order.pk}/")
    expect(page.locator("#cap")).to_contain_text("1 of 5 resends used")
    expect(page.locator("aside")).to_contain_text("Chargebee: partial resend")
    page.camera("order-after")


def test_return_helper_resend_refuses_an_ineligible_item(console, page) -> None:  # type: ignore[no-untyped-def]
    make_user("alice", group=AGENTS)
    order, good, bad = order_with_mixed_inventories()
    sign_in(page, console.url, "alice")
    page.goto(f"{console.url}/orders/{order.pk}/")
    audit(page)
    page.get_by_role("link", name="Resend returned items via Return Helper").click()

    ineligible = page.locator(f"#inv-{bad.pk}")
    expect(ineligible).to_be_disabled()
    reason = rules.returnhelper_inventory_problems(bad)[0].message
    expect(page.locator(f"#why-{bad.pk}")).to_contain_text(reason)
    page.camera("picker")

    # Forced past the disabled box (an old page, a crafted post): the server refuses it.
    page.evaluate(f"document.getElementById('inv-{bad.pk}').disabled = false")
    ineligible.check()
    page.locator(f"#inv-{good.pk}").check()
    service = page.get_by_label("Service type *")
    service.select_option(index=1)
    # The preview of every pick so far (an earlier one, without the service, also names the item
    # and keeps Submit disabled for want of the service).
    expect(page.locator("#preview")).to_contain_text(f"(service {service.input_value()})")
    expect(page.locator("#preview")).to_contain_text(reason)
    expect(page.locator("#submit-button")).to_be_disabled()
    page.camera("refused")

    ineligible.uncheck()
    expect(page.locator("#preview")).not_to_contain_text(reason)
    expect(page.locator("#submit-button")).to_be_enabled()
    page.camera("preview")
    page.locator("#submit-button").click()
    page.wait_for_url("**/resends/*/")
    wait_for_state(page, "Succeeded")
    # The label and tracking come later, by signed webhook; the panel keeps polling until then.
    expect(page.get_by_test_id("tracking")).to_be_visible(timeout=SETTLE_MS)
    page.camera("tracking")

    created = ledger(console.sandbox, "returnhelper")
    assert [entry["target"] for entry in created] == [[int(good.external_id)]]
    call = ProviderCall.objects.get()
    assert call.tracking_number and call.provider_status == "completed"


def test_the_service_types_follow_the_warehouse_of_the_picked_items(console, page) -> None:  # type: ignore[no-untyped-def]
    """Warehouse 11 (New Jersey) and 22 (France) offer different services to the USA: the list
    is fetched again when the agent's pick moves to another warehouse."""
    make_user("alice", group=AGENTS)
    eligible = [
        i
        for i in ReturnInventory.objects.order_by("pk")
        if not rules.returnhelper_inventory_problems(i)
    ]
    at_nj = next(i for i in eligible if i.warehouse_id == "11")
    at_fr = next(i for i in eligible if i.warehouse_id == "22")
    sign_in(page, console.url, "alice")
    page.goto(f"{console.url}/returnhelper/?inventory={at_nj.pk}&inventory={at_fr.pk}")
    services = page.locator("#id_shipmentServiceType option")

    page.locator(f"#inv-{at_nj.pk}").check()
    page.locator("#id_shipmentCountryCode").select_option("usa")
    expect(services.filter(has_text="UPS Ground")).to_have_count(1)
    expect(services.filter(has_text="DHL Express Worldwide")).to_have_count(0)
    page.camera("new-jersey")

    page.locator(f"#inv-{at_nj.pk}").uncheck()
    page.locator(f"#inv-{at_fr.pk}").check()
    expect(services.filter(has_text="DHL Express Worldwide")).to_have_count(1)
    expect(services.filter(has_text="UPS Ground")).to_have_count(0)
    page.camera("france")


def test_junction_window_replay_is_split_into_60_day_requests(console, page) -> None:  # type: ignore[no-untyped-def]
    make_user("alice", group=AGENTS)
    sign_in(page, console.url, "alice")
    page.get_by_role("link", name="Junction replay").click()
    page.wait_for_url("**/junction/")
    audit(page)
    page.get_by_role("link", name="By time window").click()
    end = timezone.now().replace(second=0, microsecond=0)
    start = end - timedelta(days=150)
    page.get_by_label("Start (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("End (UTC)").fill(end.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Note for the audit (why)").fill("Webhook outage")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("sent as 3 requests")
    expect(preview.locator("li.mono")).to_have_count(3)
    page.camera("preview")

    page.locator("#submit-button").click()
    page.wait_for_url("**/resends/*/")
    wait_for_state(page, "Succeeded")
    page.camera("succeeded")

    windows = [e["details"]["window"] for e in ledger(console.sandbox, "junction")]
    assert len(windows) == 3
    assert ResendRequest.objects.get().calls.count() == 3
    bounds = sorted((parse(w["start_at"]), parse(w["end_at"])) for w in windows)
    assert bounds[0][0] == start and bounds[-1][1] == end
    for (a, b), following in zip(bounds, [*bounds[1:], None], strict=True):
        assert b - a <= timedelta(days=60)
        if following:
            assert following[0] == b  # consecutive, no gap and no overlap


def test_a_second_submit_of_the_same_resend_shows_the_first(console, page, browser_context) -> None:  # type: ignore[no-untyped-def]
    make_user("alice", group=AGENTS)
    order = resendable_chargebee_order()
    line = order.line_items.first()
    assert line is not None
    sign_in(page, console.url, "alice")
    form_url = f"{console.url}/orders/{order.pk}/chargebee/"

    second_tab = browser_context.new_page()
    for tab in (page, second_tab):
        tab.goto(form_url)
        tab.locator(f"#id_pick_{line.pk}").check()
        tab.get_by_label("Reason code").select_option("Lost in Transit")
        expect(tab.locator("#submit-button")).to_be_enabled()
        audit(tab)

    page.locator("#submit-button").dblclick()  # an impatient double click
    page.wait_for_url("**/resends/*/")
    first_url = page.url
    second_tab.locator("#submit-button").click()  # the same resend from another tab
    second_tab.wait_for_url("**/resends/*/")
    assert second_tab.url == first_url
    expect(second_tab.locator(".messages")).to_contain_text("already submitted")
    page.camera("first-tab")
    page.camera.shoot(second_tab, "second-tab")
    wait_for_state(page, "Succeeded")

    assert ResendRequest.objects.count() == 1
    assert len(ledger(console.sandbox, "chargebee")) == 1
