"""Chargebee client and adapter against the sandbox: wire format, errors, reconciliation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest

from resends.providers.base import ErrorClass, ProviderError, Verdict
from resends.providers.chargebee.client import ChargebeeClient, ChargebeeOrder
from resends.providers.chargebee.provider import RESEND_ORDER, ChargebeeAdapter
from sandbox.server import RunningSandbox

from .conftest import CHARGEBEE_KEY, SHORT_READ, Control
from .helpers import assert_no_secret


def new_key() -> str:
    return str(uuid.uuid4())


def resendable(orders: list[ChargebeeOrder], *, lines: int = 2) -> ChargebeeOrder:
    """A shipped order with no resends yet and at least `lines` line items."""
    return next(
        order
        for order in orders
        if order.status in ("shipped", "delivered")
        and not order.is_resent
        and order.resend_count == 0
        and len(order.line_items) >= lines
        and all(line.quantity >= 2 for line in order.line_items[:lines])
    )


def partial_payload(order: ChargebeeOrder) -> dict[str, object]:
    first, second = order.line_items[:2]
    return {
        "order_id": order.id,
        "lines": [{"id": first.id, "quantity": 1}, {"id": second.id, "quantity": 2}],
        "shipping_date": None,
        "reason": "Damaged",
    }


# --- wire format --------------------------------------------------------------------------------


def test_resend_is_form_encoded_like_the_sdk(
    chargebee: ChargebeeClient, control: Control, chargebee_orders: list[ChargebeeOrder]
) -> None:
    order = resendable(chargebee_orders)
    first, second = order.line_items[:2]
    key = new_key()
    ship_on = int((datetime.now(UTC) + timedelta(days=2)).timestamp())

    chargebee.resend_order(
        order.id, [(first.id, 1), (second.id, 2)], ship_on, "Damaged", idempotency_key=key
    )

    sent = control.last_request("chargebee")
    assert sent["path"] == f"/chargebee/api/v2/orders/{order.id}/resend"
    assert sent["headers"]["authorization"] == "***"  # Basic auth present (masked in the log)
    assert sent["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert sent["headers"]["accept"] == "application/json"
    assert sent["headers"]["chargebee-idempotency-key"] == key
    assert "%5Bid%5D%5B0%5D" in sent["body"]  # brackets percent-encoded, as the SDK does
    assert parse_qsl(sent["body"]) == [
        ("shipping_date", str(ship_on)),
        ("resend_reason", "Damaged"),
        ("order_line_items[id][0]", first.id),
        ("order_line_items[fulfillment_quantity][0]", "1"),
        ("order_line_items[id][1]", second.id),
        ("order_line_items[fulfillment_quantity][1]", "2"),
    ]


def test_absent_fields_are_left_out_and_every_call_gets_its_own_key(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    orders = [o for o in chargebee_orders if o.status in ("shipped", "delivered")]
    first_key, second_key = new_key(), new_key()

    chargebee.resend_order(
        orders[0].id, [(orders[0].line_items[0].id, 1)], idempotency_key=first_key
    )
    chargebee.resend_order(
        orders[1].id, [(orders[1].line_items[0].id, 1)], idempotency_key=second_key
    )

    first, second = control.requests("chargebee")[-2:]
    assert first["headers"]["chargebee-idempotency-key"] == first_key
    assert second["headers"]["chargebee-idempotency-key"] == second_key
    assert [name for name, _ in parse_qsl(first["body"])] == [
        "order_line_items[id][0]",
        "order_line_items[fulfillment_quantity][0]",
    ]


def test_odd_order_ids_are_refused_before_sending(
    chargebee: ChargebeeClient, control: Control
) -> None:
    with pytest.raises(ProviderError) as caught:
        chargebee.resend_order("ord 1/x", idempotency_key=new_key())

    assert caught.value.error_class is ErrorClass.PERMANENT
    assert control.requests("chargebee") == []


# --- success ------------------------------------------------------------------------------------


def test_a_partial_resend_returns_the_new_order(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    order = resendable(chargebee_orders)
    line = order.line_items[0]

    result = chargebee.resend_order(order.id, [(line.id, 1)], idempotency_key=new_key())

    assert result.new_order_id != order.id
    assert result.order.is_resent and result.order.original_order_id == order.id
    assert [(li.sku, li.quantity) for li in result.order.line_items] == [(line.sku, 1)]
    assert result.replayed is False
    original = chargebee.get_order(order.id)
    assert original.resent_status == "partially_resent"
    assert [link.order_id for link in original.resent_orders] == [result.new_order_id]


def test_the_same_key_is_answered_from_chargebees_store(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    order = resendable(chargebee_orders)
    key = new_key()

    first = chargebee.resend_order(order.id, [(order.line_items[0].id, 1)], idempotency_key=key)
    again = chargebee.resend_order(order.id, [(order.line_items[0].id, 1)], idempotency_key=key)

    assert again.replayed is True
    assert again.new_order_id == first.new_order_id
    assert len(control.ledger("chargebee", "resend")) == 1


def test_orders_are_listed_page_by_page_in_update_order(
    chargebee: ChargebeeClient, control: Control
) -> None:
    since = datetime.now(UTC) - timedelta(days=30)

    page = chargebee.list_orders(limit=5, updated_after=since)
    following = chargebee.list_orders(limit=5, offset=page.next_offset, updated_after=since)

    query = control.requests("chargebee")[0]["query"]
    assert query["sort_by[asc]"] == ["updated_at"]
    assert query["updated_at[after]"] == [str(int(since.timestamp()))]
    stamps = [o.updated_at for o in page.orders + following.orders]
    assert all(stamp is not None and stamp > since for stamp in stamps)
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert page.next_offset and not set(page.orders) & set(following.orders)


# --- errors -------------------------------------------------------------------------------------


def test_the_sixth_resend_is_refused_in_plain_words(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    capped = next(o for o in chargebee_orders if o.resend_count >= 5)

    with pytest.raises(ProviderError) as caught:
        chargebee.resend_order(capped.id, [(capped.line_items[0].id, 1)], idempotency_key=new_key())

    assert caught.value.error_class is ErrorClass.PERMANENT
    assert caught.value.code == "invalid_state_for_request"
    assert caught.value.message == "This order already has 5 resends, the most Chargebee allows."


def test_a_wrong_line_or_reason_is_permanent(
    chargebee: ChargebeeClient, control: Control, chargebee_orders: list[ChargebeeOrder]
) -> None:
    order = resendable(chargebee_orders)

    with pytest.raises(ProviderError) as wrong_line:
        chargebee.resend_order(order.id, [("li_not_there", 1)], idempotency_key=new_key())
    with pytest.raises(ProviderError) as wrong_reason:
        chargebee.resend_order(order.id, reason="Because", idempotency_key=new_key())
    with pytest.raises(ProviderError) as unknown_order:
        chargebee.resend_order("ord_missing", idempotency_key=new_key())

    assert wrong_line.value.error_class is ErrorClass.PERMANENT
    assert wrong_line.value.message.startswith("Chargebee rejected the line 1 item:")
    assert wrong_reason.value.message.startswith("Chargebee rejected the resend reason:")
    assert unknown_order.value.status == 404
    assert unknown_order.value.message == "Chargebee has no order ord_missing."


def test_a_wrong_api_key_is_permanent_and_never_shown(
    sandbox: RunningSandbox, control: Control
) -> None:
    wrong_key = "test_wrong_key_5678"
    client = ChargebeeClient(sandbox.chargebee_url, wrong_key)

    with pytest.raises(ProviderError) as caught:
        client.get_order("ord_anything")

    assert caught.value.error_class is ErrorClass.PERMANENT
    assert caught.value.status == 401
    assert_no_secret(caught.value, wrong_key)


@pytest.mark.parametrize("plain", [False, True], ids=["json", "gateway-html"])
def test_a_5xx_on_the_resend_is_unknown_and_on_a_read_transient(
    chargebee: ChargebeeClient,
    control: Control,
    plain: bool,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    order = resendable(chargebee_orders)
    control.fault("chargebee", error_rate=1.0, error_status=503, error_plain=plain)

    with pytest.raises(ProviderError) as caught:
        chargebee.resend_order(order.id, idempotency_key=new_key())
    assert caught.value.error_class is ErrorClass.UNKNOWN
    assert "can come after the request was applied" in caught.value.message
    assert_no_secret(caught.value, CHARGEBEE_KEY)

    with pytest.raises(ProviderError) as read:
        chargebee.get_order(order.id)
    assert read.value.error_class is ErrorClass.TRANSIENT


def test_a_502_after_the_resend_was_applied_is_unknown(
    chargebee: ChargebeeClient, control: Control, chargebee_orders: list[ChargebeeOrder]
) -> None:
    order = resendable(chargebee_orders)
    control.fault("chargebee", error_after_apply=1, error_status=502, error_plain=True)

    with pytest.raises(ProviderError) as caught:
        chargebee.resend_order(order.id, idempotency_key=new_key())

    assert caught.value.error_class is ErrorClass.UNKNOWN and caught.value.status == 502
    assert len(control.ledger("chargebee", "resend")) == 1


def test_429_is_transient_with_retry_after(
    chargebee: ChargebeeClient, control: Control, chargebee_orders: list[ChargebeeOrder]
) -> None:
    order = resendable(chargebee_orders)
    control.fault("chargebee", rate_limit_burst=1, retry_after=1)

    with pytest.raises(ProviderError) as caught:
        chargebee.resend_order(order.id, idempotency_key=new_key())

    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert caught.value.code == "api_request_limit_exceeded"
    assert caught.value.retry_after == 1.0


def test_a_hang_past_the_read_timeout_is_unknown(
    sandbox: RunningSandbox,
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    order = resendable(chargebee_orders)
    control.fault("chargebee", hang_seconds=1.0, hang_count=1)
    impatient = ChargebeeClient(sandbox.chargebee_url, CHARGEBEE_KEY, timeout=SHORT_READ)

    with pytest.raises(ProviderError) as caught:
        impatient.resend_order(order.id, idempotency_key=new_key())

    assert caught.value.error_class is ErrorClass.UNKNOWN
    assert_no_secret(caught.value, CHARGEBEE_KEY)
    assert len(control.wait_for_ledger("chargebee", "resend", 1)) == 1


def test_a_dropped_reply_is_unknown(
    chargebee: ChargebeeClient, control: Control, chargebee_orders: list[ChargebeeOrder]
) -> None:
    order = resendable(chargebee_orders)
    control.fault("chargebee", drop_after_apply=1)

    with pytest.raises(ProviderError) as caught:
        chargebee.resend_order(order.id, idempotency_key=new_key())

    assert caught.value.error_class is ErrorClass.UNKNOWN
    assert len(control.ledger("chargebee", "resend")) == 1


# --- the adapter and reconciliation -------------------------------------------------------------


def test_the_adapter_executes_a_stored_payload(
    chargebee: ChargebeeClient, control: Control, chargebee_orders: list[ChargebeeOrder]
) -> None:
    order = resendable(chargebee_orders)

    result = ChargebeeAdapter(chargebee).execute(
        RESEND_ORDER, partial_payload(order), idempotency_key=new_key()
    )

    (effect,) = control.ledger("chargebee", "resend")
    assert result.reference == effect["result"]["order_id"]
    assert result.data["original_order_id"] == order.id
    assert result.exchange is not None


def test_inside_the_window_a_lost_reply_is_recovered_by_replaying(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    adapter = ChargebeeAdapter(chargebee)
    payload = partial_payload(resendable(chargebee_orders))
    key = new_key()
    sent_at = datetime.now(UTC)
    control.fault("chargebee", drop_after_apply=1)
    with pytest.raises(ProviderError):
        adapter.execute(RESEND_ORDER, payload, idempotency_key=key)

    outcome = adapter.reconcile(RESEND_ORDER, payload, idempotency_key=key, first_sent_at=sent_at)

    (effect,) = control.ledger("chargebee", "resend")
    assert outcome.verdict is Verdict.APPLIED
    assert outcome.result is not None and outcome.result.replayed is True
    assert outcome.result.reference == effect["result"]["order_id"]


def test_inside_the_window_a_request_that_never_arrived_is_applied_once(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    adapter = ChargebeeAdapter(chargebee)
    payload = partial_payload(resendable(chargebee_orders))

    outcome = adapter.reconcile(
        RESEND_ORDER, payload, idempotency_key=new_key(), first_sent_at=datetime.now(UTC)
    )

    assert outcome.verdict is Verdict.APPLIED
    assert outcome.result is not None and outcome.result.replayed is False
    assert len(control.ledger("chargebee", "resend")) == 1


@pytest.mark.parametrize(
    "fault",
    [
        {"error_rate": 1.0, "error_status": 503},
        {"rate_limit_burst": 1, "retry_after": 7},
    ],
    ids=["503", "429"],
)
def test_inside_the_window_an_unreachable_chargebee_is_raised_to_ask_again(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
    fault: dict[str, Any],
) -> None:
    payload = partial_payload(resendable(chargebee_orders))
    control.fault("chargebee", **fault)

    with pytest.raises(ProviderError) as caught:
        ChargebeeAdapter(chargebee).reconcile(
            RESEND_ORDER, payload, idempotency_key=new_key(), first_sent_at=datetime.now(UTC)
        )

    assert not caught.value.permanent
    assert caught.value.retry_after == fault.get("retry_after", caught.value.retry_after)
    assert control.ledger("chargebee", "resend") == []


def test_after_the_window_an_unreadable_order_is_raised_to_ask_again(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    adapter = after_the_window(chargebee, control)
    payload = partial_payload(resendable(chargebee_orders))
    control.fault("chargebee", error_rate=1.0, error_status=502)

    with pytest.raises(ProviderError) as caught:
        adapter.reconcile(
            RESEND_ORDER, payload, idempotency_key=new_key(), first_sent_at=datetime.now(UTC)
        )

    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert {r["method"] for r in control.requests("chargebee")} == {"GET"}


def test_after_the_window_an_order_chargebee_no_longer_has_is_undecided(
    chargebee: ChargebeeClient, control: Control
) -> None:
    adapter = after_the_window(chargebee, control)
    payload: dict[str, Any] = {
        "order_id": "ord_gone",
        "lines": [],
        "shipping_date": None,
        "reason": None,
    }

    outcome = adapter.reconcile(
        RESEND_ORDER, payload, idempotency_key=new_key(), first_sent_at=datetime.now(UTC)
    )

    assert outcome.verdict is Verdict.UNDECIDED
    assert "ord_gone" in outcome.explanation


def test_the_current_state_marks_the_resend_that_looks_like_ours(
    chargebee: ChargebeeClient, control: Control, chargebee_orders: list[ChargebeeOrder]
) -> None:
    order = resendable(chargebee_orders)
    payload = partial_payload(order)
    sent_at = datetime.now(UTC)
    result = ChargebeeAdapter(chargebee).execute(RESEND_ORDER, payload, idempotency_key=new_key())

    state = ChargebeeAdapter(chargebee).current_state(
        RESEND_ORDER, payload, reference="", first_sent_at=sent_at
    )

    assert state.records[0].title.startswith(f"Order {order.id}")
    assert [r.reference for r in state.records if r.matches] == [result.reference]
    assert "1 created since our first attempt" in state.summary
    assert {r["method"] for r in control.requests("chargebee")} == {"POST", "GET"}
    assert len(control.ledger("chargebee", "resend")) == 1  # a look changes nothing


def test_inside_the_window_a_refusal_is_raised(
    chargebee: ChargebeeClient, control: Control, chargebee_orders: list[ChargebeeOrder]
) -> None:
    capped = next(o for o in chargebee_orders if o.resend_count >= 5)
    payload: dict[str, Any] = {
        "order_id": capped.id,
        "lines": [],
        "shipping_date": None,
        "reason": None,
    }

    with pytest.raises(ProviderError) as caught:
        ChargebeeAdapter(chargebee).reconcile(
            RESEND_ORDER, payload, idempotency_key=new_key(), first_sent_at=datetime.now(UTC)
        )

    assert caught.value.error_class is ErrorClass.PERMANENT


def after_the_window(chargebee: ChargebeeClient, control: Control) -> ChargebeeAdapter:
    """Chargebee forgets keys at once; our adapter treats every first attempt as too old."""
    control.configure(idempotency_window_seconds=0)
    return ChargebeeAdapter(chargebee, idempotency_window=timedelta(0))


def test_after_the_window_an_applied_resend_is_found_by_reading(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    adapter = after_the_window(chargebee, control)
    payload = partial_payload(resendable(chargebee_orders))
    sent_at = datetime.now(UTC)
    control.fault("chargebee", drop_after_apply=1)
    with pytest.raises(ProviderError):
        adapter.execute(RESEND_ORDER, payload, idempotency_key=new_key())
    control.clear_faults()

    outcome = adapter.reconcile(
        RESEND_ORDER, payload, idempotency_key=new_key(), first_sent_at=sent_at
    )

    (effect,) = control.ledger("chargebee", "resend")
    assert outcome.verdict is Verdict.APPLIED
    assert outcome.result is not None
    assert outcome.result.reference == effect["result"]["order_id"]
    assert [r["method"] for r in control.requests("chargebee")][-1] == "GET"  # read, no repeat


def test_after_the_window_nothing_since_the_first_attempt_is_absent(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    adapter = after_the_window(chargebee, control)
    older = next(o for o in chargebee_orders if 0 < o.resend_count < 5)
    payload = {
        "order_id": older.id,
        "lines": [{"id": older.line_items[0].id, "quantity": 1}],
        "shipping_date": None,
        "reason": None,
    }

    outcome = adapter.reconcile(
        RESEND_ORDER, payload, idempotency_key=new_key(), first_sent_at=datetime.now(UTC)
    )

    assert outcome.verdict is Verdict.ABSENT
    assert control.ledger("chargebee", "resend") == []


def test_after_the_window_two_lookalike_resends_are_undecided(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    adapter = after_the_window(chargebee, control)
    payload = partial_payload(resendable(chargebee_orders))
    sent_at = datetime.now(UTC)
    adapter.execute(RESEND_ORDER, payload, idempotency_key=new_key())
    adapter.execute(RESEND_ORDER, payload, idempotency_key=new_key())

    outcome = adapter.reconcile(
        RESEND_ORDER, payload, idempotency_key=new_key(), first_sent_at=sent_at
    )

    assert outcome.verdict is Verdict.UNDECIDED
    assert len(control.ledger("chargebee", "resend")) == 2
