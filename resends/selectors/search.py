"""Finding orders for agents: one box that understands ids, emails, names, RMAs, tracking and
Return Helper resend numbers, with filters and keyset pages, fast at a million orders.

Every lookup is an exact or prefix match on an indexed column; nothing scans the table. The pages
follow the (provider_created_at, id) index, newest first, with the last row of a page as the cursor
(stable while new orders arrive, and no OFFSET cost on page 500).
"""

from __future__ import annotations

import base64
import contextlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Upper
from django.utils import timezone

from ..inputs import parse_id, prefix_upper_bound, within_dates
from ..models import Order, ProviderCall, ResendRequest, ResendTarget, ReturnInventory

PAGE_SIZE = 25
# Undated orders first on every backend: PostgreSQL's own DESC order, so its index serves it.
NEWEST = (F("provider_created_at").desc(nulls_first=True), F("id").desc())
MAX_PASTED_IDS = 500
MAX_REFERENCED_ORDERS = 500
SELECT_ALL_MAX = 5000
ID_SPLIT = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class Filters:
    query: str = ""
    account_id: int | None = None
    status: str = ""
    created_from: date | None = None
    created_to: date | None = None


@dataclass
class Results:
    orders: list[Order]
    next_cursor: str = ""
    resends: list[ResendRequest] = field(default_factory=list)
    inventories: list[ReturnInventory] = field(default_factory=list)
    matched_by: str = ""


def find(filters: Filters, cursor: str = "", page_size: int = PAGE_SIZE) -> Results:
    base = _filtered(Order.objects.all(), filters)
    resends: list[ResendRequest] = []
    inventories: list[ReturnInventory] = []
    matched_by = ""
    text = filters.query.strip()
    sources = [base]
    if text:
        sources, matched_by = _match_text(base, text)
        if not cursor:
            resends = _matching_resends(text)
            inventories = _matching_inventories(text, filters.account_id)
    if cursor:
        sources = [_after(source, cursor) for source in sources]
    keys = _newest_first(
        {
            key
            for source in sources
            for key in source.order_by(*NEWEST).values_list("pk", "provider_created_at")[
                : page_size + 1
            ]
        }
    )[: page_size + 1]
    by_pk = Order.objects.select_related("account").in_bulk([pk for pk, _ in keys])
    page = [by_pk[pk] for pk, _ in keys]
    next_cursor = encode_cursor(page[page_size - 1]) if len(page) > page_size else ""
    return Results(page[:page_size], next_cursor, resends, inventories, matched_by)


def matching_orders(filters: Filters) -> QuerySet[Order]:
    """Every order the filters match (for "select all matching")."""
    orders = _filtered(Order.objects.all(), filters)
    if filters.query.strip():
        sources, _ = _match_text(orders, filters.query.strip())
        orders = orders.filter(
            pk__in=[pk for s in sources for pk in s.values_list("pk", flat=True)[:SELECT_ALL_MAX]]
        )
    return orders


def _newest_first(keys: set[tuple[int, datetime | None]]) -> list[tuple[int, datetime | None]]:
    """NEWEST in Python, for merging the page candidates of several indexed lookups."""
    return sorted(
        keys,
        key=lambda k: (k[1] is None, k[1] or datetime.min.replace(tzinfo=UTC), k[0]),
        reverse=True,
    )


def _filtered(orders: QuerySet[Order], filters: Filters) -> QuerySet[Order]:
    if filters.account_id:
        orders = orders.filter(account_id=filters.account_id)
    if filters.status:
        orders = orders.filter(status=filters.status)
    if filters.created_from:
        orders = orders.filter(provider_created_at__gte=_start_of(filters.created_from))
    if filters.created_to:
        orders = orders.filter(
            provider_created_at__lt=_start_of(filters.created_to + timedelta(days=1))
        )
    return orders


def _match_text(orders: QuerySet[Order], text: str) -> tuple[list[QuerySet[Order]], str]:
    """The orders the text can mean, as one or two indexed lookups.

    A customer name is its own lookup: OR-ed with the id lookups it would make PostgreSQL read
    every matching order's row; alone, the (name, created, id) index answers it by itself.
    """
    if "@" in text:
        return [orders.filter(customer_email=text.lower())], "customer email"
    text = _normal(text)
    matches = Q(external_id=text) | Q(original_order_id=text)
    referenced = _referenced_order_ids(text)
    if referenced:
        matches |= Q(pk__in=referenced)
    if _looks_like_id(text):
        return [orders.filter(matches)], "id or reference"
    prefix = text.upper()
    by_name = orders.annotate(name_upper=Upper("customer_name")).filter(
        name_upper__gte=prefix, name_upper__startswith=prefix
    )
    if (bound := prefix_upper_bound(prefix)) is not None:
        by_name = by_name.filter(name_upper__lt=bound)
    return [orders.filter(matches), by_name], "id, reference or customer name"


