"""Junction client and adapter against the sandbox: wire format, parsing, error classes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from resends.providers.base import ErrorClass, ProviderError, Verdict
from resends.providers.junction.client import JunctionClient, describe_validation_detail
from resends.providers.junction.provider import RESEND_EVENTS, JunctionAdapter
from sandbox.server import RunningSandbox

from .conftest import JUNCTION_KEY, SHORT_READ, Control
from .helpers import assert_no_secret


def some_order_ids(junction: JunctionClient, count: int = 2) -> list[str]:
    return [order.id for order in junction.list_orders(1, count).orders]


# --- wire format --------------------------------------------------------------------------------


def test_resend_events_sends_json_with_the_api_key_and_no_nulls(
    junction: JunctionClient, control: Control
) -> None:
    order_ids = some_order_ids(junction)

    junction.resend_events(order_ids=order_ids)

    sent = control.last_request("junction")
    assert sent["method"] == "POST"
    assert sent["path"] == "/junction/v3/order/resend_events"
    assert sent["headers"]["x-vital-api-key"] == "***"  # present (masked by the sandbox log)
    assert sent["headers"]["content-type"] == "application/json"
    assert json.loads(sent["body"]) == {"order_ids": order_ids}


def test_a_window_is_sent_in_utc_with_z_and_a_missing_end_is_left_out(
    junction: JunctionClient, control: Control
) -> None:
    start = datetime(2026, 1, 2, 14, 0, tzinfo=timezone(timedelta(hours=2)))

    junction.resend_events(start_at=start, end_at=start + timedelta(days=1))
    body = json.loads(control.last_request("junction")["body"])
    assert body == {"start_at": "2026-01-02T12:00:00Z", "end_at": "2026-01-03T12:00:00Z"}

    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    junction.resend_events(start_at=recent)
    body = json.loads(control.last_request("junction")["body"])
    assert body == {"start_at": recent.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert "null" not in control.last_request("junction")["body"]


def test_naive_datetimes_and_bad_order_ids_are_refused_before_sending(
    junction: JunctionClient, control: Control
) -> None:
    with pytest.raises(ProviderError) as naive:
        junction.resend_events(start_at=datetime(2026, 1, 1))
    with pytest.raises(ProviderError) as not_uuid:
        junction.resend_events(order_ids=["not-a-uuid"])
    with pytest.raises(ProviderError) as nothing:
        junction.resend_events()
    with pytest.raises(ProviderError) as too_long:
        junction.resend_events(start_at=datetime.now(UTC) - timedelta(days=61))

    for caught in (naive, not_uuid, nothing, too_long):
        assert caught.value.error_class is ErrorClass.PERMANENT
        assert caught.value.exchange is None
    assert "timezone" in naive.value.message
    assert "60 days" in too_long.value.message
    assert control.requests("junction") == []


# --- parsing ------------------------------------------------------------------------------------


def test_resend_events_returns_the_replayed_order_ids(junction: JunctionClient) -> None:
    order_ids = some_order_ids(junction, 3)

    result = junction.resend_events(order_ids=order_ids)

    assert result.order_ids == tuple(order_ids)
    assert result.exchange is not None and result.exchange.status == 200


def test_orders_are_listed_and_read_as_dataclasses(
    junction: JunctionClient, control: Control
) -> None:
    since = datetime.now(UTC) - timedelta(days=30)
    page = junction.list_orders(1, 10, updated_start_date=since)

    assert page.total is not None and 0 < len(page.orders) <= 10
    assert all(order.updated_at and order.updated_at >= since for order in page.orders)
    sent = control.last_request("junction")
    assert sent["query"]["updated_start_date"][0].endswith("Z")

    order = junction.get_order(page.orders[0].id)
    assert order.id == page.orders[0].id
    assert order.last_event is not None and order.last_event.status.count(".") == 2
    assert order.patient_name and order.raw["id"] == order.id


# --- errors -------------------------------------------------------------------------------------


def test_a_business_rule_422_is_permanent_with_a_readable_message(
    junction: JunctionClient, control: Control
) -> None:
    control.reset(junction_max_window_days=1)

    with pytest.raises(ProviderError) as caught:
        junction.resend_events(start_at=datetime.now(UTC) - timedelta(days=2))

    assert caught.value.error_class is ErrorClass.PERMANENT
    assert caught.value.status == 422
    assert "cannot exceed 1 days" in caught.value.message


def test_validation_detail_reads_as_a_list_or_a_string() -> None:
    as_list = [
        {"loc": ["body", "order_ids", 0], "msg": "Input should be a valid UUID", "type": "uuid"},
        {"loc": ["body"], "msg": "Value error, at least one of order_ids or start_at is required"},
    ]

    assert describe_validation_detail(as_list) == (
        "order_ids.0: Input should be a valid UUID; "
        "Value error, at least one of order_ids or start_at is required"
    )
    assert describe_validation_detail("Window too long") == "Window too long"


def test_a_wrong_api_key_is_permanent_and_never_shown(
    sandbox: RunningSandbox, control: Control
) -> None:
    wrong_key = "sk_us_wrong_key_1234"
    client = JunctionClient(sandbox.junction_url, wrong_key)

    with pytest.raises(ProviderError) as caught:
        client.list_orders()

    assert caught.value.error_class is ErrorClass.PERMANENT
    assert caught.value.status == 401
    assert_no_secret(caught.value, wrong_key)


@pytest.mark.parametrize("plain", [False, True], ids=["json", "gateway-text"])
def test_a_5xx_on_a_replay_is_unknown_and_on_a_read_transient(
    junction: JunctionClient, control: Control, plain: bool
) -> None:
    order_ids = some_order_ids(junction, 1)
    control.fault("junction", error_rate=1.0, error_status=503, error_plain=plain)

    with pytest.raises(ProviderError) as caught:
        junction.resend_events(order_ids=order_ids)
    assert caught.value.error_class is ErrorClass.UNKNOWN
    assert caught.value.status == 503
    assert_no_secret(caught.value, JUNCTION_KEY)

    with pytest.raises(ProviderError) as read:
        junction.get_order(order_ids[0])
    assert read.value.error_class is ErrorClass.TRANSIENT


def test_429_is_transient_with_retry_after(junction: JunctionClient, control: Control) -> None:
    order_ids = some_order_ids(junction, 1)
    control.fault("junction", rate_limit_burst=1, retry_after=2)

    with pytest.raises(ProviderError) as caught:
        junction.resend_events(order_ids=order_ids)

    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert caught.value.retry_after == 2.0


def test_a_hang_past_the_read_timeout_is_unknown(
    sandbox: RunningSandbox, junction: JunctionClient, control: Control
) -> None:
    order_ids = some_order_ids(junction, 1)
    control.fault("junction", hang_seconds=1.0, hang_count=1)
    impatient = JunctionClient(sandbox.junction_url, JUNCTION_KEY, timeout=SHORT_READ)

    with pytest.raises(ProviderError) as caught:
        impatient.resend_events(order_ids=order_ids)

    assert caught.value.error_class is ErrorClass.UNKNOWN
    assert "may have been applied" in caught.value.message
    # ...and indeed it was, after we stopped waiting.
    assert len(control.wait_for_ledger("junction", "resend_events", 1)) == 1


def test_a_reply_dropped_after_applying_is_unknown(
    junction: JunctionClient, control: Control
) -> None:
    order_ids = some_order_ids(junction, 1)
    control.fault("junction", drop_after_apply=1)

    with pytest.raises(ProviderError) as caught:
        junction.resend_events(order_ids=order_ids)

    assert caught.value.error_class is ErrorClass.UNKNOWN
    assert caught.value.exchange is not None and caught.value.exchange.status is None
    assert len(control.ledger("junction", "resend_events")) == 1


# --- the adapter --------------------------------------------------------------------------------


def test_the_adapter_replays_stored_order_ids_and_windows(junction: JunctionClient) -> None:
    adapter = JunctionAdapter(junction)
    order_ids = some_order_ids(junction, 2)
    start = (datetime.now(UTC) - timedelta(days=3)).isoformat()

    by_ids = adapter.execute(RESEND_EVENTS, {"order_ids": order_ids}, idempotency_key="k1")
    by_window = adapter.execute(
        RESEND_EVENTS, {"start_at": start, "end_at": None}, idempotency_key="k2"
    )

    assert by_ids.data["order_ids"] == order_ids
    assert by_ids.exchange is not None
    assert isinstance(by_window.data["order_ids"], list)


def test_the_adapter_refuses_a_stored_time_without_timezone(junction: JunctionClient) -> None:
    with pytest.raises(ProviderError) as caught:
        JunctionAdapter(junction).execute(
            RESEND_EVENTS, {"start_at": "2026-01-01T00:00:00"}, idempotency_key="k"
        )

    assert caught.value.error_class is ErrorClass.PERMANENT


def test_reconciling_reads_the_orders_and_says_a_repeat_is_harmless(
    junction: JunctionClient, control: Control
) -> None:
    order_ids = some_order_ids(junction, 2)

    outcome = JunctionAdapter(junction).reconcile(
        RESEND_EVENTS,
        {"order_ids": order_ids},
        idempotency_key="k",
        first_sent_at=datetime.now(UTC),
    )

    assert outcome.verdict is Verdict.REPEAT
    assert "2 have had no event since our first attempt" in outcome.explanation
    read = control.last_request("junction")
    assert read["method"] == "GET" and sorted(read["query"]["order_ids"]) == sorted(order_ids)


def test_a_replay_superseded_by_newer_events_is_not_repeated(
    sandbox: RunningSandbox, junction: JunctionClient, control: Control
) -> None:
    order_ids = some_order_ids(junction, 2)
    sent_at = datetime.now(UTC) - timedelta(minutes=30)
    for order_id in order_ids:  # Junction moved both orders on since our first attempt
        control.emit(provider="junction", order_id=order_id, status="lost")
    unknown = str(uuid.uuid4())

    outcome = JunctionAdapter(junction).reconcile(
        RESEND_EVENTS,
        {"order_ids": [*order_ids, unknown]},
        idempotency_key="k",
        first_sent_at=sent_at,
    )

    assert outcome.verdict is Verdict.APPLIED
    assert outcome.result is not None and outcome.result.provider_status == "superseded"
    assert outcome.result.data["unknown_order_ids"] == [unknown]
    state = JunctionAdapter(junction).current_state(
        RESEND_EVENTS, {"order_ids": order_ids}, reference="", first_sent_at=sent_at
    )
    assert JunctionAdapter.reference_label == ""  # a replay has no reference of its own
    assert [dict(r.facts)["Newer than our first attempt"] for r in state.records] == ["yes", "yes"]


def test_a_window_replay_is_repeated_without_reading(
    junction: JunctionClient, control: Control
) -> None:
    outcome = JunctionAdapter(junction).reconcile(
        RESEND_EVENTS,
        {"start_at": "2026-01-01T00:00:00+00:00"},
        idempotency_key="k",
        first_sent_at=datetime.now(UTC),
    )

    assert outcome.verdict is Verdict.REPEAT
    assert control.requests("junction") == []


def test_reconciling_while_junction_is_down_is_raised_to_ask_again(
    junction: JunctionClient, control: Control
) -> None:
    order_ids = some_order_ids(junction, 1)
    control.fault("junction", error_rate=1.0, error_status=503)

    with pytest.raises(ProviderError) as caught:
        JunctionAdapter(junction).reconcile(
            RESEND_EVENTS,
            {"order_ids": order_ids},
            idempotency_key="k",
            first_sent_at=datetime.now(UTC),
        )

    assert caught.value.error_class is ErrorClass.TRANSIENT
