"""Junction orders as our mirror keeps them."""

from __future__ import annotations

from typing import Any

from ..base import OrderRecord
from .client import JunctionOrder, parse_order


def order_record(order: JunctionOrder) -> OrderRecord:
    """The status is the latest event's (the top-level one is deprecated); no lines, no resend
    facts: a Junction "resend" replays a webhook and makes no new order."""
    latest = order.last_event.status if order.last_event else ""
    return OrderRecord(
        external_id=order.id,
        customer_name=order.patient_name,
        customer_email=order.patient_email,
        status=latest or order.status,
        created_at=order.created_at,
        updated_at=order.updated_at,
        raw=order.raw,
    )


def order_record_from_json(raw: Any) -> OrderRecord:
    """An order object as the API and the webhooks send it."""
    return order_record(parse_order(raw))
