"""Write provider data (in the provider's own wire shape) into our mirrors.

Used by the periodic sync, the webhooks and the demo loader alike. Upserts are keyed by
(account, external id) and never regress: an older copy of an object never overwrites a newer one,
because webhooks arrive late, twice and out of order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from ..models import LineItem, Order, ProviderAccount, ReturnInventory
from ..times import parse_time

HANDLING_CODES = {0: "tbc", 1: "rtn", 2: "dis", 3: "rsd", 4: "ohd", 5: "oth"}
HANDLING_STATUS_CODES = {0: "pending", 1: "inProgress", 2: "completed"}


def _is_older(incoming: datetime | None, stored: datetime | None) -> bool:
    return incoming is not None and stored is not None and incoming < stored


def _upsert_order(
    account: ProviderAccount, external_id: str, fields: dict[str, Any]
) -> tuple[Order, bool]:
    """Returns (order, changed). Skips the write when the incoming copy is older."""
    order = (
        Order.objects.select_for_update().filter(account=account, external_id=external_id).first()
    )
    if order is None:
        return Order.objects.create(account=account, external_id=external_id, **fields), True
    if _is_older(fields.get("provider_updated_at"), order.provider_updated_at):
        return order, False
    for name, value in fields.items():
        setattr(order, name, value)
    order.save()
    return order, True


@transaction.atomic
def upsert_junction_order(account: ProviderAccount, raw: dict[str, Any]) -> tuple[Order, bool]:
    patient = raw.get("patient_details") or {}
    name = " ".join(p for p in (patient.get("first_name"), patient.get("last_name")) if p)
    last_event = raw.get("last_event") or {}
    return _upsert_order(
        account,
        str(raw["id"]),
        {
            "customer_name": name[:200],
            "customer_email": (patient.get("email") or "")[:254],
            "status": str(last_event.get("status") or raw.get("status") or "")[:100],
            "provider_created_at": parse_time(raw.get("created_at")),
            "provider_updated_at": parse_time(raw.get("updated_at")),
            "raw": raw,
        },
    )


@transaction.atomic
def upsert_chargebee_order(account: ProviderAccount, raw: dict[str, Any]) -> tuple[Order, bool]:
    address = raw.get("shipping_address") or raw.get("billing_address") or {}
    name = " ".join(p for p in (address.get("first_name"), address.get("last_name")) if p)
    order, changed = _upsert_order(
        account,
        str(raw["id"]),
        {
            "customer_name": name[:200],
            "customer_email": (address.get("email") or "")[:254],
            "status": str(raw.get("status") or "")[:100],
            "provider_created_at": parse_time(raw.get("created_at")),
            "provider_updated_at": parse_time(raw.get("updated_at")),
            "raw": raw,
            "resent_status": str(raw.get("resent_status") or "")[:30],
            "is_resent": bool(raw.get("is_resent")),
            "original_order_id": str(raw.get("original_order_id") or "")[:64],
            "resend_count": len(raw.get("resent_orders") or []),
        },
    )
    if changed:
        for item in raw.get("order_line_items") or []:
            LineItem.objects.update_or_create(
                order=order,
                external_id=str(item["id"]),
                defaults={
                    "description": str(item.get("description") or "")[:300],
                    "sku": str(item.get("sku") or "")[:100],
                    "quantity": int(item.get("fulfillment_quantity") or 0),
                    "status": str(item.get("status") or "")[:40],
                },
            )
    return order, changed


def handling_fields(raw: dict[str, Any]) -> dict[str, str]:
    """An inventory's handling code and status, as our mirror stores them."""
    return {
        "handling_code": _code(raw.get("handlingCode"), HANDLING_CODES),
        "handling_status_code": _code(raw.get("handlingStatusCode"), HANDLING_STATUS_CODES),
    }


def _code(value: Any, table: dict[int, str]) -> str:
    """Return Helper sends codes sometimes as ints (4) and sometimes as strings ('ohd' or '4')."""
    if value is None:
        return ""
    text = str(value).strip()
    return table.get(int(text), text) if text.isdigit() else text


@transaction.atomic
def upsert_inventory(
    account: ProviderAccount, raw: dict[str, Any], *, order: Order | None = None
) -> tuple[ReturnInventory, bool]:
    external_id = str(raw["returnInventoryId"]).strip()
    fields: dict[str, Any] = {
        "warehouse_id": str(raw.get("warehouseId") or "").strip(),
        **handling_fields(raw),
        "rma": str(raw.get("rma") or "")[:64],
        "sku": str(raw.get("sku") or "")[:100],
        "description": str(raw.get("description") or "")[:300],
        "quantity": int(raw.get("quantity") or 1),
        "in_stock": bool(raw.get("inStock", True)),
        "pending_vas": bool(raw.get("pendingVas", False)),
        "provider_created_at": parse_time(raw.get("createOn")),
        "provider_updated_at": parse_time(raw.get("modifyOn")),
        "raw": raw,
    }
    if order is not None:
        fields["order"] = order
    inventory = (
        ReturnInventory.objects.select_for_update()
        .filter(account=account, external_id=external_id)
        .first()
    )
    if inventory is None:
        return ReturnInventory.objects.create(
            account=account, external_id=external_id, **fields
        ), True
    if _is_older(fields["provider_updated_at"], inventory.provider_updated_at):
        return inventory, False
    for name, value in fields.items():
        setattr(inventory, name, value)
    inventory.save()
    return inventory, True
