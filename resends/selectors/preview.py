"""What a submit would send, item by item, with each item's rule check. Nothing is written.

The preview and the submit run the same checks (checks.py, on rules.py), so what
the agent saw is what the submit enforces, and the call re-checks again before it leaves.
That includes the same resend submitted moments ago or still in progress (checks.same_resend):
the preview names it, with who and when, where a submit would land on it instead of sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from .. import rules
from ..checks import (
    chargebee_check,
    chargebee_kind,
    chargebee_same_as,
    junction_orders_same_as,
    junction_window_same_as,
    returnhelper_check,
    returnhelper_ids,
    returnhelper_same_as,
    same_resend,
)
from ..models import LineItem, Order, ProviderAccount, ResendRequest, ReturnInventory
from ..models.audit import ResendKind


@dataclass
class Item:
    label: str
    detail: str = ""
    problems: list[rules.Problem] = field(default_factory=list)


@dataclass
class Preview:
    account: ProviderAccount
    summary: str
    items: list[Item]
    requests: list[str]
    problems: list[rules.Problem] = field(default_factory=list)
    # The same resend, submitted moments ago or still in progress: a submit would land on it.
    earlier: ResendRequest | None = None

    @property
    def blocked(self) -> bool:
        return self.earlier is not None or any(p.blocking for p in self.all_problems)

    @property
    def all_problems(self) -> list[rules.Problem]:
        return [*self.problems, *(p for item in self.items for p in item.problems)]

    @property
    def general_blocking(self) -> list[rules.Problem]:
        return [p for p in self.problems if p.blocking]

    @property
    def general_notes(self) -> list[rules.Problem]:
        return [p for p in self.problems if not p.blocking]


def _assign(items: dict[str, Item], problems: Sequence[rules.Problem]) -> list[rules.Problem]:
    """Put each problem on the item it names; the rest are about the whole resend."""
    general = []
    for problem in problems:
        if problem.subject in items:
            items[problem.subject].problems.append(problem)
        else:
            general.append(problem)
    return general


def chargebee(
    order: Order,
    lines: Sequence[tuple[LineItem, int]] | None,
    reason: str,
    shipping_date: date | None,
    *,
    origin_user: str = "",
    customer_email: bool = True,
    webhooks: bool = True,
) -> Preview:
    """`origin_user`: the email Chargebee's history will name; `customer_email` / `webhooks`:
    whether Chargebee emails the customer and sends webhooks about this resend."""
    problems = chargebee_check(order=order, lines=lines, reason=reason, shipping_date=shipping_date)
    if lines:
        items = {
            line.external_id: Item(
                f"{line.description or line.sku or line.external_id}",
                f"resend {qty} of {line.quantity} · line {line.external_id}",
            )
            for line, qty in lines
        }
        summary = f"Partial resend of order {order.external_id}: {len(lines)} line(s)"
    else:
        count = order.line_items.count()
        items = {
            order.external_id: Item(
                f"Whole order {order.external_id}",
                f"all {count} line(s); Chargebee cancels the original order",
            )
        }
        summary = f"Full resend of order {order.external_id}"
    general = _assign(items, [p for p in problems if p.subject != order.external_id])
    general = [p for p in problems if p.subject == order.external_id] + general
    extras = []
    if shipping_date:
        extras.append(f"shipping on {shipping_date:%Y-%m-%d}")
    if reason:
        extras.append(f"reason “{reason}”")
    request = f"POST /api/v2/orders/{order.external_id}/resend"
    if extras:
        request += " (" + ", ".join(extras) + ")"
    general.extend(chargebee_switch_notes(origin_user, customer_email, webhooks))
    earlier = same_resend(
        order.account,
        chargebee_kind(lines),
        chargebee_same_as(
            order.external_id, [(line.external_id, qty) for line, qty in lines or []]
        ),
    )
    return Preview(order.account, summary, list(items.values()), [request], general, earlier)


def chargebee_switch_notes(
    origin_user: str, customer_email: bool, webhooks: bool
) -> list[rules.Problem]:
    """What Chargebee will be told besides the resend itself, in plain words (notes, not
    problems: none of them blocks)."""
    who = (
        f"Chargebee's history shows it was resent by {origin_user}."
        if origin_user
        else "Your account has no email address, so Chargebee's history cannot show who resent."
    )
    email = (
        "Chargebee emails the customer as usual."
        if customer_email
        else "Chargebee sends the customer no email about this resend."
    )
    hooks = (
        "Chargebee sends its webhooks as usual."
        if webhooks
        else "Chargebee sends no webhooks about this resend (our copy updates at the next sync)."
    )
    return [rules.Problem("chargebee", text, blocking=False) for text in (who, email, hooks)]


def junction_orders(account: ProviderAccount, raw_ids: Sequence[str]) -> Preview:
    ids, problems = rules.junction_parse_order_ids(raw_ids)
    known = dict(
        Order.objects.filter(account=account, external_id__in=ids).values_list(
            "external_id", "customer_name"
        )
    )
    items = []
    for order_id in ids:
        item = Item(order_id, known.get(order_id) or "")
        if order_id not in known:
            item.problems.append(
                rules.Problem(
                    order_id, "Not in our copy of Junction's orders; Junction decides.", False
                )
            )
        items.append(item)
    batches = rules.junction_batches(ids)
    requests = [f"POST /v3/order/resend_events with {len(batch)} order id(s)" for batch in batches]
    summary = f"Replay the latest webhook event for {len(ids)} Junction order(s)"
    earlier = (
        same_resend(account, ResendKind.JUNCTION_ORDERS, junction_orders_same_as(ids))
        if ids
        else None
    )
    return Preview(account, summary, items, requests, problems, earlier)


def junction_window(
    account: ProviderAccount, start: datetime | None, end: datetime | None
) -> Preview:
    now = timezone.now()
    problems = rules.junction_check_window(start, end, now)
    items: list[Item] = []
    requests: list[str] = []
    if not rules.blocking(problems) and start is not None:
        for a, b in rules.split_window(start, end or now):
            # In the reader's zone; the request lines below are the wire, in UTC.
            local_a, local_b = timezone.localtime(a), timezone.localtime(b)
            items.append(
                Item(
                    f"{local_a:%Y-%m-%d %H:%M %Z} → {local_b:%Y-%m-%d %H:%M %Z}",
                    f"{(b - a).days} days",
                )
            )
            requests.append(
                f"POST /v3/order/resend_events start_at={a:%Y-%m-%dT%H:%MZ} end_at={b:%Y-%m-%dT%H:%MZ}"
            )
    summary = "Replay Junction webhook events for orders updated in a window"
    earlier = None
    if start is not None and end is not None:  # without an end, a submit's window ends then
        same_as = junction_window_same_as(start, end)
        earlier = same_resend(account, ResendKind.JUNCTION_WINDOW, same_as)
    return Preview(account, summary, items, requests, problems, earlier)


def returnhelper(
    inventories: Sequence[ReturnInventory],
    shipment: dict[str, str],
    *,
    account: ProviderAccount,
    countries: Sequence[str] | None,
    service_types: Sequence[str] | None,
) -> Preview:
    items = {
        inv.external_id: Item(
            f"{inv.description or inv.sku or 'Item'} (#{inv.external_id})",
            f"RMA {inv.rma or '—'} · warehouse {inv.warehouse_id} · qty {inv.quantity}",
        )
        for inv in inventories
    }
    general = _assign(items, returnhelper_check(inventories, shipment, countries, service_types))
    to = ", ".join(
        v
        for v in (
            shipment.get("shipmentName"),
            shipment.get("shipmentCity"),
            shipment.get("shipmentCountryCode", "").upper(),
        )
        if v
    )
    summary = f"Return Helper resend of {len(inventories)} item(s) to {to or '…'}"
    request = f"POST /Resend/createResend (service {shipment.get('shipmentServiceType') or '…'})"
    ids = returnhelper_ids(inv.external_id for inv in inventories)
    earlier = (
        same_resend(account, ResendKind.RETURNHELPER, returnhelper_same_as(ids)) if ids else None
    )
    return Preview(account, summary, list(items.values()), [request], general, earlier)
