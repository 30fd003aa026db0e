"""The demo dataset: deterministic, big enough, and in each provider's wire shape."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.dataset import Dataset, build_dataset

pytestmark: list[object] = []

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CB_ID = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
RMA = re.compile(r"^[A-Z]{3}-\d{2}-\d{6}-D\d{5}-\d{2}$")


@pytest.fixture(scope="module")
def data() -> Dataset:
    return build_dataset(42, NOW)


def test_same_seed_same_data_and_fast() -> None:
    started = time.process_time()  # CPU time: robust on a busy CI machine
    first = build_dataset(42, NOW)
    assert time.process_time() - started < 0.5
    assert build_dataset(42, NOW) == first
    other = build_dataset(7, NOW)
    assert other.chargebee_orders[0]["id"] != first.chargebee_orders[0]["id"]


def test_counts(data: Dataset) -> None:
    assert len(data.junction_orders) >= 200
    assert len(data.chargebee_orders) >= 200
    assert len(data.returnhelper_inventories) >= 150
    assert {w["warehouseId"] for w in data.warehouses} == {11, 22}
    assert 15 <= len(data.countries) <= 20
    assert data.reason_codes


def test_junction_orders_look_like_client_facing_orders(data: Dataset) -> None:
    for order in data.junction_orders:
        assert str(uuid.UUID(order["id"])) == order["id"]
        uuid.UUID(order["user_id"])
        assert order["team_id"] == data.junction_team_id
        assert ISO_Z.match(order["created_at"]) and ISO_Z.match(order["updated_at"])
        created = datetime.fromisoformat(order["created_at"])
        assert NOW - timedelta(days=121) <= created <= NOW
        assert order["updated_at"] >= order["created_at"]
        assert order["last_event"] == order["events"][-1]
        top, method, low = order["last_event"]["status"].split(".")
        assert order["status"] == top and method in {"testkit", "walk_in_test"} and low
        assert order["patient_details"]["email"].endswith("@example.com")
    statuses = {o["last_event"]["status"] for o in data.junction_orders}
    assert "collecting_sample.testkit.transit_customer" in statuses


def test_chargebee_orders_and_their_resends_are_consistent(data: Dataset) -> None:
    orders = {order["id"]: order for order in data.chargebee_orders}
    allowed = {"queued", "awaiting_shipment", "shipped", "delivered", "on_hold", "cancelled"}
    for order in data.chargebee_orders:
        assert CB_ID.match(order["id"]) and order["id"].startswith("ord_")
        assert order["status"] in allowed
        assert isinstance(order["created_at"], int) and order["updated_at"] >= order["created_at"]
        address = order["shipping_address"]
        assert {
            "first_name",
            "last_name",
            "email",
            "line1",
            "city",
            "state",
            "zip",
            "country",
        } <= set(address)
        assert 1 <= len(order["order_line_items"]) <= 4
        for line in order["order_line_items"]:
            assert line["id"].startswith("li_") and 1 <= line["fulfillment_quantity"] <= 5
            assert line["sku"] and line["description"] and line["entity_type"]
        for link in order["resent_orders"]:
            resend = orders[link["order_id"]]
            assert resend["is_resent"] is True
            assert resend["original_order_id"] == order["id"]
        if order["resent_orders"]:
            assert order["resent_status"] in {"partially_resent", "fully_resent"}
        if order.get("resent_status") == "fully_resent":
            assert order["status"] == "cancelled"
            assert order["cancellation_reason"] == "order_resent"
    resend_counts = Counter(len(o["resent_orders"]) for o in data.chargebee_orders)
    assert resend_counts[5] >= 3 and resend_counts[4] >= 3 and resend_counts[0] > 150
    assert any(o["status"] == "cancelled" and not o["resent_orders"] for o in data.chargebee_orders)


def test_returnhelper_inventories_cover_every_eligibility_case_in_both_warehouses(
    data: Dataset,
) -> None:
    order_ids = {order["id"] for order in data.chargebee_orders}
    kinds: Counter[tuple[int, str]] = Counter()
    for inv in data.returnhelper_inventories:
        assert isinstance(inv["returnInventoryId"], int)
        assert inv["warehouseId"] in {11, 22}
        assert inv["handlingCode"] in {"ohd", "tbc", "dis", "rsd"}
        assert RMA.match(inv["rma"]), inv["rma"]
        assert inv["sku"] and inv["description"] and inv["quantity"] >= 1
        assert inv["orderRef"] is None or inv["orderRef"] in order_ids
        if inv["handlingCode"] != "ohd":
            kind = inv["handlingCode"]
        elif not inv["inStock"]:
            kind = "not_in_stock"
        elif inv["pendingVas"]:
            kind = "pending_vas"
        else:
            kind = "eligible"
        kinds[(inv["warehouseId"], kind)] += 1
    for warehouse in (11, 22):
        for kind in ("eligible", "tbc", "dis", "rsd", "not_in_stock", "pending_vas"):
            assert kinds[(warehouse, kind)] >= 2, (warehouse, kind)
        assert kinds[(warehouse, "eligible")] >= 10
