"""Small helpers for engine tests: mirror sandbox data, read the ledger, inject faults."""

from __future__ import annotations

from typing import Any

import requests

from resends.accounts import default_account
from resends.models import Order, ReturnInventory
from resends.providers.chargebee.mirror import order_record_from_json as chargebee_order
from resends.providers.returnhelper.mirror import inventory_record_from_json as inventory
from resends.services.mirrors import upsert_inventory, upsert_order


def ledger(sandbox: Any, provider: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{sandbox.url}/_sandbox/ledger", params={"provider": provider}, timeout=10
    )
    response.raise_for_status()
    return list(response.json()["entries"])


def faults(sandbox: Any, **fault: Any) -> None:
    requests.post(f"{sandbox.url}/_sandbox/faults", json=fault, timeout=10).raise_for_status()


def clear_faults(sandbox: Any) -> None:
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=10).raise_for_status()


def reset(sandbox: Any, **config: Any) -> None:
    requests.post(f"{sandbox.url}/_sandbox/reset", json=config, timeout=10).raise_for_status()


def chargebee_orders(sandbox: Any) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    offset = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if offset:
            params["offset"] = offset
        response = requests.get(
            f"{sandbox.chargebee_url}/api/v2/orders",
            params=params,
            auth=("test_sandbox_key", ""),
            timeout=10,
        )
        response.raise_for_status()
        body = response.json()
        orders += [entry["order"] for entry in body["list"]]
        offset = body.get("next_offset")
        if not offset:
            return orders


def mirror_chargebee_order(
    sandbox: Any,
    *,
    resends: int = 0,
    status: tuple[str, ...] = ("queued", "awaiting_shipment", "shipped", "delivered"),
) -> Order:
    """Mirror one sandbox order that has `resends` earlier resends and can be resent."""
    for raw in chargebee_orders(sandbox):
        if (
            len(raw.get("resent_orders") or []) == resends
            and raw["status"] in status
            and not raw.get("is_resent")
            and raw.get("resent_status") != "fully_resent"
        ):
            order, _ = upsert_order(default_account("chargebee"), chargebee_order(raw))
            return order
    raise LookupError(f"no sandbox order with {resends} resends")


def mirror_inventories(sandbox: Any, count: int, *, warehouse: int = 11) -> list[ReturnInventory]:
    from sandbox.dataset import build_dataset

    eligible = [
        raw
        for raw in build_dataset(seed=42).returnhelper_inventories
        if raw["warehouseId"] == warehouse
        and raw["handlingCode"] == "ohd"
        and raw["inStock"]
        and not raw["pendingVas"]
    ]
    account = default_account("returnhelper")
    return [upsert_inventory(account, inventory(raw))[0] for raw in eligible[:count]]


def configure(sandbox: Any, **config: Any) -> None:
    """Change sandbox settings live, keeping its data."""
    requests.post(f"{sandbox.url}/_sandbox/config", json=config, timeout=10).raise_for_status()
