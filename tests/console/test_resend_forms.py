"""The three resend forms: every POST previews (exactly what would be sent, each rule checked),
action=submit writes one request and leads to its page, and a repeat finds the first instead of
sending twice. Calls are queued on commit, which a test transaction never reaches: they stay
pending, and the tests read the rows."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from resends.accounts import default_account
from resends.engine.execution import process_call
from resends.models import Order, ProviderCall, ResendRequest, ReturnInventory
from resends.models.audit import CallState, RequestState, ResendKind

from ..engine.helpers import mirror_inventories
from ..factories import OrderFactory
from .helpers import HTMX, SHIPMENT, line, messages_of, signed_in, squash, submit_button, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client: Client, agent: User) -> Client:
    return signed_in(client, agent)


def request_url(resend: ResendRequest) -> str:
    return reverse("resends:request", args=[resend.public_id])


def is_disabled(page: str) -> bool:
    return " disabled" in submit_button(page)


# --- Chargebee -----------------------------------------------------------------------------------
def chargebee_post(
    browser: Client,
    order: Order,
    picks: dict[str, int],
    *,
    action: str = "preview",
    token: str | None = None,
    htmx: bool = True,
    **extra: str,
) -> Any:
    data: dict[str, Any] = {"token": token or str(uuid.uuid4()), "mode": "partial", **extra}
    for external_id, quantity in picks.items():
        pk = line(order, external_id).pk
        data[f"pick_{pk}"] = "on"
        data[f"qty_{pk}"] = str(quantity)
    data["action"] = action
    url = reverse("resends:chargebee", args=[order.pk])
    return browser.post(url, data, headers=HTMX if htmx else {})


def test_the_chargebee_form_shows_the_lines_and_the_resends_used(
    browser: Client, order: Order, resend: ResendRequest
) -> None:
    Order.objects.filter(pk=order.pk).update(resend_count=2)
    page = text(browser.get(reverse("resends:chargebee", args=[order.pk])))
    words = squash(page)
    # Two confirmed by Chargebee, one of ours still pending.
    assert "3 of 5 resends used (1 in progress)" in words
    for item in ("li_kit", "li_tube"):
        assert f'name="pick_{line(order, item).pk}"' in page
    assert "Blood test kit" in words and "Spare tube" in words
    assert 'name="token"' in page


def test_a_partial_preview_shows_the_line_and_the_one_request(
    browser: Client, order: Order
) -> None:
    response = chargebee_post(browser, order, {"li_kit": 1}, reason="Damaged")
    page = text(response)
    words = squash(page)
    assert response.status_code == 200
    assert "<html" not in page and page.lstrip().startswith('<section id="preview"')
    assert "Partial resend of order cb_order_1: 1 line(s)" in words
    assert "Blood test kit resend 1 of 2 · line li_kit" in words
    assert "Spare tube" not in words
    assert "Sends 1 request: POST /api/v2/orders/cb_order_1/resend (reason “Damaged”)" in words
    assert not is_disabled(page)
    assert not ResendRequest.objects.exists()  # a preview writes nothing


def test_more_than_the_order_has_is_refused_in_the_preview(browser: Client, order: Order) -> None:
    page = text(chargebee_post(browser, order, {"li_kit": 3}))
    words = squash(page)
    assert "At most 2 can be resent: that is the quantity on the order." in words
    assert "Nothing can be sent until the problems above are fixed." in words
    assert is_disabled(page)


def test_an_over_quantity_submit_is_refused_and_writes_nothing(
    browser: Client, order: Order
) -> None:
    page = text(chargebee_post(browser, order, {"li_kit": 3}, action="submit"))
    assert "At most 2 can be resent" in squash(page)
    assert not ResendRequest.objects.exists() and not ProviderCall.objects.exists()


def test_a_submit_writes_one_request_with_a_target_per_line_and_leads_to_it(
    browser: Client, order: Order, agent: User
) -> None:
    response = chargebee_post(
        browser, order, {"li_kit": 2, "li_tube": 1}, action="submit", note="box crushed"
    )
    resend = ResendRequest.objects.get()
    assert response.status_code == 200 and response["HX-Redirect"] == request_url(resend)
    assert (resend.kind, resend.state, resend.submitted_by) == (
        ResendKind.CHARGEBEE_PARTIAL,
        RequestState.QUEUED,
        agent,
    )
    assert resend.note == "box crushed"
    targets = {
        (t.line_item.external_id if t.line_item else None, t.quantity, t.order_id)
        for t in resend.targets.all()
    }
    assert targets == {("li_kit", 2, order.pk), ("li_tube", 1, order.pk)}
    call = resend.calls.get()
    assert call.state == CallState.PENDING and call.subject == "cb_order_1"
    assert sorted((x["id"], x["quantity"]) for x in call.payload["lines"]) == [
        ("li_kit", 2),
        ("li_tube", 1),
    ]


def test_a_plain_submit_redirects_to_the_request_page(browser: Client, order: Order) -> None:
    response = chargebee_post(browser, order, {"li_tube": 1}, action="submit", htmx=False)
    resend = ResendRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == request_url(resend)
    page = browser.get(response["Location"])
    assert "Submitted. This page follows the resend as it happens." in messages_of(page)


def test_the_same_token_twice_makes_one_request(browser: Client, order: Order) -> None:
    token = str(uuid.uuid4())
    first = chargebee_post(browser, order, {"li_kit": 1}, action="submit", token=token)
    again = chargebee_post(browser, order, {"li_kit": 1}, action="submit", token=token)
    resend = ResendRequest.objects.get()
    assert first["HX-Redirect"] == again["HX-Redirect"] == request_url(resend)
    assert ProviderCall.objects.count() == 1
    page = browser.get(request_url(resend))
    assert any("You already submitted this" in m for m in messages_of(page))


def test_the_same_lines_from_a_second_agent_lead_to_the_first_request(
    client: Client, order: Order, agent: User, manager: User
) -> None:
    signed_in(client, agent)
    chargebee_post(client, order, {"li_kit": 1}, action="submit", reason="Damaged")
    first = ResendRequest.objects.get()

    second = signed_in(Client(), manager)  # another person, another tab, another token
    response = chargebee_post(
        second, order, {"li_kit": 1}, action="submit", reason="Wrong Item", htmx=False
    )
    assert response.status_code == 302 and response["Location"] == request_url(first)
    assert ResendRequest.objects.count() == 1 and ProviderCall.objects.count() == 1
    page = second.get(response["Location"])
    [message] = messages_of(page)
    assert message.startswith("The same resend was already submitted by alice at ")
    assert "alice" in squash(text(page))


@pytest.fixture
def used_up(order: Order) -> Order:
    Order.objects.filter(pk=order.pk).update(resend_count=5)
    order.refresh_from_db()
    return order


def test_an_order_with_five_resends_shows_it_is_blocked(browser: Client, used_up: Order) -> None:
    page = text(browser.get(reverse("resends:order", args=[used_up.pk])))
    words = squash(page)
    assert "5 of 5 resends used" in words
    assert "Chargebee resend not possible:" in words
    assert "This order already has 5 of the 5 resends Chargebee allows." in words
    assert reverse("resends:chargebee", args=[used_up.pk]) not in page


def test_an_order_with_four_resends_and_one_in_progress_is_blocked_too(
    browser: Client, order: Order, resend: ResendRequest
) -> None:
    Order.objects.filter(pk=order.pk).update(resend_count=4)
    words = squash(text(browser.get(reverse("resends:order", args=[order.pk]))))
    assert "This order already has 5 of the 5 resends Chargebee allows (1 still in progress)." in (
        words
    )


def test_a_submit_on_an_order_with_five_resends_is_refused(browser: Client, used_up: Order) -> None:
    page = text(chargebee_post(browser, used_up, {"li_kit": 1}, action="submit"))
    assert "This order already has 5 of the 5 resends Chargebee allows." in squash(page)
    assert is_disabled(page)
    assert not ResendRequest.objects.exists()


def test_the_same_token_again_on_an_order_at_four_resends_leads_to_the_first(
    browser: Client, order: Order
) -> None:
    Order.objects.filter(pk=order.pk).update(resend_count=4)
    order.refresh_from_db()
    token = str(uuid.uuid4())
    first = chargebee_post(browser, order, {"li_kit": 1}, action="submit", token=token)
    resend = ResendRequest.objects.get()
    assert first["HX-Redirect"] == request_url(resend)
    again = chargebee_post(browser, order, {"li_kit": 1}, action="submit", token=token)
    assert ResendRequest.objects.count() == 1  # holds: nothing is sent twice
    assert again.get("HX-Redirect") == request_url(resend)  # not a 'blocked' preview


# --- Return Helper (country and service-type lists come from the sandbox) ------------------------
def rh_url(*inventories: ReturnInventory) -> str:
    query = "&".join(f"inventory={inv.pk}" for inv in inventories)
    return f"{reverse('resends:returnhelper')}?{query}"


def rh_post(
    browser: Client,
    candidates: list[ReturnInventory],
    picked: list[ReturnInventory],
    *,
    action: str = "preview",
    **shipment: str,
) -> Any:
    data = {
        "token": str(uuid.uuid4()),
        "inventories": [inv.pk for inv in picked],
        **SHIPMENT,
        **shipment,
        "action": action,
    }
    return browser.post(rh_url(*candidates), data, headers=HTMX)


@pytest.fixture
def held(sandbox: Any) -> list[ReturnInventory]:
    """Six items on hold at warehouse 11, mirrored from the sandbox."""
    return mirror_inventories(sandbox, 6)


def _checkbox(page: str, inventory: ReturnInventory) -> str:
    match = re.search(
        rf'<input type="checkbox" name="inventories" value="{inventory.pk}"[^>]*>', page
    )
    assert match, f"no checkbox for {inventory.pk}"
    return re.sub(r"\s+", " ", match.group(0))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"handling_code": "dis"}, "Handling is “dis”; only items on hold (ohd) can be resent."),
        ({"in_stock": False}, "Not physically in stock at the warehouse."),
    ],
)
def test_an_ineligible_item_is_shown_disabled_with_its_reason(
    browser: Client, held: list[ReturnInventory], change: dict[str, Any], reason: str
) -> None:
    bad, good = held[0], held[1]
    ReturnInventory.objects.filter(pk=bad.pk).update(**change)
    page = text(browser.get(rh_url(bad, good)))
    assert " disabled" in _checkbox(page, bad) and " checked" not in _checkbox(page, bad)
    assert " disabled" not in _checkbox(page, good) and " checked" in _checkbox(page, good)
    why = re.search(rf'<td id="why-{bad.pk}">(.*?)</td>', page, re.S)
    assert why and reason in squash(why.group(1))
    why_not = re.search(rf'<td id="why-{good.pk}">(.*?)</td>', page, re.S)
    assert why_not and "Yes" in squash(why_not.group(1))


def test_an_ineligible_item_posted_anyway_is_refused(
    browser: Client, held: list[ReturnInventory]
) -> None:
    bad = held[0]
    ReturnInventory.objects.filter(pk=bad.pk).update(handling_code="dis")
    page = text(rh_post(browser, [bad, held[1]], [bad]))
    assert "Handling is “dis”; only items on hold (ohd) can be resent." in squash(page)
    assert is_disabled(page)
    page = text(rh_post(browser, [bad, held[1]], [bad], action="submit"))
    assert "only items on hold (ohd) can be resent" in squash(page)
    assert not ResendRequest.objects.exists()


def test_more_items_than_fit_in_one_resend_are_refused(
    browser: Client, held: list[ReturnInventory], settings: Any
) -> None:
    assert settings.RETURNHELPER["group_max"] == 5
    page = text(rh_post(browser, held, held, action="submit"))
    assert "At most 5 items fit in one resend; 6 picked." in squash(page)
    assert is_disabled(page)
    assert not ResendRequest.objects.exists()


def test_items_from_two_warehouses_are_refused(
    browser: Client, held: list[ReturnInventory], sandbox: Any
) -> None:
    [frankfurt] = mirror_inventories(sandbox, 1, warehouse=22)
    page = text(rh_post(browser, [held[0], frankfurt], [held[0], frankfurt], action="submit"))
    assert "All items must be in the same warehouse (picked: 11, 22)." in squash(page)
    assert is_disabled(page)
    assert not ResendRequest.objects.exists()


@pytest.mark.parametrize(
    ("country", "offered", "not_offered"),
    [
        ("usa", {"usps", "SHIPMENT_UPS_GROUND_NJ", "others"}, "SHIPMENT_DHL_EXPRESS_NJ"),
        ("deu", {"SHIPMENT_DHL_EXPRESS_NJ", "others"}, "usps"),
    ],
)
def test_the_service_types_follow_the_warehouse_and_the_country(
    browser: Client, held: list[ReturnInventory], country: str, offered: set[str], not_offered: str
) -> None:
    url = reverse("resends:returnhelper-service-types")
    query: dict[str, str | int] = {
        "inventory": held[0].pk,
        "inventories": held[0].pk,
        "shipmentCountryCode": country,
    }
    response = browser.get(url, query, headers=HTMX)
    page = text(response)
    assert response.status_code == 200 and "<html" not in page
    assert page.lstrip().startswith('<div id="service-type-field">')
    values = set(re.findall(r'<option value="([^"]+)"', page))
    assert offered <= values and not_offered not in values


def test_a_new_pick_at_the_same_warehouse_leaves_the_service_select_alone(
    browser: Client, sandbox: Any, held: list[ReturnInventory]
) -> None:
    [frankfurt] = mirror_inventories(sandbox, 1, warehouse=22)
    url = reverse("resends:returnhelper-service-types")
    base: dict[str, str | list[int]] = {
        "inventory": [held[0].pk, frankfurt.pk], "shipmentCountryCode": "usa",
        "refresh": "if-warehouse-changed", "service_warehouse": held[0].warehouse_id,
    }  # fmt: skip
    same = browser.get(url, {**base, "inventories": [held[0].pk]}, headers=HTMX)
    assert same.status_code == 204 and not same.content  # htmx keeps the agent's choice
    moved = browser.get(url, {**base, "inventories": [frankfurt.pk]}, headers=HTMX)
    page = text(moved)
    assert moved.status_code == 200 and 'name="service_warehouse" value="22"' in page
    assert "SHIPMENT_DHL_EXPRESS_FRA" in page and "SHIPMENT_UPS_GROUND_NJ" not in page


def test_a_valid_return_helper_submit_writes_one_call_with_the_items(
    browser: Client, held: list[ReturnInventory], agent: User
) -> None:
    picked = held[:2]
    preview = text(rh_post(browser, picked, picked))
    assert not is_disabled(preview), squash(preview)
    assert "Return Helper resend of 2 item(s) to Jane Doe, Newark, USA" in squash(preview)

    response = rh_post(browser, picked, picked, action="submit", note="customer moved")
    resend = ResendRequest.objects.get()
    assert response["HX-Redirect"] == request_url(resend)
    assert (resend.kind, resend.submitted_by, resend.account) == (
        ResendKind.RETURNHELPER,
        agent,
        default_account("returnhelper"),
    )
    call = resend.calls.get()
    assert call.operation == ProviderCall.Operation.RETURNHELPER_CREATE_RESEND
    assert call.payload["inventory_ids"] == sorted(int(inv.external_id) for inv in picked)
    assert call.payload["shipment"]["shipmentServiceType"] == "usps"
    assert call.payload["remarks"] == "customer moved"
    assert {t.inventory_id for t in resend.targets.all()} == {inv.pk for inv in picked}


def test_a_service_not_offered_to_that_country_is_refused(
    browser: Client, held: list[ReturnInventory]
) -> None:
    page = text(rh_post(browser, held[:1], held[:1], shipmentCountryCode="deu", action="submit"))
    assert "Service type: Select a valid choice. usps is not one of the available choices." in (
        squash(page)
    )
    assert is_disabled(page)
    assert not ResendRequest.objects.exists()


# --- Junction ------------------------------------------------------------------------------------
JUNCTION_A = "0b7c4f1e-8f7a-4a51-9a0e-3d1d7b3f0a01"
JUNCTION_B = "0b7c4f1e-8f7a-4a51-9a0e-3d1d7b3f0a02"


def junction_post(browser: Client, *, action: str = "preview", **data: str) -> Any:
    body = {
        "token": str(uuid.uuid4()),
        "account": str(default_account("junction").pk),
        "mode": "orders",
        **data,
        "action": action,
    }
    return browser.post(reverse("resends:junction"), body, headers=HTMX)


def test_pasted_junction_ids_show_a_bad_one_and_a_duplicate(browser: Client) -> None:
    OrderFactory.create(account=default_account("junction"), external_id=JUNCTION_A)
    pasted = f"{JUNCTION_A}\nnot-a-uuid\n{JUNCTION_A.upper()}, {JUNCTION_B}"
    page = text(junction_post(browser, order_ids=pasted))
    words = squash(page)
    assert "“not-a-uuid” is not a Junction order id (a UUID)." in words
    assert f"{JUNCTION_A} is listed twice; it will be sent once." in words
    assert "Replay the latest webhook event for 2 Junction order(s)" in words
    assert "POST /v3/order/resend_events with 2 order id(s)" in words
    assert "Not in our copy of Junction's orders; Junction decides." in words  # JUNCTION_B
    assert is_disabled(page)  # the bad id blocks until it is removed

    page = text(junction_post(browser, order_ids=pasted, action="submit"))
    assert not ResendRequest.objects.exists()


def test_a_duplicate_alone_does_not_block_and_is_sent_once(browser: Client) -> None:
    response = junction_post(
        browser, order_ids=f"{JUNCTION_A}\n{JUNCTION_A}\n{JUNCTION_B}", action="submit"
    )
    resend = ResendRequest.objects.get()
    assert response["HX-Redirect"] == request_url(resend)
    assert resend.calls.get().payload == {"order_ids": [JUNCTION_A, JUNCTION_B]}


def _local(moment: Any) -> str:
    return f"{moment:%Y-%m-%dT%H:%M}"


def test_a_150_day_window_previews_three_requests(browser: Client) -> None:
    end = timezone.now().replace(second=0, microsecond=0)
    start = end - timedelta(days=150)
    window = {"mode": "window", "start": _local(start), "end": _local(end)}
    page = text(junction_post(browser, **window))
    words = squash(page)
    assert "this window is sent as 3 requests" in words
    assert "Sends 3 requests:" in words
    sent = re.findall(r"POST /v3/order/resend_events start_at=(\S+) end_at=([^<\s]+)", page)
    assert len(sent) == 3
    assert sent[0][0] == f"{start:%Y-%m-%dT%H:%MZ}" and sent[-1][1] == f"{end:%Y-%m-%dT%H:%MZ}"
    assert all(a[1] == b[0] for a, b in itertools.pairwise(sent))  # back to back
    assert not is_disabled(page)

    junction_post(browser, action="submit", **window)
    resend = ResendRequest.objects.get()
    assert resend.kind == ResendKind.JUNCTION_WINDOW and resend.calls.count() == 3


def test_a_window_in_the_future_is_refused(browser: Client) -> None:
    start = timezone.now() + timedelta(days=1)
    window = {"mode": "window", "start": _local(start), "end": _local(start + timedelta(days=2))}
    page = text(junction_post(browser, **window))
    assert "The window starts in the future; nothing can be replayed yet." in squash(page)
    assert is_disabled(page)
    junction_post(browser, action="submit", **window)
    assert not ResendRequest.objects.exists()


def test_select_all_matching_prefills_the_matching_junction_ids(browser: Client) -> None:
    junction = default_account("junction")
    OrderFactory.create(account=junction, external_id=JUNCTION_A, customer_name="Zed One")
    OrderFactory.create(account=junction, external_id=JUNCTION_B, customer_name="Zed Two")
    OrderFactory.create(
        account=junction, external_id="0b7c4f1e-8f7a-4a51-9a0e-3d1d7b3f0a03", customer_name="Amy"
    )
    OrderFactory.create(external_id="cb_zed", customer_name="Zed Chargebee")  # not a Junction order
    page = text(browser.get(f"{reverse('resends:junction')}?q=zed&all=1"))
    area = re.search(r'<textarea name="order_ids"[^>]*>(.*?)</textarea>', page, re.S)
    assert area, "no order id box"
    assert sorted(area.group(1).split()) == sorted([JUNCTION_A, JUNCTION_B])
    assert "2 Junction orders match the search." in squash(page)


# --- A repeat after the first submit changed the state: it still lands on the first -------------
def test_the_same_return_helper_token_after_it_was_accepted_leads_to_the_request(
    browser: Client, held: list[ReturnInventory]
) -> None:
    picked = held[:1]
    token = str(uuid.uuid4())
    data = {"token": token, "inventories": [picked[0].pk], **SHIPMENT, "action": "submit"}
    first = browser.post(rh_url(*picked), data, headers=HTMX)
    resend = ResendRequest.objects.get()
    assert first["HX-Redirect"] == request_url(resend)
    process_call(resend.calls.get().pk, worker="test-worker", task_id="task-1")  # the sandbox
    assert resend.calls.get().state == CallState.SUCCEEDED

    again = browser.post(rh_url(*picked), data, headers=HTMX)  # back button, submit again
    assert ResendRequest.objects.count() == 1  # holds: nothing is sent twice
    assert again.get("HX-Redirect") == request_url(resend)  # not "Handling is rsd"
