"""Every provider rule, in one place. The preview staff see and the task about to call both use
these functions, so a rule changes here and nowhere else. Each refusal is a sentence an agent can
read to a customer-facing colleague."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Q

from .countries import iso3
from .inputs import parse_id
from .models import LineItem, Order, ReturnInventory

T = TypeVar("T")

# --- Junction -------------------------------------------------------------------------------
JUNCTION_MAX_WINDOW = timedelta(days=60)
JUNCTION_ORDER_IDS_PER_REQUEST = 100

# --- Chargebee ------------------------------------------------------------------------------
CHARGEBEE_MAX_RESENDS_PER_ORDER = 5
# Written so that Python and both databases read it the same way (for set-based previews).
CHARGEBEE_ORDER_ID_PATTERN = r"^[-A-Za-z0-9_]{1,40}$"
CHARGEBEE_ORDER_ID = re.compile(CHARGEBEE_ORDER_ID_PATTERN)
CHARGEBEE_UNRESENDABLE_STATUSES = frozenset({"cancelled", "voided"})
CHARGEBEE_REASON_MAX_LENGTH = 100

# --- Return Helper ----------------------------------------------------------------------------
RETURNHELPER_ELIGIBLE_HANDLING = "ohd"
RETURNHELPER_FIELD_LIMITS = {
    "shipmentName": 255,
    "shipmentStreet1": 255,
    "shipmentStreet2": 255,
    "shipmentStreet3": 255,
    "shipmentCity": 50,
    "shipmentState": 50,
    "shipmentPostalCode": 50,
    "shipmentPhone": 50,
    "shipmentEmail": 255,
}
RETURNHELPER_REQUIRED_FIELDS = ("shipmentName", "shipmentStreet1", "shipmentCity")
ISO3 = re.compile(r"^[a-z]{3}$")

# How long a succeeded resend of the same thing counts as "already done" for a second submit.
DUPLICATE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Problem:
    """A reason something cannot be resent as asked. `subject` says what it is about;
    `category`, where there is one, is the bulk preview's SKIP_* line it is counted under."""

    subject: str
    message: str
    blocking: bool = True
    category: str = field(default="", compare=False)


