"""What the order page shows about earlier resends: how many of Chargebee's five are used, how much
of each line was already resent, and the timeline of every resend that touched the order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, Sum

from .. import rules
from ..checks import chargebee_open_calls
from ..models import (
    CallAttempt,
    LineItem,
    Order,
    ProviderAccount,
    ProviderCall,
    ResendRequest,
    ResendTarget,
    ReturnInventory,
)
from ..models.audit import RequestState
from ..presentation import LAST_ERROR_FIELDS

IN_PROGRESS = tuple(s for s in RequestState if s not in ResendRequest.FINAL_STATES)


@dataclass(frozen=True)
class CapUsage:
    used: int
    in_flight: int
    limit: int = rules.CHARGEBEE_MAX_RESENDS_PER_ORDER

    @property
    def total(self) -> int:
        return self.used + self.in_flight

    @property
    def left(self) -> int:
        return max(0, self.limit - self.total)


@dataclass(frozen=True)
class LineRow:
    line: LineItem
    resent: int
    in_progress: int


def chargebee_cap(order: Order) -> CapUsage:
    """Resends Chargebee counts (from the mirror) plus ours not yet confirmed."""
    return CapUsage(order.resend_count, chargebee_open_calls(order.account, order.external_id))


def line_rows(order: Order) -> list[LineRow]:
    totals: dict[tuple[int, str], int] = defaultdict(int)
    rows = (
        ResendTarget.objects.filter(line_item__order=order)
        .values("line_item_id", "request__state")
        .annotate(quantity=Sum("quantity"))
    )
    for row in rows:
        totals[(row["line_item_id"], row["request__state"])] += row["quantity"] or 0
    result = []
    for line in order.line_items.all():
        resent = totals[(line.pk, RequestState.SUCCEEDED)]
        pending = sum(totals[(line.pk, state)] for state in IN_PROGRESS)
        result.append(LineRow(line, resent, pending))
    return result


def timeline(order: Order, limit: int = 50) -> list[ResendRequest]:
    """Every resend about this order, its lines or its inventories, newest first."""
    # A union of three indexed lookups; one OR across the joins scans every target.
    by_order, by_line, by_inventory = (
        ResendTarget.objects.filter(**lookup).order_by().values_list("request_id", flat=True)
        for lookup in ({"order": order}, {"line_item__order": order}, {"inventory__order": order})
    )
    touching = list(by_order.union(by_line, by_inventory))
    return list(
        ResendRequest.objects.filter(pk__in=touching)
        .select_related("submitted_by", "account")
        .prefetch_related(
            Prefetch("calls", queryset=ProviderCall.objects.order_by("id")),
            # What presentation.last_error reads (the class of trouble, and when).
            Prefetch("calls__attempt_rows", queryset=CallAttempt.objects.only(*LAST_ERROR_FIELDS)),
        )
        .order_by("-submitted_at")[:limit]
    )


def inventories(order: Order) -> list[tuple[ReturnInventory, list[rules.Problem]]]:
    return [
        (inventory, rules.returnhelper_inventory_problems(inventory))
        for inventory in order.inventories.select_related("account").order_by("id")
    ]


def mirrored_orders(account: ProviderAccount, external_ids: Iterable[str]) -> dict[str, int]:
    """Our order pk for each of these provider order ids our mirror holds."""
    ids = [i for i in set(external_ids) if i]
    if not ids:
        return {}
    rows = Order.objects.filter(account=account, external_id__in=ids)
    return dict(rows.values_list("external_id", "pk"))


def find_order(provider: str, external_id: str, account_code: str = "") -> Order | None:
    """The mirrored order a helpdesk link names: by provider and the provider's id, in the named
    account or else the provider's default account first."""
    rows = Order.objects.select_related("account").filter(
        account__provider=provider, external_id=external_id
    )
    if account_code:
        rows = rows.filter(account__code=account_code)
    return rows.order_by("-account__is_default", "account__pk").first()
