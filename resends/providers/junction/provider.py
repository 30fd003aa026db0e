"""The Junction adapter: the engine's `junction.resend_events` calls and the order sync.

Payloads (the JSON stored on ProviderCall):
    {"order_ids": ["0ee312e2-6773-4a21-a6e1-506882cd98ed", ...]}
    {"start_at": "2025-01-01T00:00:00Z", "end_at": "2025-01-02T00:00:00Z" | null}
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ..base import CallResult, OrderPage, ProviderAdapter, Reconciliation, Verdict
from ..errors import invalid_request
from .client import JunctionClient
from .mirror import order_record

RESEND_EVENTS = "junction.resend_events"
PAGE_SIZE = 100  # orders per page when syncing


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
        return Reconciliation(
            Verdict.ABSENT,
            "Junction cannot tell whether a replay happened, and it does not need to: "
            "resend_events only re-sends the latest webhook of each order (nothing is shipped or "
            "created), so sending it again at worst delivers a duplicate webhook, which our "
            "webhook handler de-duplicates. Safe to send again.",
        )

    def changed_order_pages(self, since: datetime | None) -> Iterator[OrderPage]:
        page = 1
        while True:
            result = self.client.list_orders(page=page, size=PAGE_SIZE, updated_start_date=since)
            yield OrderPage(tuple(order_record(order) for order in result.orders), result.total)
            if len(result.orders) < PAGE_SIZE:
                return
            page += 1
