"""Deterministic demo data in each provider's own wire shapes.

Everything random comes from one ``random.Random(seed)``, and every timestamp is relative to
``now``: the same ``(seed, now)`` always gives the same dataset.
"""

from __future__ import annotations

import copy
import random
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import people, reference
from sandbox.config import DEFAULT_REASON_CODES

JsonDict = dict[str, Any]

JUNCTION_ORDER_COUNT = 240
JUNCTION_USER_COUNT = 48  # a Junction sandbox team is limited to 50 users
CHARGEBEE_BASE_ORDER_COUNT = 220
RH_INVENTORY_COUNT = 170
HISTORY_DAYS = 120

_ALNUM = string.ascii_letters + string.digits
_JUNCTION_PATHS: dict[str, list[str]] = {
    "testkit": [
        "ordered",
        "requisition_created",
        "transit_customer",
        "out_for_delivery",
        "with_customer",
        "transit_lab",
        "delivered_to_lab",
        "completed",
    ],
    "walk_in_test": [
        "ordered",
        "requisition_created",
        "appointment_scheduled",
        "draw_completed",
        "completed",
    ],
}
_JUNCTION_BRANCHES: dict[str, list[str]] = {
    "ordered": ["cancelled"],
    "transit_customer": ["problem_in_transit_customer", "failure_to_deliver_to_customer"],
    "transit_lab": ["problem_in_transit_lab", "lost", "failure_to_deliver_to_lab"],
    "delivered_to_lab": ["sample_error"],
}
_CB_COUNTRIES: tuple[tuple[str, int], ...] = (
    ("US", 58),
    ("CA", 8),
    ("GB", 8),
    ("DE", 12),
    ("FR", 7),
    ("NL", 4),
    ("IT", 3),
)
_CB_CANCEL_REASONS = ("product_unavailable", "payment_declined", "shipping_cut_off_passed")
_US_REGION = {"US", "CA", "MX"}
# Inventory categories: eligible plus one for every reason an inventory cannot be resent.
_RH_CATEGORIES: tuple[tuple[str, int], ...] = (
    ("eligible", 96),
    ("tbc", 16),
    ("dis", 14),
    ("rsd", 16),
    ("not_in_stock", 14),
    ("pending_vas", 14),
)


@dataclass
class Dataset:
    seed: int
    now: datetime
    junction_team_id: str
    junction_users: list[JsonDict]
    junction_orders: list[JsonDict]
    chargebee_orders: list[JsonDict]
    returnhelper_inventories: list[JsonDict]
    returnhelper_shipments: list[JsonDict]
    returnhelper_resends: list[JsonDict]
    warehouses: list[JsonDict]
    service_types: list[JsonDict]
    countries: list[JsonDict]
    reason_codes: list[str] = field(default_factory=lambda: list(DEFAULT_REASON_CODES))


