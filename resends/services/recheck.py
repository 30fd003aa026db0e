"""The rules again, just before a call leaves: the mirror may have moved since the submit
(a sync found resends made in the provider's dashboard, an item left the warehouse)."""

from __future__ import annotations

from datetime import UTC, datetime

from .. import rules
from ..models import Order, ProviderCall, ReturnInventory
from .submit import chargebee_check

Op = ProviderCall.Operation


def call_problems(call: ProviderCall) -> list[rules.Problem]:
    """Blocking problems for sending this call now; empty when it may go."""
    if call.operation == Op.CHARGEBEE_RESEND_ORDER:
        return rules.blocking(_chargebee(call))
    if call.operation == Op.RETURNHELPER_CREATE_RESEND:
        ids = [str(i) for i in call.payload.get("inventory_ids", [])]
        inventories = list(
            ReturnInventory.objects.filter(account=call.account, external_id__in=ids)
        )
        if len(inventories) < len(ids):
            return []  # not all mirrored (e.g. created at the provider since); the provider decides
        return rules.blocking(rules.returnhelper_group_problems(inventories))
    return []


def _chargebee(call: ProviderCall) -> list[rules.Problem]:
    order = Order.objects.filter(account=call.account, external_id=call.subject).first()
    if order is None:
        return []  # not mirrored: the provider decides
    lines_by_id = {line.external_id: line for line in order.line_items.all()}
    lines, problems = [], []
    for wanted in call.payload.get("lines", []):
        line = lines_by_id.get(wanted["id"])
        if line is None:
            problems.append(rules.Problem(wanted["id"], "This line is no longer on the order."))
        else:
            lines.append((line, int(wanted["quantity"])))
    shipping = call.payload.get("shipping_date")
    shipping_date = datetime.fromtimestamp(shipping, tz=UTC).date() if shipping else None
    return problems + chargebee_check(
        order=order,
        lines=lines,
        reason=call.payload.get("reason") or "",
        shipping_date=shipping_date,
        exclude_call=call,
    )
