"""Find: one box for ids, emails, names, RMAs and tracking numbers; filters; a pasted id list;
keyset pages; and the fragments htmx swaps in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from resends.accounts import default_account
from resends.models import Order, ResendRequest
from resends.selectors.search import PAGE_SIZE

from ..factories import InventoryFactory, OrderFactory
from .helpers import HTMX, signed_in, squash, text

pytestmark = pytest.mark.django_db

FIND = reverse("resends:find")
ORDER_LINK = re.compile(r'href="/orders/(\d+)/"')


@pytest.fixture
def browser(client: Client, agent: User) -> Client:
    return signed_in(client, agent)


def find(browser: Client, htmx: bool = False, **params: str) -> str:
    response = browser.get(f"{FIND}?{urlencode(params)}", headers=HTMX if htmx else {})
    assert response.status_code == 200
    return text(response)


def listed(page: str) -> list[int]:
    """The order pks the page links to, in page order."""
    return [int(pk) for pk in ORDER_LINK.findall(page)]


# --- The search box ------------------------------------------------------------------------------
def test_a_chargebee_order_id_finds_that_order(browser: Client) -> None:
    wanted = OrderFactory.create(external_id="cb_7f3a91")
    OrderFactory.create(external_id="cb_7f3a92")
    page = find(browser, q="cb_7f3a91")
    assert listed(page) == [wanted.pk]
    assert "matched by id or reference" in squash(page)


def test_an_email_finds_the_customer_in_any_case(browser: Client) -> None:
    wanted = OrderFactory.create(customer_email="Jane.Doe@Example.com", customer_name="Jane Doe")
    also = OrderFactory.create(customer_email="jane.doe@example.com", customer_name="Jane D.")
    OrderFactory.create(customer_email="john.doe@example.com")
    page = find(browser, q="  JANE.doe@EXAMPLE.com ")
    assert sorted(listed(page)) == sorted([wanted.pk, also.pk])
    assert "matched by customer email" in squash(page)


def test_the_start_of_a_name_finds_customers_by_name_prefix(browser: Client) -> None:
    jane = OrderFactory.create(customer_name="Jane Doe")
    janet = OrderFactory.create(customer_name="janet Smith")
    OrderFactory.create(customer_name="Bob Jane")  # "jan" inside the name, not at its start
    OrderFactory.create(customer_name="Jim Jones")
    page = find(browser, q="JAN")
    assert sorted(listed(page)) == sorted([jane.pk, janet.pk])


def test_an_rma_shows_the_returned_items_and_their_order(browser: Client) -> None:
    order = OrderFactory.create(external_id="cb_rma_order")
    first = InventoryFactory.create(rma="RMA-777001", order=order, external_id="55501")
    second = InventoryFactory.create(rma="RMA-777001", external_id="55502")
    InventoryFactory.create(rma="RMA-777002", external_id="55503")
    page = find(browser, q="RMA-777001")
    assert "Return inventories matching “RMA-777001”" in squash(page)
    picks = re.findall(r'name="inventory" value="(\d+)"', page)
    assert sorted(map(int, picks)) == sorted([first.pk, second.pk])
    assert "#55503" not in page
    # The items' form goes to the Return Helper resend page.
    assert f'action="{reverse("resends:returnhelper")}"' in page
    assert set(listed(page)) == {order.pk}  # the item's order, in both tables


def test_a_tracking_number_finds_the_resend_and_its_order(
    browser: Client, resend: ResendRequest, order: Order
) -> None:
    resend.calls.update(tracking_number="1Z999AA10123456784")
    OrderFactory.create(external_id="cb_other")
    page = find(browser, q="1Z999AA10123456784")
    assert "Resends matching “1Z999AA10123456784”" in squash(page)
    assert reverse("resends:request", args=[resend.public_id]) in page
    assert listed(page) == [order.pk]


def test_a_return_helper_resend_number_finds_the_resend(
    browser: Client, rh_resend: ResendRequest, resend: ResendRequest
) -> None:
    page = find(browser, q="RS-000123")  # provider_reference_2 of the accepted resend
    assert reverse("resends:request", args=[rh_resend.public_id]) in page
    assert reverse("resends:request", args=[resend.public_id]) not in page


JUNCTION_ID = "0b7c4f1e-8f7a-4a51-9a0e-3d1d7b3f0a01"


def test_a_junction_order_id_finds_that_order(browser: Client) -> None:
    wanted = OrderFactory.create(account=default_account("junction"), external_id=JUNCTION_ID)
    OrderFactory.create(account=default_account("junction"), external_id=JUNCTION_ID[:-1] + "2")
    assert listed(find(browser, q=JUNCTION_ID)) == [wanted.pk]
    assert listed(find(browser, ids=JUNCTION_ID.upper())) == [wanted.pk]  # pasted: any case


def test_a_junction_order_id_in_capitals_is_found_in_the_search_box_too(browser: Client) -> None:
    wanted = OrderFactory.create(account=default_account("junction"), external_id=JUNCTION_ID)
    assert listed(find(browser, q=JUNCTION_ID.upper())) == [wanted.pk]


def test_nothing_found_says_so(browser: Client) -> None:
    OrderFactory.create(customer_name="Jane Doe")
    page = squash(find(browser, q="Zebedee"))
    assert "No orders match." in page


# --- Filters -------------------------------------------------------------------------------------
@pytest.fixture
def zeds(db: None) -> dict[str, Order]:
    junction = default_account("junction")
    return {
        "cb_shipped": OrderFactory.create(customer_name="Zed One", status="shipped"),
        "cb_cancelled": OrderFactory.create(customer_name="Zed Two", status="cancelled"),
        "jn_completed": OrderFactory.create(
            account=junction,
            external_id="8c0c9e0e-3c1a-4b59-9d3c-6f7e3f0a0001",
            customer_name="Zed Three",
            status="completed",
        ),
    }


def test_the_account_filter_keeps_that_providers_orders(
    browser: Client, zeds: dict[str, Order]
) -> None:
    page = find(browser, q="zed", account=str(default_account("junction").pk))
    assert listed(page) == [zeds["jn_completed"].pk]
    page = find(browser, q="zed", account=str(default_account("chargebee").pk))
    assert sorted(listed(page)) == sorted([zeds["cb_shipped"].pk, zeds["cb_cancelled"].pk])


def test_the_status_filter_keeps_orders_in_that_status(
    browser: Client, zeds: dict[str, Order]
) -> None:
    assert listed(find(browser, q="zed", status="cancelled")) == [zeds["cb_cancelled"].pk]


def test_the_created_range_includes_both_whole_days(browser: Client) -> None:
    def at(year: int, month: int, day: int, hour: int, minute: int) -> Order:
        when = datetime(year, month, day, hour, minute, tzinfo=UTC)
        return OrderFactory.create(status="dated", provider_created_at=when)

    at(2024, 1, 31, 23, 59)
    first_day = at(2024, 2, 1, 0, 0)
    last_day = at(2024, 2, 28, 23, 30)
    at(2024, 2, 29, 0, 0)
    page = find(browser, q="", status="dated", created_from="2024-02-01", created_to="2024-02-28")
    assert listed(page) == [last_day.pk, first_day.pk]


def test_an_end_before_the_start_is_an_error(browser: Client) -> None:
    OrderFactory.create(status="dated", provider_created_at=datetime(2024, 2, 10, tzinfo=UTC))
    page = find(browser, q="", status="dated", created_from="2024-03-01", created_to="2024-02-01")
    assert "Created to: The end date is before the start date." in squash(page)
    assert listed(page) == []


def test_an_end_before_the_start_is_an_error_in_the_htmx_fragment_too(browser: Client) -> None:
    page = find(
        browser, htmx=True, q="", status="dated", created_from="2024-03-01", created_to="2024-02-01"
    )
    assert "The end date is before the start date." in squash(page)


# --- A pasted list of ids ------------------------------------------------------------------------
def test_pasted_ids_flag_unknown_and_duplicate_ones(browser: Client) -> None:
    a = OrderFactory.create(external_id="cb_paste_a", customer_name="Alma")
    b = OrderFactory.create(external_id="cb_paste_b", customer_name="Bert")
    page = find(browser, ids="cb_paste_a\ncb_nope, cb_paste_a;cb_paste_b")
    words = squash(page)
    assert "4 pasted ids" in words
    assert "1 unknown" in words and "1 duplicate" in words
    assert listed(page) == [a.pk, b.pk]  # in the order pasted, each once
    assert "unknown no mirrored order has this id" in words
    assert "duplicate listed earlier; counted once" in words
    rows = re.findall(r"<tr[^>]*>\s*<td class=\"mono\">([^<]+)</td>", page)
    assert rows == ["cb_paste_a", "cb_nope", "cb_paste_a", "cb_paste_b"]


def test_pasted_junction_ids_offer_a_replay_of_exactly_those(browser: Client) -> None:
    junction = default_account("junction")
    one = OrderFactory.create(account=junction, external_id="8c0c9e0e-3c1a-4b59-9d3c-6f7e3f0a0011")
    OrderFactory.create(external_id="cb_not_junction")
    page = find(browser, ids=f"{one.external_id} cb_not_junction")
    assert re.findall(r'name="order" value="([^"]+)"', page) == [one.external_id]
    assert "Replay Junction webhooks for these 1 order" in squash(page)


# --- Keyset pages --------------------------------------------------------------------------------
def _more_cursor(page: str) -> str:
    match = re.search(r'id="more-row".*?href="\?[^"]*after=([^"&]+)', page, re.S)
    assert match, "no 'Show more' link"
    return unquote(match.group(1))


@pytest.fixture
def thirty_orders(db: None) -> list[Order]:
    """30 orders; ten of them share one creation time, straddling the page boundary."""
    base = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    orders = [
        OrderFactory.create(status="paged", provider_created_at=base - timedelta(hours=i))
        for i in range(20)
    ]
    tie = base - timedelta(days=2)
    orders += [OrderFactory.create(status="paged", provider_created_at=tie) for _ in range(10)]
    OrderFactory.create(status="elsewhere")
    return orders


def test_page_two_follows_page_one_without_overlap_or_gaps(
    browser: Client, thirty_orders: list[Order]
) -> None:
    first = find(browser, q="", status="paged")
    page_one = listed(first)
    assert len(page_one) == PAGE_SIZE
    assert (
        page_one
        == [o.pk for o in thirty_orders[:20]]
        + sorted((o.pk for o in thirty_orders[20:]), reverse=True)[:5]
    )

    second = find(browser, q="", status="paged", after=_more_cursor(first))
    page_two = listed(second)
    assert len(page_two) == len(thirty_orders) - PAGE_SIZE
    assert not set(page_one) & set(page_two)
    assert set(page_one) | set(page_two) == {o.pk for o in thirty_orders}
    assert 'id="more-row"' not in second  # the last page offers no more


def test_the_more_link_answers_htmx_with_only_the_next_rows(
    browser: Client, thirty_orders: list[Order]
) -> None:
    cursor = _more_cursor(find(browser, q="", status="paged"))
    fragment = find(browser, htmx=True, q="", status="paged", after=cursor)
    assert len(listed(fragment)) == len(thirty_orders) - PAGE_SIZE
    assert fragment.lstrip().startswith("<tr")
    for chrome in ("<html", "<thead", "<form", 'id="results"', "Find orders"):
        assert chrome not in fragment


def test_show_more_can_be_followed_to_the_last_page(browser: Client) -> None:
    """Each "more" fragment carries the next "Show more" row until the orders run out."""
    base = datetime(2024, 5, 1, tzinfo=UTC)
    orders = [
        OrderFactory.create(status="paged", provider_created_at=base - timedelta(minutes=i))
        for i in range(2 * PAGE_SIZE + 3)
    ]
    page = find(browser, q="", status="paged")
    seen, fragments = listed(page), 0
    while 'id="more-row"' in page:
        page = find(browser, htmx=True, q="", status="paged", after=_more_cursor(page))
        seen += listed(page)
        fragments += 1
    assert fragments == 2
    assert seen == [o.pk for o in orders]


def test_orders_without_a_creation_time_come_first_and_only_once(browser: Client) -> None:
    base = datetime(2024, 5, 1, tzinfo=UTC)
    dated = [
        OrderFactory.create(status="paged", provider_created_at=base - timedelta(hours=i))
        for i in range(PAGE_SIZE + 2)
    ]
    undated = [OrderFactory.create(status="paged", provider_created_at=None) for _ in range(3)]
    seen: list[int] = []
    params = {"q": "", "status": "paged"}
    for _ in range(5):
        page = find(browser, htmx=False, **params)
        seen += listed(page)
        if 'id="more-row"' not in page:
            break
        params["after"] = _more_cursor(page)
    # First on every backend (PostgreSQL's own DESC order, so its index serves the page).
    assert seen == sorted((o.pk for o in undated), reverse=True) + [o.pk for o in dated]


# --- htmx fragments ------------------------------------------------------------------------------
def test_an_htmx_search_answers_with_the_results_fragment_only(browser: Client) -> None:
    wanted = OrderFactory.create(customer_name="Jane Doe")
    page = find(browser, q="Jane")
    fragment = find(browser, htmx=True, q="Jane")
    assert listed(fragment) == listed(page) == [wanted.pk]
    assert "<html" in page and 'id="id_q"' in page
    for chrome in ("<html", "<head", 'id="id_q"', "Sign out"):
        assert chrome not in fragment
    assert "Orders" in squash(fragment)
