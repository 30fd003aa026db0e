"""Write provider-neutral records (providers/base.py) into our mirrors.

Used by the periodic sync, the webhooks and the demo loader alike. Upserts are keyed by
(account, external id) and never regress: an older copy of an object never overwrites a newer one,
because webhooks arrive late, twice and out of order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction

from ..engine.outcome import count_resends
from ..models import LineItem, Order, ProviderAccount, ReturnInventory
from ..providers.base import HandlingUpdate, InventoryRecord, OrderRecord

M = TypeVar("M", Order, ReturnInventory)


def _is_older(incoming: datetime | None, stored: datetime | None) -> bool:
    return incoming is not None and stored is not None and incoming < stored


def _upsert(
    model: type[M], account: ProviderAccount, external_id: str, fields: dict[str, Any]
) -> tuple[M, bool]:
    """Returns (row, changed). Skips the write when the incoming copy is older."""
    row = (
        model._default_manager.select_for_update()
        .filter(account=account, external_id=external_id)
        .first()
    )
    if row is None:
        return model._default_manager.create(
            account=account, external_id=external_id, **fields
        ), True
    if _is_older(fields.get("provider_updated_at"), row.provider_updated_at):
        return row, False
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row, True


@transaction.atomic
def upsert_order(account: ProviderAccount, record: OrderRecord) -> tuple[Order, bool]:
    fields: dict[str, Any] = {
        "customer_name": record.customer_name[:200],
        "customer_email": record.customer_email[:254],
        "status": record.status[:100],
        "provider_created_at": record.created_at,
        "provider_updated_at": record.updated_at,
        "raw": record.raw,
    }
    if record.resends is not None:
        fields |= {
            "resent_status": record.resends.resent_status[:30],
            "is_resent": record.resends.is_resent,
            "original_order_id": record.resends.original_order_id[:64],
            "resent_order_ids": list(dict.fromkeys(record.resends.resent_order_ids)),
        }
    order, changed = _upsert(Order, account, record.external_id, fields)
    if changed and record.resends is not None:
        order.resend_count = count_resends(order)  # under the row lock _upsert took
        order.save(update_fields=["resend_count"])
    if changed and record.lines is not None:
        for line in record.lines:
            LineItem.objects.update_or_create(
                order=order,
                external_id=line.external_id,
                defaults={
                    "description": line.description[:300],
                    "sku": line.sku[:100],
                    "quantity": line.quantity,
                    "status": line.status[:40],
                },
            )
    return order, changed


@transaction.atomic
def upsert_inventory(
    account: ProviderAccount, record: InventoryRecord, *, order: Order | None = None
) -> tuple[ReturnInventory, bool]:
    fields: dict[str, Any] = {
        "warehouse_id": record.warehouse_id,
        "handling_code": record.handling_code,
        "handling_status_code": record.handling_status_code,
        "rma": record.rma[:64],
        "sku": record.sku[:100],
        "description": record.description[:300],
        "quantity": record.quantity,
        "in_stock": record.in_stock,
        "pending_vas": record.pending_vas,
        "provider_created_at": record.created_at,
        "provider_updated_at": record.updated_at,
        "raw": record.raw,
    }
    if order is not None:
        fields["order"] = order
    return _upsert(ReturnInventory, account, record.external_id, fields)


def update_handling(account: ProviderAccount, updates: Iterable[HandlingUpdate]) -> None:
    """New handling codes for inventories we mirror (the others are not ours to create)."""
    for update in updates:
        ReturnInventory.objects.filter(account=account, external_id=update.external_id).update(
            handling_code=update.handling_code,
            handling_status_code=update.handling_status_code,
        )
