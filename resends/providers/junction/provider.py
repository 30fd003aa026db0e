"""The Junction adapter: the engine's `junction.resend_events` calls and the order sync.

Payloads (the JSON stored on ProviderCall):
    {"order_ids": ["0ee312e2-6773-4a21-a6e1-506882cd98ed", ...]}
    {"start_at": "2025-01-01T00:00:00Z", "end_at": "2025-01-02T00:00:00Z" | null}

Reconciling an unknown outcome
------------------------------
Junction takes no idempotency key and keeps no record of replays: a replay changes nothing on
the order (no event, no update time), so no read can show whether ours happened. What a read of
the orders (`GET /v3/orders?order_ids=…`) can show is whether the replay is still needed: an
order whose latest event is newer than our first attempt (plus CLOCK_SKEW) has had its webhook
sent by Junction itself since, with a state newer than the one we asked to replay; an order
Junction does not know would have been skipped. When no order is left that needs it: APPLIED
(nothing to repeat). Otherwise REPEAT: a replay only sends webhooks again (nothing is shipped or
created, and consumers drop duplicates), so it is sent again and recorded as a repeat. A window
replay is not read order by order: REPEAT. A read that fails is raised (ask again later).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from ..base import (
    CallResult,
    OrderPage,
    ProviderAdapter,
    ProviderRecord,
    ProviderState,
    Reconciliation,
    Verdict,
)
from ..errors import invalid_request
from ..parsing import shown_time
from .client import JunctionClient, JunctionOrder
from .mirror import order_record

RESEND_EVENTS = "junction.resend_events"
PAGE_SIZE = 100  # orders per page when syncing or reading (Junction's most)
CLOCK_SKEW = timedelta(minutes=5)  # between our clock and Junction's event times
MAX_SHOWN = 20  # orders shown to a manager checking one call
REPEAT_IS_SAFE = (
    "Repeating only sends each order's latest webhook again (nothing is shipped or created, and "
    "webhook consumers drop duplicates): sent again, recorded as a repeat."
)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _newer(order: JunctionOrder, since: datetime) -> bool:
    last = order.last_event
    return bool(last and last.created_at and last.created_at > since)


def _moment(payload: dict[str, Any], name: str) -> datetime | None:
    value = payload.get(name)
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise invalid_request(
            f"The stored {name} {value!r} is not an ISO-8601 time with a timezone.",
            code="bad_payload",
        )
    return moment


class JunctionAdapter(ProviderAdapter):
    provider = "junction"
    label = "Junction"
    reference_label = ""

    def __init__(self, client: JunctionClient) -> None:
        self.client = client

    def execute(
        self, operation: str, payload: dict[str, Any], *, idempotency_key: str
    ) -> CallResult:
        """Junction has no idempotency header: the key is only ours (the row's id)."""
        if operation != RESEND_EVENTS:
            raise invalid_request(f"Junction cannot do {operation!r}.", code="unknown_operation")
        order_ids = payload.get("order_ids")
        if order_ids is not None and not isinstance(order_ids, list):
            raise invalid_request("The stored order_ids must be a list.", code="bad_payload")
        result = self.client.resend_events(
            order_ids=order_ids or None,
            start_at=_moment(payload, "start_at"),
            end_at=_moment(payload, "end_at"),
        )
        return CallResult(
            provider_status="replayed",
            data={"order_ids": list(result.order_ids)},
            exchange=result.exchange,
        )

    def reconcile(
        self,
        operation: str,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        first_sent_at: datetime,
    ) -> Reconciliation:
        if operation != RESEND_EVENTS:
            raise invalid_request(f"Junction cannot do {operation!r}.", code="unknown_operation")
        order_ids = [str(order_id) for order_id in payload.get("order_ids") or []]
        if not order_ids:
            return Reconciliation(
                Verdict.REPEAT,
                "A window replay: Junction keeps no record of replays, and a window's orders are "
                f"not read one by one, so it cannot tell whether ours happened. {REPEAT_IS_SAFE}",
            )
        orders = self._orders(order_ids)
        asked = (f"GET {self.client.base_url}/v3/orders?order_ids=… ({len(order_ids)} orders)",)
        since = _aware(first_sent_at) + CLOCK_SKEW
        moved = [order.id for order in orders.values() if _newer(order, since)]
        unknown = [order_id for order_id in order_ids if order_id not in orders]
        waiting = [o for o in order_ids if o in orders and o not in moved]
        read = f"Read the {len(order_ids)} order(s)"
        if not waiting:
            return Reconciliation(
                Verdict.APPLIED,
                f"{read}: {len(moved)} had a newer event since our first attempt (Junction sent "
                f"that webhook itself) and {len(unknown)} are unknown to Junction (a replay skips "
                "them), so a replay now would add nothing.",
                CallResult(
                    provider_status="superseded",
                    data={"order_ids": moved, "unknown_order_ids": unknown},
                ),
                asked,
            )
        return Reconciliation(
            Verdict.REPEAT,
            f"{read}: {len(waiting)} have had no event since our first attempt, and a replay "
            "leaves no trace on an order, so Junction cannot tell whether ours happened. "
            f"{REPEAT_IS_SAFE}",
            asked=asked,
        )

    def current_state(
        self,
        operation: str,
        payload: dict[str, Any],
        *,
        reference: str,
        first_sent_at: datetime,
    ) -> ProviderState:
        if operation != RESEND_EVENTS:
            raise invalid_request(f"Junction cannot do {operation!r}.", code="unknown_operation")
        no_trace = "Junction keeps no record of replays, so its orders cannot show whether ours "
        order_ids = [str(order_id) for order_id in payload.get("order_ids") or []]
        if not order_ids:
            return ProviderState(
                f"A window replay from {payload.get('start_at')} to {payload.get('end_at') or 'then'}. "
                + no_trace
                + "happened; Junction's dashboard lists the webhook messages it sent.",
            )
        orders = self._orders(order_ids[:MAX_SHOWN])
        since = _aware(first_sent_at) + CLOCK_SKEW
        records = []
        for order_id in order_ids[:MAX_SHOWN]:
            order = orders.get(order_id)
            if order is None:
                records.append(ProviderRecord(f"Order {order_id}", (("At Junction", "unknown"),)))
                continue
            last = order.last_event
            records.append(
                ProviderRecord(
                    f"Order {order.id}",
                    (
                        ("Latest event", last.status if last else "-"),
                        ("Latest event at", shown_time(last.created_at if last else None)),
                        ("Newer than our first attempt", "yes" if _newer(order, since) else "no"),
                        ("Updated", shown_time(order.updated_at)),
                        ("Patient", order.patient_name or "-"),
                    ),
                )
            )
        more = (
            f" (the first {MAX_SHOWN} of {len(order_ids)} shown)"
            if len(order_ids) > MAX_SHOWN
            else ""
        )
        return ProviderState(
            f"{len(order_ids)} order(s){more}. "
            + no_trace
            + "happened; an order with a newer event has had that webhook sent by Junction since.",
            tuple(records),
        )

    def _orders(self, order_ids: list[str]) -> dict[str, JunctionOrder]:
        found: dict[str, JunctionOrder] = {}
        for start in range(0, len(order_ids), PAGE_SIZE):
            chunk = order_ids[start : start + PAGE_SIZE]
            page = self.client.list_orders(page=1, size=PAGE_SIZE, order_ids=chunk)
            found.update((order.id, order) for order in page.orders)
        return found

    def changed_order_pages(self, since: datetime | None) -> Iterator[OrderPage]:
        page = 1
        while True:
            result = self.client.list_orders(page=page, size=PAGE_SIZE, updated_start_date=since)
            yield OrderPage(tuple(order_record(order) for order in result.orders), result.total)
            if len(result.orders) < PAGE_SIZE:
                return
            page += 1
