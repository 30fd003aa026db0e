"""Return Helper's returned items as our mirror keeps them."""

from __future__ import annotations

from typing import Any

from ..base import HandlingUpdate, InventoryRecord
from .client import InventoryItem, parse_inventory


def inventory_record(item: InventoryItem) -> InventoryRecord:
    return InventoryRecord(
        external_id=item.id,
        warehouse_id=item.warehouse_id,
        handling_code=item.handling_code,
        handling_status_code=item.handling_status,
        rma=item.rma,
        sku=item.sku,
        description=item.description,
        quantity=item.quantity,
        in_stock=item.in_stock,
        pending_vas=item.pending_vas,
        created_at=item.created_at,
        updated_at=item.modified_at,
        raw=item.raw,
    )


def inventory_record_from_json(raw: Any) -> InventoryRecord:
    """A `returnInventory` object as the webhooks (and the sandbox's dataset) send it."""
    return inventory_record(parse_inventory(raw))


def handling_update(item: InventoryItem) -> HandlingUpdate:
    return HandlingUpdate(
        external_id=item.id,
        handling_code=item.handling_code,
        handling_status_code=item.handling_status,
    )