def _calls_with_reference(text: str) -> QuerySet[ProviderCall]:
    return ProviderCall.objects.filter(
        Q(tracking_number=text) | Q(provider_reference=text) | Q(provider_reference_2=text)
    ).order_by()


def _referenced_order_ids(text: str) -> list[int]:
    """Orders an RMA, an inventory id, a tracking number, a provider reference or a helpdesk
    ticket points at."""
    inventories = ReturnInventory.objects.filter(
        Q(rma=text) | Q(external_id=text), order__isnull=False
    ).order_by()
    targets = ResendTarget.objects.filter(
        request_id__in=_calls_with_reference(text).values("request_id"), order__isnull=False
    ).order_by()
    ticketed = ResendTarget.objects.filter(
        request_id__in=ResendRequest.objects.filter(ticket=text).values("pk"), order__isnull=False
    ).order_by()
    union = inventories.values_list("order_id", flat=True).union(
        targets.values_list("order_id", flat=True), ticketed.values_list("order_id", flat=True)
    )
    return list(union[:MAX_REFERENCED_ORDERS])


def _looks_like_id(text: str) -> bool:
    if " " in text:
        return False
    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return any(ch.isdigit() for ch in text)


def _matching_resends(text: str) -> list[ResendRequest]:
    """Resends found by their own references (resend number, tracking, new order id, public id,
    helpdesk ticket)."""
    ids = _calls_with_reference(text).values_list("request_id", flat=True)
    ids = ids.union(
        ResendRequest.objects.filter(ticket=text).order_by().values_list("pk", flat=True)
    )
    with contextlib.suppress(ValueError):
        public = uuid.UUID(text)
        ids = ids.union(
            ResendRequest.objects.filter(public_id=public).order_by().values_list("pk", flat=True)
        )
    return list(
        ResendRequest.objects.filter(pk__in=list(ids[:MAX_REFERENCED_ORDERS]))
        .select_related("account", "submitted_by")
        .order_by("-submitted_at")[:10]
    )


def _matching_inventories(text: str, account_id: int | None) -> list[ReturnInventory]:
    inventories = ReturnInventory.objects.filter(Q(rma=text) | Q(external_id=text))
    if account_id:
        inventories = inventories.filter(account_id=account_id)
    return list(inventories.select_related("account", "order")[:50])


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


# --- keyset cursor ---------------------------------------------------------------------------
def encode_cursor(order: Order) -> str:
    stamp = order.provider_created_at.isoformat() if order.provider_created_at else ""
    return base64.urlsafe_b64encode(f"{stamp}|{order.pk}".encode()).decode()


def _after(orders: QuerySet[Order], cursor: str) -> QuerySet[Order]:
    try:
        stamp, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        last_id = parse_id(pk)
        created = datetime.fromisoformat(stamp) if stamp else None
    except (ValueError, UnicodeDecodeError):
        return orders  # a mangled cursor starts again from the first page
    if last_id is None or (created is not None and not within_dates(created)):
        return orders
    if created is None:  # undated rows come first (NEWEST), then every dated one
        return orders.filter(
            Q(provider_created_at__isnull=True, pk__lt=last_id)
            | Q(provider_created_at__isnull=False)
        )
    # The redundant `<=` bound lets the index start at the cursor instead of filtering up to it.
    return orders.filter(provider_created_at__lte=created).filter(
        Q(provider_created_at__lt=created) | Q(pk__lt=last_id)
    )


# --- pasted id lists ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PastedId:
    text: str
    order: Order | None
    duplicate: bool

    @property
    def unknown(self) -> bool:
        return self.order is None and not self.duplicate


def resolve_pasted(raw: str, account_id: int | None = None) -> tuple[list[PastedId], bool]:
    """Each pasted id in the order given, with its order, or flagged unknown or duplicate.
    The flag says the list was cut at MAX_PASTED_IDS."""
    tokens = [t for t in ID_SPLIT.split(raw) if t]
    cut = len(tokens) > MAX_PASTED_IDS
    tokens = tokens[:MAX_PASTED_IDS]
    wanted = {_normal(t) for t in tokens}
    orders = Order.objects.filter(external_id__in=wanted).select_related("account")
    if account_id:
        orders = orders.filter(account_id=account_id)
    by_id: dict[str, Order] = {}
    for order in orders:
        by_id.setdefault(order.external_id, order)
    seen: set[str] = set()
    rows = []
    for token in tokens:
        key = _normal(token)
        rows.append(PastedId(token, by_id.get(key) if key not in seen else None, key in seen))
        seen.add(key)
    return rows, cut


def _normal(token: str) -> str:
    try:
        return str(uuid.UUID(token))
    except ValueError:
        return token
