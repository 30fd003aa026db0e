"""The order page: the mirrored order, what was already resent, and what can be resent now."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .. import rules
from ..models import Order, Provider
from ..roles import can_audit
from ..selectors import order_facts
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
        cap = order_facts.chargebee_cap(order)
        context["cap"] = cap
        context["lines"] = order_facts.line_rows(order)
        # Whether the order can take a resend at all (the form asks for the reason and lines).
        problems = rules.chargebee_order_problems(order, in_flight=cap.in_flight)
        context["chargebee_blocked"] = rules.blocking(problems)
    return render(request, "resends/order.html", context)
