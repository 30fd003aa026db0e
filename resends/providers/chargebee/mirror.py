"""Chargebee orders, their lines and their resend facts as our mirror keeps them."""

from __future__ import annotations

from typing import Any

from ..base import LineRecord, OrderRecord, ResendFacts
from .client import ChargebeeOrder, parse_order


def order_record(order: ChargebeeOrder) -> OrderRecord:
    return OrderRecord(
        external_id=order.id,
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        status=order.status,
        created_at=order.created_at,
        updated_at=order.updated_at,
        raw=order.raw,
        lines=tuple(
            LineRecord(
                external_id=line.id,
                description=line.description,
                sku=line.sku,
                quantity=line.quantity,
                status=line.status,
            )
            for line in order.line_items
            if line.id
        ),
        resends=ResendFacts(
            resent_status=order.resent_status,
            is_resent=order.is_resent,
            original_order_id=order.original_order_id,
            resent_order_ids=tuple(link.order_id for link in order.resent_orders),
        ),
    )


def order_record_from_json(raw: Any) -> OrderRecord:
    """An order object as the API and the webhooks send it."""
    return order_record(parse_order(raw))
