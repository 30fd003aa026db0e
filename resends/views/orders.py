"""The order page: the mirrored order, what was already resent, and what can be resent now."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .. import rules
from ..models import Order, Provider
from ..roles import can_audit
from ..services import order_facts
from ..services.submit import chargebee_check
from .common import console_view


@require_GET
@console_view
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(Order.objects.select_related("account"), pk=pk)
    provider = order.account.provider
    context = {
        "order": order,
        "timeline": order_facts.timeline(order),
        "inventories": order_facts.inventories(order),
        "can_audit": can_audit(request.user),
        "address": order.raw.get("shipping_address") or {},
    }
    if provider == Provider.CHARGEBEE:
        context["cap"] = order_facts.chargebee_cap(order)
        context["lines"] = order_facts.line_rows(order)
        blocking = rules.blocking(
            chargebee_check(order=order, lines=None, reason="", shipping_date=None)
        )
        context["chargebee_blocked"] = [p for p in blocking if p.subject != "reason"]
    return render(request, "resends/order.html", context)
