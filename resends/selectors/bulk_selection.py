"""What a bulk job would go through: the stored filter's matches, counted with the reason each
order or item is left out, before any job exists (the job's own fan-out runs the same filters).

The preview counts what the stored filter matches in the database (never a list in a form or in
memory) and, for each order or item left out, why: the categories and their filters are in
rules.py. Return Helper items are grouped per customer order (one address per shipment), so their
destinations are checked once per order, on the order's address alone.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .. import rules
from ..accounts import default_account
from ..checks import chargebee_calls_in_flight, inventories_in_progress, orders_in_progress
from ..engine.budget import rate_per_second
from ..models import Order, Provider, ProviderAccount, ReturnInventory, SavedFilter
from ..models.bulk import BulkKind
from ..rules import RuleViolation
from ..times import parse_time
from . import reference

SAMPLES_PER_REASON = 5


@dataclass
class BulkPreview:
    kind: str
    matched: int = 0
    to_send: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    requests: int = 0
    rate_per_second: float = 0.0
    windows: list[tuple[str, str]] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def skip_rows(self) -> list[tuple[str, int, list[str]]]:
        """(reason, count, a few examples), most common first (templates cannot read a Counter)."""
        return [(r, n, self.samples[r]) for r, n in self.skipped.most_common()]

    @property
    def eta_seconds(self) -> float | None:
        return self.requests / self.rate_per_second if self.rate_per_second else None

    def as_json(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "to_send": self.to_send,
            "skipped": dict(self.skipped),
            "samples": dict(self.samples),
            "requests": self.requests,
            "rate_per_second": self.rate_per_second,
            "eta_seconds": self.eta_seconds,
            "windows": self.windows,
        }

    @property
    def nothing_to_send(self) -> str:
        """Why a job of this preview would send nothing ('' when it would send something): a
        job is not made for nothing (bulk_jobs.create_job refuses it; the page offers no
        "Create job")."""
        if self.requests:
            return ""
        if not self.matched:
            return f"Nothing would be sent: no {self.unit} match this filter."
        why = "; ".join(f"{n} {reason}" for reason, n, _ in self.skip_rows)
        left_out = f"all {self.matched} matching {self.unit} are left out"
        return (
            f"Nothing would be sent: {left_out} ({why})."
            if why
            else f"Nothing would be sent: {left_out}."
        )

    @property
    def unit(self) -> str:
        """What the job goes through: return items for Return Helper, orders otherwise."""
        return "items" if self.kind == BulkKind.RETURNHELPER_INVENTORIES else "orders"

    def skip(self, reason: str, subject: str) -> None:
        self.add_skips(reason, 1, [subject])

    def add_skips(self, reason: str, count: int, examples: Iterable[str]) -> None:
        if count <= 0:
            return
        self.skipped[reason] += count
        found = [*self.samples[reason], *examples]
        self.samples[reason] = found[:SAMPLES_PER_REASON]


PROVIDER_OF_KIND: dict[str, str] = {
    BulkKind.JUNCTION_ORDERS: Provider.JUNCTION,
    BulkKind.JUNCTION_WINDOW: Provider.JUNCTION,
    BulkKind.CHARGEBEE_FULL: Provider.CHARGEBEE,
    BulkKind.RETURNHELPER_INVENTORIES: Provider.RETURNHELPER,
}


def provider_of(kind: str) -> str:
    return PROVIDER_OF_KIND[kind]


def account_for(kind: str, code: str | None = None) -> ProviderAccount:
    """The kind's provider account: the one named by `code`, or the provider's default."""
    if not code:
        return default_account(provider_of(kind))
    account = ProviderAccount.objects.filter(code=code, is_active=True).first()
    if account is None or account.provider != provider_of(kind):
        raise RuleViolation(
            [rules.Problem("account", f"No active {provider_of(kind)} account “{code}”.")]
        )
    return account


# --- the stored criteria ---------------------------------------------------------------------
TIME_RANGES = (
    ("created_from", "provider_created_at__gte"),
    ("created_to", "provider_created_at__lt"),
    ("updated_from", "provider_updated_at__gte"),
    ("updated_to", "provider_updated_at__lt"),
)
# The criteria each kind reads (the rest of a stored filter is ignored), and its time range.
CRITERIA_OF_KIND: dict[str, tuple[str, ...]] = {
    BulkKind.JUNCTION_ORDERS: ("status", "updated_from", "updated_to"),
    BulkKind.JUNCTION_WINDOW: ("start_at", "end_at"),
    BulkKind.CHARGEBEE_FULL: ("status", "updated_from", "updated_to"),
    BulkKind.RETURNHELPER_INVENTORIES: ("warehouse_id", "created_from", "created_to", "sku", "rma"),
}
TIME_RANGE_OF_KIND: dict[str, tuple[str, str]] = {
    BulkKind.JUNCTION_ORDERS: ("updated_from", "updated_to"),
    BulkKind.JUNCTION_WINDOW: ("start_at", "end_at"),
    BulkKind.CHARGEBEE_FULL: ("updated_from", "updated_to"),
    BulkKind.RETURNHELPER_INVENTORIES: ("created_from", "created_to"),
}


def _in_time_ranges(rows: QuerySet[Any], criteria: dict[str, Any]) -> QuerySet[Any]:
    for name, lookup in TIME_RANGES:
        if criteria.get(name):
            moment = parse_time(criteria[name])
            if moment is None:
                raise RuleViolation([rules.Problem(name, f"“{criteria[name]}” is not a time.")])
            rows = rows.filter(**{lookup: moment})
    return rows


def matching_orders(account: ProviderAccount, criteria: dict[str, Any]) -> QuerySet[Order]:
    """The orders a stored filter matches: status, created and updated ranges (ISO times)."""
    orders = Order.objects.filter(account=account)
    if criteria.get("status"):
        orders = orders.filter(status=criteria["status"])
    return _in_time_ranges(orders, criteria).order_by("pk")


def matching_inventories(
    account: ProviderAccount, criteria: dict[str, Any]
) -> QuerySet[ReturnInventory]:
    """The return items a stored filter matches: one warehouse (required: a resend ships from
    one), received (created) and updated ranges, and optionally an exact SKU or RMA."""
    warehouse = str(criteria.get("warehouse_id") or "").strip()
    if not warehouse:
        raise RuleViolation(
            [rules.Problem("warehouse_id", "Pick the warehouse: a resend ships from one.")]
        )
    items = ReturnInventory.objects.filter(account=account, warehouse_id=warehouse)
    for name in ("sku", "rma"):
        if criteria.get(name):
            items = items.filter(**{name: str(criteria[name]).strip()})
    return _in_time_ranges(items, criteria).order_by("pk")


def window_of(criteria: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    return parse_time(criteria.get("start_at")), parse_time(criteria.get("end_at"))


# --- preview ----------------------------------------------------------------------------------
def preview(
    kind: str, account: ProviderAccount, criteria: dict[str, Any], *, service_type: str = ""
) -> BulkPreview:
    """`service_type`: the Return Helper shipment service type (other kinds have none)."""
    if problems := rules.bulk_criteria_problems(kind, criteria):
        raise RuleViolation(problems)
    result = BulkPreview(kind=kind, rate_per_second=rate_per_second(account))
    if kind == BulkKind.RETURNHELPER_INVENTORIES:
        items = matching_inventories(account, criteria).order_by()
        routes = returnhelper_routes(account, str(criteria["warehouse_id"]).strip(), service_type)
        result.matched = items.count()
        count_inventories(items, routes=routes, busy=inventories_in_progress(account), into=result)
        return result
    if kind == BulkKind.JUNCTION_WINDOW:
        start, end = window_of(criteria)
        problems = rules.junction_check_window(start, end, timezone.now())
        if rules.blocking(problems):
            raise RuleViolation(rules.blocking(problems))
        assert start is not None
        pieces = rules.split_window(start, end or timezone.now())
        result.windows = [(a.isoformat(), b.isoformat()) for a, b in pieces]
        result.requests = result.to_send = len(pieces)
        return result

    _count_orders(kind, account, criteria, result)
    if kind == BulkKind.JUNCTION_ORDERS:
        result.requests = math.ceil(result.to_send / rules.junction_batch_size())
    else:
        result.requests = result.to_send
    return result


def _count_orders(
    kind: str, account: ProviderAccount, criteria: dict[str, Any], result: BulkPreview
) -> None:
    """Counted in the database, a few queries whatever the number of orders: the rare orders
    with a resend in progress are classified one by one, the rest by rules' filters."""
    orders = matching_orders(account, criteria).order_by()
    result.matched = orders.count()
    busy = orders_in_progress(account)
    if busy:
        for pk, external_id in orders.filter(pk__in=list(busy)).values_list("pk", "external_id"):
            result.skip(busy[pk], external_id)
        orders = orders.exclude(pk__in=list(busy))
    if kind != BulkKind.CHARGEBEE_FULL:
        result.to_send = result.matched - result.skipped_total
        return
    in_flight = chargebee_calls_in_flight(account)
    if in_flight:
        for order in orders.filter(external_id__in=list(in_flight)):
            reason = rules.chargebee_bulk_skip(order, in_flight=in_flight[order.external_id])
            if reason:
                result.skip(reason, order.external_id)
        orders = orders.exclude(external_id__in=list(in_flight))
    _count_filtered(orders, rules.chargebee_bulk_skip_filters(), result)
    result.to_send = result.matched - result.skipped_total