class RuleViolation(Exception):
    """The rules refuse: raised by the services with the problems that block."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


def blocking(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.blocking]


def returnhelper_group_max() -> int:
    return int(settings.RETURNHELPER["group_max"])


def chargebee_reason_codes() -> list[str]:
    return list(settings.CHARGEBEE["reason_codes"])


def chargebee_reason_mandatory() -> bool:
    return bool(settings.CHARGEBEE["reason_mandatory"])


# --- Junction -------------------------------------------------------------------------------
def junction_parse_order_ids(raw: Iterable[str]) -> tuple[list[str], list[Problem]]:
    """Valid, de-duplicated UUIDs in the order given, and a problem for each bad or repeated one."""
    seen: set[str] = set()
    ids: list[str] = []
    problems: list[Problem] = []
    for item in raw:
        text = item.strip()
        if not text:
            continue
        try:
            value = str(uuid.UUID(text))
        except ValueError:
            problems.append(Problem(text, f"“{text}” is not a Junction order id (a UUID)."))
            continue
        if value in seen:
            problems.append(Problem(text, f"{value} is listed twice; it will be sent once.", False))
            continue
        seen.add(value)
        ids.append(value)
    if not ids and not problems:
        problems.append(Problem("order_ids", "Pick at least one order."))
    return ids, problems


def junction_check_window(
    start: datetime | None, end: datetime | None, now: datetime
) -> list[Problem]:
    if start is None:
        return [Problem("window", "A window needs a start.")]
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        return [Problem("window", "Times must carry a timezone.")]
    end = end or now
    if end <= start:
        return [Problem("window", "The end must be after the start.")]
    if start > now:
        return [Problem("window", "The window starts in the future; nothing can be replayed yet.")]
    problems = []
    if end - start > JUNCTION_MAX_WINDOW:
        pieces = len(split_window(start, end))
        problems.append(
            Problem(
                "window",
                f"Junction accepts at most 60 days per request, so this window is sent as "
                f"{pieces} requests.",
                blocking=False,
            )
        )
    return problems


def split_window(
    start: datetime, end: datetime, span: timedelta = JUNCTION_MAX_WINDOW
) -> list[tuple[datetime, datetime]]:
    """Consecutive pieces of at most `span`, covering [start, end] exactly."""
    pieces = []
    cursor = start
    while cursor < end:
        piece_end = min(cursor + span, end)
        pieces.append((cursor, piece_end))
        cursor = piece_end
    return pieces


def junction_batch_size() -> int:
    """Order ids per resend_events request (JUNCTION_BATCH_SIZE, checked at start-up to be at
    most JUNCTION_ORDER_IDS_PER_REQUEST)."""
    return settings.JUNCTION["batch_size"]


def junction_batches(order_ids: Sequence[str], size: int | None = None) -> list[list[str]]:
    return _chunks(order_ids, size or junction_batch_size())


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


# --- Chargebee ------------------------------------------------------------------------------
def chargebee_order_problems(order: Order, *, in_flight: int) -> list[Problem]:
    """Whether this order can take one more resend at all."""
    subject, problems = order.external_id, []
    if not CHARGEBEE_ORDER_ID.match(order.external_id):
        message = "This order id cannot be sent to Chargebee."
        problems.append(Problem(subject, message, category=SKIP_NOT_RESENDABLE))
    if order.status in CHARGEBEE_UNRESENDABLE_STATUSES:
        message = f"The order is {order.status}, so it cannot be resent."
        problems.append(Problem(subject, message, category=SKIP_NOT_RESENDABLE))
    if order.resent_status == "fully_resent":
        message = "The order was already resent in full (which cancelled it)."
        problems.append(Problem(subject, message, category=SKIP_NOT_RESENDABLE))
    used = order.resend_count + in_flight
    if used >= CHARGEBEE_MAX_RESENDS_PER_ORDER:
        detail = f" ({in_flight} still in progress)" if in_flight else ""
        message = (
            f"This order already has {used} of the {CHARGEBEE_MAX_RESENDS_PER_ORDER} resends "
            f"Chargebee allows{detail}."
        )
        problems.append(Problem(subject, message, category=SKIP_CAP_USED))
    return problems


def bulk_criteria_problems(kind: str, criteria: Mapping[str, Any]) -> list[Problem]:
    """A bulk job's stored filter must be narrow enough that it cannot sweep everything: a
    window has a start, a Return Helper job one warehouse and a received-from time, an order
    job a start or a status. Subjects are the criteria's names (the form's fields)."""
    from .models.bulk import BulkKind

    if kind == BulkKind.JUNCTION_WINDOW:
        return [] if criteria.get("start_at") else [Problem("start_at", "A window needs a start.")]
    if kind == BulkKind.RETURNHELPER_INVENTORIES:
        problems = []
        if not criteria.get("warehouse_id"):
            problems.append(Problem("warehouse_id", "Pick the warehouse: a resend ships from one."))
        if not criteria.get("created_from"):
            problems.append(Problem("created_from", "Narrow the items: give a received-from time."))
        return problems
    if criteria.get("updated_from") or criteria.get("status"):
        return []
    return [Problem("updated_from", "Narrow the orders: give at least a start or a status.")]


# Why a bulk job leaves an order out (a category, counted in the preview).
SKIP_CAP_USED = f"all {CHARGEBEE_MAX_RESENDS_PER_ORDER} resends used"
SKIP_NOT_RESENDABLE = "cancelled, voided or already resent in full"
SKIP_RECENT = f"resent in the last {DUPLICATE_WINDOW.seconds // 60} minutes or still in progress"
SKIP_PENDING_ELSEWHERE = "pending in another bulk job"


def chargebee_bulk_skip(order: Order, *, in_flight: int) -> str:
    """The category of the first reason this order cannot take a resend, or "" when it can."""
    return _first_category(chargebee_order_problems(order, in_flight=in_flight))


def _first_category(problems: Sequence[Problem]) -> str:
    return problems[0].category if problems else ""


def chargebee_bulk_skip_filters() -> list[tuple[str, Q]]:
    """chargebee_bulk_skip as database filters, in the same order, for counting many orders at
    once (orders with resends in flight are classified one by one, with chargebee_bulk_skip)."""
    not_resendable = (
        Q(status__in=CHARGEBEE_UNRESENDABLE_STATUSES)
        | Q(resent_status="fully_resent")
        | ~Q(external_id__regex=CHARGEBEE_ORDER_ID_PATTERN)
    )
    capped = Q(resend_count__gte=CHARGEBEE_MAX_RESENDS_PER_ORDER)
    return [(SKIP_NOT_RESENDABLE, not_resendable), (SKIP_CAP_USED, ~not_resendable & capped)]


def chargebee_line_problems(order: Order, lines: Sequence[tuple[LineItem, int]]) -> list[Problem]:
    problems = []
    for line, quantity in lines:
        if line.order_id != order.pk:
            problems.append(Problem(line.external_id, "This line belongs to another order."))
        elif quantity < 1:
            problems.append(
                Problem(line.external_id, "Resend at least 1 of this line, or untick it.")
            )
        elif quantity > line.quantity:
            problems.append(
                Problem(
                    line.external_id,
                    f"At most {line.quantity} can be resent: that is the quantity on the order.",
                )
            )
    return problems


def chargebee_reason_problems(reason: str) -> list[Problem]:
    if not reason:
        if chargebee_reason_mandatory():
            return [Problem("reason", "Chargebee requires a reason code for resends on this site.")]
        return []
    if len(reason) > CHARGEBEE_REASON_MAX_LENGTH:
        return [Problem("reason", "The reason code is longer than 100 characters.")]
    if reason not in chargebee_reason_codes():
        return [Problem("reason", f"“{reason}” is not one of the configured reason codes.")]
    return []


def chargebee_shipping_date_problems(shipping_date: date | None, today: date) -> list[Problem]:
    if shipping_date is not None and shipping_date < today:
        return [
            Problem(
                "shipping_date",
                "The shipping date cannot be in the past (Chargebee counts days in UTC, where "
                f"today is {today:%Y-%m-%d}).",
            )
        ]
    return []


# --- Return Helper --------------------------------------------------------------------------
def returnhelper_inventory_problems(inventory: ReturnInventory) -> list[Problem]:
    """Why this one item cannot go into a resend (empty when it can)."""
    subject = inventory.external_id
    problems = []
    if inventory.handling_code != RETURNHELPER_ELIGIBLE_HANDLING:
        message = (
            f"Handling is “{inventory.handling_code}”; only items on hold (ohd) can be resent."
        )
        problems.append(Problem(subject, message, category=SKIP_RH_NOT_ON_HOLD))
    if not inventory.in_stock:
        message = "Not physically in stock at the warehouse."
        problems.append(Problem(subject, message, category=SKIP_RH_NOT_IN_STOCK))
    if inventory.pending_vas:
        message = "A value-added service is still pending on this item."
        problems.append(Problem(subject, message, category=SKIP_RH_PENDING_VAS))
    return problems


def returnhelper_group_problems(inventories: Sequence[ReturnInventory]) -> list[Problem]:
    problems = []
    if not inventories:
        problems.append(Problem("inventories", "Pick at least one item."))
    limit = returnhelper_group_max()
    if len(inventories) > limit:
        problems.append(
            Problem(
                "inventories",
                f"At most {limit} items fit in one resend; {len(inventories)} picked.",
            )
        )
    warehouses = {inv.warehouse_id for inv in inventories}
    if len(warehouses) > 1:
        problems.append(
            Problem(
                "inventories",
                "All items must be in the same warehouse (picked: "
                + ", ".join(sorted(warehouses))
                + ").",
            )
        )
    for inventory in inventories:
        if parse_id(inventory.external_id) is None:  # createResend takes item ids as numbers
            message = "Return Helper knows items by number; this item's id is not one."
            problems.append(Problem(inventory.external_id, message))
        problems.extend(returnhelper_inventory_problems(inventory))
    return problems


RETURNHELPER_CANCELLABLE_STATUSES = ("", "pending")


def returnhelper_cancel_problems(provider_status: str) -> list[Problem]:
    """Return Helper cancels a resend only before the warehouse starts on it."""
    if provider_status in RETURNHELPER_CANCELLABLE_STATUSES:
        return []
    return [
        Problem(
            "cancel",
            f"The resend is already {provider_status}; Return Helper cancels only while it is "
            "pending. Contact Return Helper support.",
        )
    ]


def returnhelper_address_problems(
    shipment: dict[str, str],
    *,
    countries: Iterable[str] | None,
    service_types: Iterable[str] | None,
) -> list[Problem]:
    """`countries`: known ISO3 codes; `service_types`: codes valid for this warehouse and country.
    None means the list could not be loaded, which blocks (we do not guess)."""
    problems = []
    for name in RETURNHELPER_REQUIRED_FIELDS:
        if not shipment.get(name, "").strip():
            problems.append(Problem(name, f"{_label(name)} is required."))
    for name, limit in RETURNHELPER_FIELD_LIMITS.items():
        if len(shipment.get(name, "")) > limit:
            problems.append(Problem(name, f"{_label(name)} is longer than {limit} characters."))
    country = shipment.get("shipmentCountryCode", "")
    if not ISO3.match(country):
        problems.append(
            Problem("shipmentCountryCode", "Pick the destination country (ISO3, e.g. usa).")
        )
    elif countries is None:
        problems.append(
            Problem("shipmentCountryCode", "The country list could not be loaded; try again.")
        )
    elif country not in set(countries):
        problems.append(
            Problem("shipmentCountryCode", f"Return Helper does not ship to “{country}”.")
        )
    service = shipment.get("shipmentServiceType", "")
    if not service:
        problems.append(Problem("shipmentServiceType", "Pick a service type."))
    elif service_types is None:
        problems.append(
            Problem("shipmentServiceType", "Service types could not be loaded; try again.")
        )
    elif service not in set(service_types):
        problems.append(
            Problem(
                "shipmentServiceType",
                f"“{service}” is not offered from this warehouse to {country or 'that country'}.",
            )
        )
    return problems


def returnhelper_destination(
    address: Mapping[str, Any] | None, *, name: str = "", email: str = ""
) -> dict[str, str]:
    """Where a resend of a customer's returned items goes: the shipping address of their order
    (Chargebee's shape), with the order's customer name and email when the address has none."""
    address = address or {}
    full_name = " ".join(str(p) for p in (address.get("first_name"), address.get("last_name")) if p)
    return {
        "shipmentName": full_name or name,
        "shipmentStreet1": str(address.get("line1") or ""),
        "shipmentStreet2": str(address.get("line2") or ""),
        "shipmentCity": str(address.get("city") or ""),
        "shipmentState": str(address.get("state") or ""),
        "shipmentPostalCode": str(address.get("zip") or ""),
        "shipmentPhone": str(address.get("phone") or ""),
        "shipmentEmail": str(address.get("email") or "") or email,
        "shipmentCountryCode": iso3(str(address.get("country") or "")),
    }


def returnhelper_order_destination(order: Order | None) -> dict[str, str]:
    """The destination the Return Helper form prefills (and a bulk job uses) for this order."""
    if order is None:
        return {}
    return returnhelper_destination(
        order.raw.get("shipping_address"), name=order.customer_name, email=order.customer_email
    )


# Why a Return Helper bulk job leaves an item out (besides SKIP_RECENT / SKIP_PENDING_ELSEWHERE).
SKIP_RH_NOT_ON_HOLD = "not on hold (handling is not ohd), e.g. already resent"
SKIP_RH_NOT_IN_STOCK = "not physically in stock"
SKIP_RH_PENDING_VAS = "a value-added service is pending"
SKIP_RH_NO_ADDRESS = "no usable address (no linked order, or its shipping address is incomplete)"
SKIP_RH_SERVICE_NOT_OFFERED = "the service type is not offered to the customer's country"


def returnhelper_bulk_skip(inventory: ReturnInventory) -> str:
    """The category of the first reason returnhelper_inventory_problems gives, or "" if none."""
    return _first_category(returnhelper_inventory_problems(inventory))


def returnhelper_bulk_skip_filters() -> list[tuple[str, Q]]:
    """returnhelper_bulk_skip as database filters, in the same order, to count many at once."""
    not_on_hold = ~Q(handling_code=RETURNHELPER_ELIGIBLE_HANDLING)
    not_in_stock = Q(in_stock=False)
    return [
        (SKIP_RH_NOT_ON_HOLD, not_on_hold),
        (SKIP_RH_NOT_IN_STOCK, ~not_on_hold & not_in_stock),
        (SKIP_RH_PENDING_VAS, ~not_on_hold & ~not_in_stock & Q(pending_vas=True)),
    ]


def returnhelper_destination_skip(
    shipment: dict[str, str], *, countries: Iterable[str], service_types: Iterable[str]
) -> str:
    """For a bulk job: "" when returnhelper_address_problems has nothing blocking for this
    destination, else the skip category (a missing service route or an unusable address)."""
    problems = blocking(
        returnhelper_address_problems(shipment, countries=countries, service_types=service_types)
    )
    if not problems:
        return ""
    if all(p.subject == "shipmentServiceType" for p in problems):
        return SKIP_RH_SERVICE_NOT_OFFERED
    return SKIP_RH_NO_ADDRESS


def returnhelper_bulk_service_problems(
    service_type: str, warehouse_id: str, offered: Iterable[str] | None
) -> list[Problem]:
    """A bulk job ships every resend with one service type: it must be one the warehouse offers
    (each destination country is then checked per customer by returnhelper_address_problems)."""
    if not service_type:
        return [Problem("service_type", "Pick a service type.")]
    if offered is None:
        return [Problem("service_type", "Service types could not be loaded; try again.")]
    if service_type not in set(offered):
        return [
            Problem(
                "service_type", f"“{service_type}” is not offered from warehouse {warehouse_id}."
            )
        ]
    return []


def returnhelper_resends_needed(items: int) -> int:
    """How many resends one customer's `items` take (at most returnhelper_group_max() each)."""
    return -(-items // returnhelper_group_max()) if items > 0 else 0


def returnhelper_split(items: Sequence[T]) -> list[list[T]]:
    """One customer's items (one warehouse, one address) in resends of at most the group max."""
    return _chunks(items, returnhelper_group_max())


def _label(field: str) -> str:
    return field.removeprefix("shipment").replace("1", " line 1").replace("Code", " code").strip()
