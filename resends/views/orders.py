"""The order page: the mirrored order, what was already resent, and what can be resent now; and
the helpdesk's way in (an order by provider and the provider's id, with a ticket)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from .. import links, rules
from ..inputs import clean_text
from ..models import Order, Provider
from ..roles import can_audit
from ..selectors import order_facts
from .common import console_view, prefilled_ticket
from .forms import ticket_from


@require_GET
@console_view
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(Order.objects.select_related("account"), pk=pk)
    provider = order.account.provider
    ticket = prefilled_ticket(request)
    timeline = order_facts.timeline(order)
    context = {
        "order": order,
        "timeline": timeline,
        # Each call's shipping label, from the provider or the resend's account's template.
        "labels": {
            call.pk: links.label_url(resend.account, call)
            for resend in timeline
            for call in resend.calls.all()
        },
        "inventories": order_facts.inventories(order),
        "can_audit": can_audit(request.user),
        "address": order.raw.get("shipping_address") or {},
        "dashboard_url": links.order_url(order.account, order.external_id),
        "ticket": ticket,
        "ticket_query": urlencode({"ticket": ticket}) if ticket else "",
    }
    if provider == Provider.CHARGEBEE:
        cap = order_facts.chargebee_cap(order)
        context["cap"] = cap
        context["lines"] = order_facts.line_rows(order)
        # Whether the order can take a resend at all (the form asks for the reason and lines).
        problems = rules.chargebee_order_problems(order, in_flight=cap.in_flight)
        context["chargebee_blocked"] = rules.blocking(problems)
    return render(request, "resends/order.html", context)


@require_GET
@console_view
def order_by_reference(request: HttpRequest, provider: str, external_id: str) -> HttpResponse:
    """A helpdesk sidebar's link: /orders/chargebee/ord_123/?ticket=ABC-123 (optionally
    &account=<code>) opens that order's page with the ticket prefilled in its resend forms. A
    Junction order our mirror does not hold opens the replay form for its id instead."""
    if provider not in Provider.values:
        raise Http404("No such provider.")
    order_id = clean_text(external_id, max_length=64)
    if not order_id:
        raise Http404("No such order.")
    account_code = clean_text(request.GET.get("account"), max_length=40) or ""
    ticket, error = ticket_from(request.GET)
    if error:
        messages.error(request, error)
    query = {"ticket": ticket} if ticket else {}
    order = order_facts.find_order(provider, order_id, account_code)
    if order is not None:
        url = reverse("resends:order", args=[order.pk])
    elif provider == Provider.JUNCTION:
        url = reverse("resends:junction")
        query = {"order": order_id, **query}
    else:
        label = Provider(provider).label
        raise Http404(f"Our copy of {label}'s orders has no order {order_id}.")
    return redirect(f"{url}?{urlencode(query)}" if query else url)