def _count_filtered(rows: QuerySet[Any], filters: list[tuple[str, Q]], result: BulkPreview) -> None:
    """Count each skip category of `filters` (disjoint, from rules.py) in one aggregate."""
    counts = rows.aggregate(
        **{f"skip{i}": Count("pk", filter=q) for i, (_, q) in enumerate(filters)}
    )
    for i, (reason, q) in enumerate(filters):
        if counts[f"skip{i}"]:
            examples = rows.filter(q).order_by("pk").values_list("external_id", flat=True)
            result.add_skips(reason, counts[f"skip{i}"], examples[:SAMPLES_PER_REASON])


# --- Return Helper: destinations and grouping -----------------------------------------------------
class ReferenceUnavailable(RuleViolation):
    """Return Helper's countries or service types cannot be loaded right now (try again)."""


@dataclass
class ReturnHelperRoutes:
    """What Return Helper ships from one warehouse with the job's service type, loaded once per
    preview or fan-out step (the lookups are cached; the per-country answers are kept here)."""

    account: ProviderAccount
    warehouse_id: str
    service_type: str
    countries: list[str]
    _services: dict[str, list[str]] = field(default_factory=dict)

    def services_to(self, country: str) -> list[str]:
        if not country:
            return []
        if country not in self._services:
            found = reference.service_codes(self.account, self.warehouse_id, country)
            if found is None:
                raise ReferenceUnavailable(
                    [rules.Problem("service_type", "Service types could not be loaded; try again.")]
                )
            self._services[country] = found
        return self._services[country]

    def shipment(self, destination: dict[str, str]) -> dict[str, str]:
        return {**destination, "shipmentServiceType": self.service_type}

    def skip_reason(self, shipment: dict[str, str]) -> str:
        return rules.returnhelper_destination_skip(
            shipment,
            countries=self.countries,
            service_types=self.services_to(shipment.get("shipmentCountryCode", "")),
        )