def iso_z(moment: datetime) -> str:
    """ISO-8601 UTC with a 'Z', seconds precision."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def make_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_id(rng: random.Random, prefix: str, length: int = 14) -> str:
    return prefix + "".join(rng.choice(_ALNUM) for _ in range(length))


def _digits(rng: random.Random, template: str) -> str:
    return "".join(str(rng.randint(0, 9)) if char == "#" else char for char in template)


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str


def _person(rng: random.Random, number: int) -> Person:
    first = rng.choice(people.FIRST_NAMES)
    last = rng.choice(people.LAST_NAMES)
    local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
    return Person(
        first, last, f"{local}{number}@example.com", f"+1555{rng.randint(1000000, 9999999)}"
    )


def _address(rng: random.Random, country: str) -> JsonDict:
    city, state, state_code, zip_template = rng.choice(people.CITIES[country])
    return {
        "line1": f"{rng.randint(1, 9999)} {rng.choice(people.STREETS)}",
        "city": city,
        "state": state,
        "state_code": state_code,
        "zip": _digits(rng, zip_template),
        "country": country,
    }


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    if end <= start:
        return start
    seconds = (end - start).total_seconds()
    return start + timedelta(seconds=int(rng.uniform(0, seconds)))


def build_dataset(seed: int = 42, now: datetime | None = None) -> Dataset:
    """Build the whole demo dataset deterministically from ``seed`` and ``now``."""
    current = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rng = random.Random(seed)
    team_id = make_uuid(rng)
    users = [
        {"user_id": make_uuid(rng), "client_user_id": f"patient-{1000 + index}"}
        for index in range(JUNCTION_USER_COUNT)
    ]
    junction_orders = _junction_orders(rng, current, team_id, users)
    chargebee_orders = _chargebee_orders(rng, current)
    inventories, shipments, resends = _returnhelper(rng, current, chargebee_orders)
    return Dataset(
        seed=seed,
        now=current,
        junction_team_id=team_id,
        junction_users=users,
        junction_orders=junction_orders,
        chargebee_orders=chargebee_orders,
        returnhelper_inventories=inventories,
        returnhelper_shipments=shipments,
        returnhelper_resends=resends,
        warehouses=[dict(row) for row in reference.WAREHOUSES],
        service_types=reference.service_types(),
        countries=reference.countries(),
        reason_codes=list(DEFAULT_REASON_CODES),
    )


# --- Junction -------------------------------------------------------------------------------


def junction_status(method: str, low_level: str) -> str:
    return f"{reference.JUNCTION_TOP_LEVEL.get(low_level, 'received')}.{method}.{low_level}"


def _junction_statuses(rng: random.Random, method: str) -> list[str]:
    path = _JUNCTION_PATHS[method]
    statuses = path[: rng.randint(1, len(path))]
    if rng.random() < 0.18:
        branch_points = [status for status in statuses if status in _JUNCTION_BRANCHES]
        if branch_points:
            point = branch_points[-1]
            statuses = statuses[: statuses.index(point) + 1]
            statuses.append(rng.choice(_JUNCTION_BRANCHES[point]))
    return statuses


def _junction_orders(
    rng: random.Random, now: datetime, team_id: str, users: list[JsonDict]
) -> list[JsonDict]:
    orders: list[JsonDict] = []
    event_id = rng.randint(10_000, 20_000)
    for index in range(JUNCTION_ORDER_COUNT):
        created = now - timedelta(seconds=int(rng.uniform(600, HISTORY_DAYS * 86400)))
        method = "walk_in_test" if rng.random() < 0.15 else "testkit"
        events: list[JsonDict] = []
        moment = created
        for position, low_level in enumerate(_junction_statuses(rng, method)):
            if position:
                moment = moment + timedelta(seconds=int(rng.uniform(2 * 3600, 3 * 86400)))
                if moment > now:
                    break
            event_id += 1
            event: JsonDict = {
                "id": event_id,
                "created_at": iso_z(moment),
                "status": junction_status(method, low_level),
            }
            if low_level == "sample_error":
                event["status_detail"] = "sample_quantity_not_sufficient"
            events.append(event)
        user = users[index % len(users)]
        person = _person(rng, index)
        address = _address(rng, "US")
        slug, name, sample_type = rng.choice(people.LAB_TESTS)
        order_id = make_uuid(rng)
        orders.append(
            {
                "id": order_id,
                "team_id": team_id,
                "user_id": user["user_id"],
                "created_at": iso_z(created),
                "updated_at": events[-1]["created_at"],
                "patient_details": {
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "dob": f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-"
                    f"{rng.randint(1, 28):02d}T00:00:00Z",
                    "gender": rng.choice(["female", "male", "other"]),
                    "email": person.email,
                    "phone_number": person.phone,
                },
                "patient_address": {
                    "receiver_name": f"{person.first_name} {person.last_name}",
                    "first_line": address["line1"],
                    "second_line": "",
                    "city": address["city"],
                    "state": address["state_code"],
                    "zip": address["zip"],
                    "country": "US",
                    "phone_number": person.phone,
                },
                "lab_test": {
                    "id": make_uuid(rng),
                    "slug": slug,
                    "name": name,
                    "sample_type": sample_type,
                    "method": method,
                    "status": "active",
                    "fasting": False,
                },
                "details": {"type": method, "data": {"id": make_uuid(rng)}},
                "sample_id": str(rng.randint(10**9, 10**10 - 1)),
                "notes": None,
                "events": events,
                "last_event": events[-1],
                "status": events[-1]["status"].split(".")[0],
                "origin": "initial",
                "priority": False,
                "activate_by": None,
                "passthrough": None,
                "billing_type": "client_bill",
                "icd_codes": [],
                "has_abn": False,
            }
        )
    return orders


# --- Chargebee ------------------------------------------------------------------------------


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    names = [name for name, _ in table]
    weights = [weight for _, weight in table]
    return rng.choices(names, weights=weights, k=1)[0]


def _cb_status(rng: random.Random, age_days: float) -> str:
    if rng.random() < 0.05:
        return "cancelled"
    if age_days < 3:
        return rng.choice(["queued", "queued", "awaiting_shipment"])
    if age_days < 10:
        return rng.choice(["awaiting_shipment", "shipped", "shipped", "on_hold"])
    return rng.choices(["shipped", "delivered", "on_hold"], weights=[25, 70, 5], k=1)[0]


def _cb_line(
    rng: random.Random, invoice_id: str, status: str, quantity: int | None = None
) -> JsonDict:
    sku, description, unit_price = rng.choice(people.PRODUCTS)
    qty = quantity if quantity is not None else rng.randint(1, 5)
    return cb_line_item(make_id(rng, "li_"), invoice_id, sku, description, unit_price, qty, status)


def cb_line_item(
    line_id: str,
    invoice_id: str,
    sku: str,
    description: str,
    unit_price: int,
    quantity: int,
    status: str,
) -> JsonDict:
    amount = unit_price * quantity
    return {
        "id": line_id,
        "invoice_id": invoice_id,
        "invoice_line_item_id": line_id.replace("li_", "inli_", 1),
        "unit_price": unit_price,
        "description": description,
        "amount": amount,
        "fulfillment_quantity": quantity,
        "fulfillment_amount": amount,
        "tax_amount": 0,
        "amount_paid": amount,
        "amount_adjusted": 0,
        "refundable_credits_issued": 0,
        "refundable_credits": amount,
        "is_shippable": True,
        "sku": sku,
        "status": status,
        "entity_type": "plan_item_price",
        "entity_id": sku.lower().replace("sku-", "").replace("_", "-"),
        "discount_amount": 0,
        "item_level_discount_amount": 0,
        "object": "order_line_item",
    }


def cb_totals(order: JsonDict) -> None:
    total = sum(int(line["amount"]) for line in order["order_line_items"])
    order["sub_total"] = total
    order["total"] = total
    order["amount_paid"] = 0 if order.get("is_resent") else total


def chargebee_backlog(rng: random.Random, now: datetime, count: int, first: int) -> list[JsonDict]:
    """`count` shipped orders with no resend yet, numbered from `first`: a large merchant's
    backlog for a bulk replay (benchmarks)."""
    orders = []
    for number in range(first, first + count):
        order = _chargebee_order(rng, now, number)
        order["status"] = "shipped"
        order["fulfillment_status"] = "Shipped"
        for line in order["order_line_items"]:
            line["status"] = "shipped"
        orders.append(order)
    return orders


def _chargebee_order(rng: random.Random, now: datetime, number: int) -> JsonDict:
    created = now - timedelta(seconds=int(rng.uniform(3600, HISTORY_DAYS * 86400)))
    age_days = (now - created).total_seconds() / 86400
    status = _cb_status(rng, age_days)
    country = _weighted(rng, _CB_COUNTRIES)
    person = _person(rng, number)
    invoice_id = make_id(rng, "inv_", 10)
    line_status = "cancelled" if status == "cancelled" else status
    lines = [_cb_line(rng, invoice_id, line_status) for _ in range(rng.randint(1, 4))]
    updated = _between(rng, created, min(now, created + timedelta(days=12)))
    shipping_date = created + timedelta(days=rng.randint(1, 3))
    customer_id = make_id(rng, "cust_", 12)
    address = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": person.phone,
        **_address(rng, country),
        "validation_status": "not_validated",
        "object": "shipping_address",
    }
    order: JsonDict = {
        "id": make_id(rng, "ord_"),
        "document_number": str(10_000 + number),
        "invoice_id": invoice_id,
        "subscription_id": make_id(rng, "sub_", 12),
        "customer_id": customer_id,
        "status": status,
        "order_type": "system_generated",
        "price_type": "tax_exclusive",
        "payment_status": "paid",
        "reference_id": f"REF-{number:05d}",
        "fulfillment_status": status.replace("_", " ").title(),
        "order_date": unix(created),
        "shipping_date": unix(shipping_date),
        "status_update_at": unix(updated),
        "created_at": unix(created),
        "updated_at": unix(updated),
        "resource_version": unix(updated) * 1000,
        "deleted": False,
        "object": "order",
        "currency_code": "EUR" if country in {"DE", "FR", "NL", "IT"} else "USD",
        "is_resent": False,
        "shipping_address": address,
        "billing_address": {
            k: v for k, v in address.items() if k not in {"object", "validation_status"}
        }
        | {"object": "billing_address"},
        "order_line_items": lines,
        "resent_orders": [],
    }
    if status in {"shipped", "delivered"}:
        order["tracking_id"] = f"1Z{rng.randint(10**13, 10**14 - 1)}"
        order["shipped_at"] = unix(shipping_date)
    if status == "delivered":
        order["delivered_at"] = unix(min(now, shipping_date + timedelta(days=rng.randint(2, 6))))
    if status == "cancelled":
        order["cancellation_reason"] = rng.choice(_CB_CANCEL_REASONS)
        order["cancelled_at"] = unix(updated)
    cb_totals(order)
    return order


def cb_make_resend(
    rng: random.Random,
    original: JsonDict,
    new_id: str,
    lines: list[tuple[JsonDict, int]],
    reason: str | None,
    at: int,
    shipping_date: int,
    document_number: str,
) -> JsonDict:
    """A resend order for ``original`` with ``(original line, quantity)`` pairs."""
    order: JsonDict = {
        key: copy.deepcopy(value)
        for key, value in original.items()
        if key
        not in {
            "resent_orders",
            "resent_status",
            "cancellation_reason",
            "cancelled_at",
            "tracking_id",
            "shipped_at",
            "delivered_at",
        }
    }
    order.update(
        {
            "id": new_id,
            "document_number": document_number,
            "status": "queued",
            "fulfillment_status": "Queued",
            "order_type": "manual",
            "is_resent": True,
            "original_order_id": original["id"],
            "order_date": at,
            "shipping_date": shipping_date,
            "status_update_at": at,
            "created_at": at,
            "updated_at": at,
            "resource_version": at * 1000,
            "resent_orders": [],
            "order_line_items": [
                cb_line_item(
                    make_id(rng, "li_"),
                    str(line["invoice_id"]),
                    str(line["sku"]),
                    str(line["description"]),
                    int(line["unit_price"]),
                    quantity,
                    "queued",
                )
                for line, quantity in lines
            ],
        }
    )
    if reason is not None:
        order["resend_reason"] = reason
    cb_totals(order)
    return order


def cb_record_resend(original: JsonDict, resend: JsonDict, full: bool, at: int) -> None:
    """Update the original after a resend: link it, mark it, cancel it when full."""
    link: JsonDict = {"order_id": resend["id"]}
    if resend.get("resend_reason") is not None:
        link["reason"] = resend["resend_reason"]
    original.setdefault("resent_orders", []).append(link)
    original["updated_at"] = max(int(original["updated_at"]), at)
    original["resource_version"] = int(original["updated_at"]) * 1000
    if full:
        original["status"] = "cancelled"
        original["fulfillment_status"] = "Cancelled"
        original["cancellation_reason"] = "order_resent"
        original["cancelled_at"] = at
        original["status_update_at"] = at
        original["resent_status"] = "fully_resent"
        for line in original["order_line_items"]:
            line["status"] = "cancelled"
    else:
        original["resent_status"] = "partially_resent"


def _chargebee_orders(rng: random.Random, now: datetime) -> list[JsonDict]:
    base = [_chargebee_order(rng, now, number) for number in range(CHARGEBEE_BASE_ORDER_COUNT)]
    candidates = [
        order
        for order in base
        if order["status"] in {"shipped", "delivered"}
        and now.timestamp() - order["created_at"] > 10 * 86400
    ]
    rng.shuffle(candidates)
    # Three orders at the cap of 5, three one away from it, the rest with 1-3 resends.
    plan = [5, 5, 5, 4, 4, 4] + [rng.choice([1, 1, 1, 2, 2, 3]) for _ in range(34)]
    resends: list[JsonDict] = []
    document = 50_000
    for original, count in zip(candidates, plan, strict=False):
        ends_full = count < 4 and rng.random() < 0.25
        moment = int(original["shipped_at"]) + 86400
        for index in range(count):
            moment = min(int(now.timestamp()) - 60, moment + rng.randint(86400, 5 * 86400))
            full = ends_full and index == count - 1
            originals = original["order_line_items"]
            if full:
                lines = [(line, int(line["fulfillment_quantity"])) for line in originals]
            else:
                picked = rng.sample(originals, rng.randint(1, len(originals)))
                lines = [
                    (line, rng.randint(1, int(line["fulfillment_quantity"]))) for line in picked
                ]
            document += 1
            resend = cb_make_resend(
                rng,
                original,
                make_id(rng, "ord_"),
                lines,
                rng.choice(DEFAULT_REASON_CODES),
                moment,
                moment + 86400,
                str(document),
            )
            age = now.timestamp() - moment
            resend["status"] = "delivered" if age > 7 * 86400 else "queued"
            resend["fulfillment_status"] = resend["status"].title()
            for line in resend["order_line_items"]:
                line["status"] = resend["status"]
            cb_record_resend(original, resend, full, moment)
            resends.append(resend)
    return base + resends


# --- Return Helper --------------------------------------------------------------------------


def _rh_time(moment: datetime) -> str:
    return iso_z(moment)


def _rh_inventory(
    rng: random.Random,
    now: datetime,
    inventory_id: int,
    warehouse_id: int,
    category: str,
    order: JsonDict | None,
    shipment_id: int,
) -> JsonDict:
    created = now - timedelta(seconds=int(rng.uniform(3600, 90 * 86400)))
    modified = _between(rng, created, now)
    if order is not None:
        line = rng.choice(order["order_line_items"])
        sku, description = str(line["sku"]), str(line["description"])
        quantity = rng.randint(1, int(line["fulfillment_quantity"]))
        value = int(line["unit_price"]) / 100
    else:
        sku, description, cents = rng.choice(people.PRODUCTS)
        quantity, value = rng.randint(1, 3), cents / 100
    handling = {"tbc": "tbc", "dis": "dis", "rsd": "rsd"}.get(category, "ohd")
    handling_status = {"dis": rng.choice([1, 2]), "rsd": 2}.get(category, 0)
    prefix = rng.choice(["TWN", "HKG", "CHN"])
    rma = (
        f"{prefix}-{rng.randint(10, 40)}-{created:%y%m%d}-D{rng.randint(10000, 99999)}"
        f"-{rng.randint(10, 99)}"
    )
    return {
        "returnInventoryId": inventory_id,
        "warehouseId": warehouse_id,
        "apiId": 7,
        "description": description,
        "quantity": quantity,
        "dimension1": float(rng.randint(10, 40)),
        "dimension2": float(rng.randint(8, 30)),
        "dimension3": float(rng.randint(2, 15)),
        "dimensionUom": "cm",
        "weight": rng.randint(80, 2500),
        "weightUom": "g",
        "valueCurrencyCode": "USD" if warehouse_id == 11 else "EUR",
        "value": round(value, 2),
        "handlingCode": handling,
        "handlingStatusCode": handling_status,
        "completeOn": _rh_time(modified) if handling_status == 2 else None,
        "warehouseRemarks": rng.choice([None, None, "Outer box damaged", "Tags attached"]),
        "handlingUpdatedOn": _rh_time(modified),
        "sku": sku,
        "rma": rma,
        "modifyOn": _rh_time(modified),
        "createOn": _rh_time(created),
        "imageList": [
            {
                "imageUrl": f"https://images.sandbox.invalid/rinv/{inventory_id}/1.jpg",
                "imageKey": f"rinv/{inventory_id}/1.jpg",
            }
        ],
        "returnInventoryMetaList": [],
        # Sandbox-only fields (not in Return Helper's payloads).
        "inStock": category not in {"not_in_stock", "dis", "rsd"},
        "pendingVas": category == "pending_vas",
        "orderRef": order["id"] if order is not None else None,
        "shipmentId": shipment_id,
    }


def _returnhelper(
    rng: random.Random, now: datetime, chargebee_orders: list[JsonDict]
) -> tuple[list[JsonDict], list[JsonDict], list[JsonDict]]:
    categories = [name for name, count in _RH_CATEGORIES for _ in range(count)]
    rng.shuffle(categories)
    linkable = {
        11: [
            o
            for o in chargebee_orders
            if o["status"] in {"shipped", "delivered"}
            and o["shipping_address"]["country"] in _US_REGION
        ],
        22: [
            o
            for o in chargebee_orders
            if o["status"] in {"shipped", "delivered"}
            and o["shipping_address"]["country"] not in _US_REGION
        ],
    }
    seen: dict[str, int] = {}
    inventories: list[JsonDict] = []
    shipments: list[JsonDict] = []
    inventory_id = 19_973
    for index, category in enumerate(categories):
        # 3 of every 5 inventories of a category go to the US warehouse: both hold every kind.
        position = seen.get(category, 0)
        seen[category] = position + 1
        warehouse_id = 11 if position % 5 in (0, 2, 4) else 22
        order = rng.choice(linkable[warehouse_id]) if rng.random() < 0.65 else None
        shipment_id = 880_000 + index
        inventory = _rh_inventory(
            rng, now, inventory_id, warehouse_id, category, order, shipment_id
        )
        inventories.append(inventory)
        shipments.append(
            {
                "shipmentId": shipment_id,
                "returnRequestId": 55_000 + index,
                "trackingNumber": f"TRK{rng.randint(10**9, 10**10 - 1)}",
                "referenceNumber": order["id"] if order is not None else f"RR-{55_000 + index}",
                "serviceType": "SHIPMENT_USPS_RETURN"
                if warehouse_id == 11
                else "SHIPMENT_DHL_RETURN",
                "customFieldMap": {},
                "shipToWarehouse": reference.WAREHOUSES[0 if warehouse_id == 11 else 1][
                    "warehouseCode"
                ],
                "shipToWarehouseId": warehouse_id,
                "receiveDate": inventory["createOn"],
            }
        )
        inventory_id += rng.randint(1, 7)
    resends = _rh_existing_resends(rng, now, inventories, chargebee_orders)
    return inventories, shipments, resends


def _rh_existing_resends(
    rng: random.Random, now: datetime, inventories: list[JsonDict], orders: list[JsonDict]
) -> list[JsonDict]:
    """Past resends (completed or in progress) holding the inventories already in 'rsd'."""
    by_id = {order["id"]: order for order in orders}
    resends: list[JsonDict] = []
    for number, inventory in enumerate(i for i in inventories if i["handlingCode"] == "rsd"):
        resend_id = 4_000 + number
        order = by_id.get(inventory["orderRef"] or "")
        person = _person(rng, 900 + number)
        country = (
            order["shipping_address"]["country"]
            if order
            else ("US" if inventory["warehouseId"] == 11 else "DE")
        )
        address = order["shipping_address"] if order else _address(rng, country)
        name = (
            f"{address['first_name']} {address['last_name']}"
            if order
            else f"{person.first_name} {person.last_name}"
        )
        status = 3 if number % 4 else 2
        inventory["handlingStatusCode"] = 2 if status == 3 else 1
        created = now - timedelta(days=rng.randint(2, 40))
        service = (
            "SHIPMENT_USPS_GA_SIG_NJ"
            if inventory["warehouseId"] == 11
            else "SHIPMENT_DHL_PAKET_FRA"
        )
        resends.append(
            {
                "resendId": resend_id,
                "apiId": 7,
                "resendNumber": f"RS-{resend_id:06d}",
                "resendStatusCode": status,
                "warehouseId": inventory["warehouseId"],
                "description": "Resend to customer",
                "remarks": None,
                "warehouseRemarks": None,
                "sellerReferenceNumber": inventory["orderRef"],
                "createOn": _rh_time(created),
                "modifyOn": _rh_time(created + timedelta(days=1)),
                "returnRequestLineItemId": None,
                "returnRequestLineItemNumber": None,
                "returnInventoryIdList": [inventory["returnInventoryId"]],
                "resendShipmentList": [
                    {
                        "resendShipmentId": 7_000 + number,
                        "resendId": resend_id,
                        "warehouseId": inventory["warehouseId"],
                        "resendShipmentNumber": f"RSS-{7_000 + number:06d}",
                        "shipmentServiceType": service,
                        "shipmentCountryCode": reference.ISO2_TO_ISO3.get(country, "usa"),
                        "shipmentName": name,
                        "shipmentStreet1": address["line1"],
                        "shipmentStreet2": "",
                        "shipmentStreet3": "",
                        "shipmentCity": address["city"],
                        "shipmentState": address["state_code"],
                        "shipmentPostalCode": address["zip"],
                        "shipmentPhone": person.phone,
                        "shipmentFax": "",
                        "shipmentEmail": person.email,
                        "trackingNumber": f"9400{rng.randint(10**17, 10**18 - 1)}"
                        if status == 3
                        else None,
                        "costCurrencyCode": inventory["valueCurrencyCode"],
                        "cost": round(rng.uniform(4, 15), 2),
                        "chargeTypeCode": "resend",
                        "chargeableWeight": inventory["weight"],
                        "shipmentLabelId": 30_000 + number if status == 3 else None,
                        "error": None,
                    }
                ],
                "idempotencyKey": None,
            }
        )
    return resends
