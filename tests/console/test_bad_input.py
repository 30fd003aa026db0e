"""No input makes the console answer 500: ids, integers, dates and search prefixes are read through
resends.inputs (ASCII digits, 64-bit bounds, valid text, dates Python can hold)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from resends.accounts import default_account
from resends.models import Order, ResendRequest, ReturnInventory

from ..factories import OrderFactory
from .helpers import HTMX, SHIPMENT, signed_in
from .helpers import squash as squash_text


def squash(response: Any) -> str:
    return squash_text(response.content.decode())


PAST_64_BITS = "99999999999999999999"
ODD_NUMBERS = ["²", "١٢", "１２", PAST_64_BITS, f"-{PAST_64_BITS}", "9" * 5000, "0", "-1"]


@pytest.fixture
def browser(client: Client, agent: User) -> Client:
    client.raise_request_exception = False
    return signed_in(client, agent)


def ok(response: Any) -> bool:
    return response.status_code < 500


@pytest.mark.parametrize(
    "term", ["zo\U0010ffff", "zo\ud7ff", "\U0010ffff", "\ud7ff", "\U0010ffff\U0010ffff"]
)
def test_a_search_may_end_in_the_last_code_points(browser: Client, term: str) -> None:
    named = {
        "zo\U0010ffff": OrderFactory.create(customer_name="Zo\U0010ffff Smith"),
        "zo\ud7ff": OrderFactory.create(customer_name="Zo\ud7ff Smith"),
    }
    find = browser.get(reverse("resends:find"), {"q": term})
    assert find.status_code == 200
    wanted = [named[term]] if term in named else []
    assert find.context["results"].orders == wanted
    picker = browser.get(reverse("resends:junction"), {"q": term, "all": "1"})
    assert picker.status_code == 200


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_returnhelper_order_and_inventory_take_any_number_like_text(
    browser: Client, inventory: ReturnInventory, value: str
) -> None:
    url = reverse("resends:returnhelper")
    assert browser.get(url, {"order": value}).status_code == 200
    assert browser.get(url, {"inventory": [value, str(inventory.pk)]}).status_code == 200
    fragment = reverse("resends:returnhelper-service-types")
    query = {"inventory": value, "inventories": value, "shipmentCountryCode": "usa"}
    assert ok(browser.get(fragment, query, headers=HTMX))
    query = {"order": value, "service_warehouse": value, "shipmentCountryCode": "usa"}
    assert ok(browser.get(fragment, query, headers=HTMX))


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_the_inventories_field_takes_any_number_like_text(
    browser: Client, inventory: ReturnInventory, sandbox: Any, value: str
) -> None:
    url = f"{reverse('resends:returnhelper')}?inventory={inventory.pk}"
    form = {
        **SHIPMENT,
        "token": "5f0c9a56-7a39-4a60-8f0e-0f2c2c7a5d11",
        "inventories": [value, str(inventory.pk)],
    }
    response = browser.post(url, form)
    assert response.status_code == 200
    assert "not one of the items listed here" in response.content.decode()


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_the_resend_list_takes_any_before(
    browser: Client, resend: ResendRequest, value: str
) -> None:
    response = browser.get(reverse("resends:requests"), {"before": value})
    assert response.status_code == 200
    assert list(response.context["rows"]) == [resend]  # an unusable cursor is the first page


def test_the_resend_list_pages_with_before(browser: Client, resend: ResendRequest) -> None:
    response = browser.get(reverse("resends:requests"), {"before": str(resend.pk)})
    assert list(response.context["rows"]) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("qty", PAST_64_BITS),
        ("qty", "9" * 5000),
        ("qty", "-5"),
        ("qty", "²"),
        ("shipping_date", "9999-12-31"),
        ("shipping_date", "99999-01-01"),
        ("pick", "²"),
    ],
)
def test_a_chargebee_form_with_odd_numbers_or_dates_is_refused(
    browser: Client, order: Order, field: str, value: str
) -> None:
    line = order.line_items.get(external_id="li_kit")
    form = {
        "token": "5f0c9a56-7a39-4a60-8f0e-0f2c2c7a5d12",
        "mode": "partial",
        "action": "submit",
        f"pick_{line.pk}": "on",
        f"qty_{line.pk}": "1",
    }
    form[f"{field}_{line.pk}" if field in ("qty", "pick") else field] = value
    response = browser.post(reverse("resends:chargebee", args=[order.pk]), form, headers=HTMX)
    assert response.status_code == 200
    if field != "pick":  # a ticked box is a ticked box, whatever it says
        words = squash(response)
        assert "Fix before sending" in words or "Nothing can be sent" in words
        assert not ResendRequest.objects.exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-01-01T00:00", "9999-12-31T23:59"),  # split into 60-day pieces, the last overflowed
        ("0001-01-01T00:00", "2024-01-01T00:00"),
        ("2024-01-01T00:00", "99999-01-01T00:00"),
    ],
)
def test_a_junction_window_far_out_of_range_is_refused(
    browser: Client, start: str, end: str
) -> None:
    form = {
        "mode": "window",
        "token": "5f0c9a56-7a39-4a60-8f0e-0f2c2c7a5d13",
        "account": str(default_account("junction").pk),
        "start": start,
        "end": end,
    }
    response = browser.post(reverse("resends:junction"), form, headers=HTMX)
    assert response.status_code == 200
    assert "Enter" in squash(response)


def test_a_bulk_window_far_out_of_range_is_refused(client: Client, manager: User) -> None:
    client.raise_request_exception = False
    signed_in(client, manager)
    form = {"kind": "junction_window", "start_at": "2024-01-01T00:00", "end_at": "9999-12-31T23:59"}
    response = client.post(reverse("resends:bulk-new"), form, headers=HTMX)
    assert response.status_code == 200
    assert "Enter a date between 1970-01-01 and 2999-12-31" in squash(response)


def test_a_nul_in_any_field_is_refused_with_400(
    client: Client, manager: User, inventory: ReturnInventory
) -> None:
    """PostgreSQL refuses a NUL in any text it is given, a WHERE clause too (a 500 there)."""
    client.raise_request_exception = False
    signed_in(client, manager)
    for url, query in [
        (reverse("resends:returnhelper"), {"rma": "RMA\x00"}),
        (reverse("resends:bulk-new"), {"filter": "nightly\x00"}),
        (reverse("resends:find"), {"q": "a\x00b"}),
        (reverse("resends:find"), {"status\x00": "x"}),
    ]:
        assert client.get(url, query).status_code == 400, query
    response = client.post(reverse("resends:bulk-new"), {"kind": "junction_window", "note": "\x00"})
    assert response.status_code == 400
    assert b"NUL" in response.content


@pytest.mark.parametrize(
    "params",
    [
        {"created_to": "9999-12-31"},
        {"created_from": "9999-12-31", "created_to": "9999-12-31"},
        {"created_from": "0001-01-01"},
        {"created_to": "99999-01-01"},
        {"q": "x", "after": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5fDE="},  # "999…|1"
        {"q": "x", "after": "fDk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ=="},  # "|" + 28 nines
        {"q": "x", "after": "OTk5OTktMDEtMDF8MQ=="},  # "99999-01-01|1"
    ],
)
def test_find_takes_dates_and_cursors_far_out_of_range(
    browser: Client, params: dict[str, str]
) -> None:
    OrderFactory.create(customer_name="Xavier")
    assert browser.get(reverse("resends:find"), params).status_code == 200
    assert browser.get(reverse("resends:junction"), {**params, "all": "1"}).status_code == 200


def test_an_item_whose_id_is_not_an_ascii_number_is_refused_not_a_500(
    browser: Client, inventory: ReturnInventory, sandbox: Any
) -> None:
    """createResend takes item ids as numbers; "²" passed isdigit() and then failed int()."""
    ReturnInventory.objects.filter(pk=inventory.pk).update(external_id="²")
    url = f"{reverse('resends:returnhelper')}?inventory={inventory.pk}"
    form = {
        **SHIPMENT,
        "token": "5f0c9a56-7a39-4a60-8f0e-0f2c2c7a5d14",
        "inventories": [str(inventory.pk)],
        "action": "submit",
    }
    response = browser.post(url, form)
    assert response.status_code == 200
    assert "Return Helper knows items by number" in squash(response)
    assert not ResendRequest.objects.exists()