def mirrored_warehouses(account: ProviderAccount) -> list[str]:
    """The warehouses the mirror holds return items in (what a bulk job can pick from)."""
    rows = ReturnInventory.objects.filter(account=account).order_by("warehouse_id")
    return list(rows.values_list("warehouse_id", flat=True).distinct())


def service_type_choices(
    account: ProviderAccount, warehouses: Iterable[str]
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Service types grouped by warehouse (for a select); a warehouse whose list cannot be
    loaded right now is left out (the preview then says so)."""
    grouped = []
    for warehouse in warehouses:
        offered = reference.warehouse_service_options(account, warehouse)
        if offered:
            options = [(code, f"{name} ({code})") for code, name in offered]
            grouped.append((f"Warehouse {warehouse}", options))
    return grouped


def returnhelper_routes(
    account: ProviderAccount, warehouse_id: str, service_type: str
) -> ReturnHelperRoutes:
    """The job's service type checked against the warehouse, as the single form checks it."""
    if not service_type:
        raise RuleViolation(rules.returnhelper_bulk_service_problems("", warehouse_id, []))
    offered = reference.warehouse_service_options(account, warehouse_id)
    countries = reference.country_codes(account)
    if offered is None or countries is None:
        raise ReferenceUnavailable(
            rules.returnhelper_bulk_service_problems(service_type, warehouse_id, None)
        )
    problems = rules.returnhelper_bulk_service_problems(
        service_type, warehouse_id, [code for code, _ in offered]
    )
    if problems:
        raise RuleViolation(problems)
    return ReturnHelperRoutes(account, warehouse_id, service_type, countries)


def count_inventories(
    items: QuerySet[ReturnInventory],
    *,
    routes: ReturnHelperRoutes,
    busy: dict[int, str],
    into: BulkPreview,
) -> None:
    """Count in the database what the fan-out decides item by item, in the same order: a resend
    in progress, then the item rules (rules.returnhelper_bulk_skip_filters), then the customer's
    destination, checked once per order; each order's items make
    rules.returnhelper_resends_needed(n) requests."""
    result = into
    items = items.order_by()
    if busy:
        for pk, external_id in items.filter(pk__in=list(busy)).values_list("pk", "external_id"):
            result.skip(busy[pk], external_id)
        items = items.exclude(pk__in=list(busy))
    filters = rules.returnhelper_bulk_skip_filters()
    _count_filtered(items, filters, result)
    eligible = items.exclude(reduce(or_, (q for _, q in filters)))
    orderless = eligible.filter(order__isnull=True)
    result.add_skips(
        rules.SKIP_RH_NO_ADDRESS,
        orderless.count(),
        orderless.order_by("pk").values_list("external_id", flat=True)[:SAMPLES_PER_REASON],
    )
    per_order = dict(
        eligible.filter(order__isnull=False)
        .values("order_id")
        .annotate(n=Count("pk"))
        .values_list("order_id", "n")
    )
    skipped: Counter[str] = Counter()
    example_orders: dict[str, list[int]] = defaultdict(list)
    destinations = (
        Order.objects.filter(pk__in=eligible.values("order_id"))
        .values_list("pk", "raw__shipping_address", "customer_name", "customer_email")
        .iterator(chunk_size=2000)
    )
    for order_id, address, name, email in destinations:
        count = per_order.get(order_id, 0)
        shipment = routes.shipment(
            rules.returnhelper_destination(
                address if isinstance(address, dict) else None, name=name, email=email
            )
        )
        reason = routes.skip_reason(shipment)
        if reason:
            skipped[reason] += count
            if len(example_orders[reason]) < SAMPLES_PER_REASON:
                example_orders[reason].append(order_id)
        else:
            result.to_send += count
            result.requests += rules.returnhelper_resends_needed(count)
    for reason, count in skipped.items():
        found = eligible.filter(order_id__in=example_orders[reason]).order_by("pk")
        result.add_skips(
            reason, count, found.values_list("external_id", flat=True)[:SAMPLES_PER_REASON]
        )


# --- saved filters: finding one, and what a job runs from it ----------------------------------
def find_filter(name: str) -> SavedFilter:
    found = SavedFilter.objects.select_related("account").filter(name=" ".join(name.split()))
    saved = found.first()
    if saved is None:
        raise RuleViolation([rules.Problem("filter", f"No saved filter “{name}”.")])
    return saved


def unchanged(
    saved: SavedFilter | None, *, kind: str, account: ProviderAccount, criteria: dict[str, Any]
) -> SavedFilter | None:
    """The saved filter, if a job of `kind` on `account` runs exactly its criteria (a page
    loaded from it and then edited no longer runs that filter)."""
    if saved is None:
        return None
    same = (saved.kind, saved.account_id, saved.criteria) == (kind, account.pk, criteria)
    return saved if same else None


def with_window(saved: SavedFilter, since: datetime, until: datetime) -> dict[str, str]:
    """The filter for one schedule slot: its criteria, its time range replaced by the slot's."""
    start, end = TIME_RANGE_OF_KIND[saved.kind]
    return {**saved.criteria, start: since.isoformat(), end: until.isoformat()}
