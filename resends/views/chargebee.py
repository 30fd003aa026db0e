"""Chargebee resend form: full or partial, with preview, for one order."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from ..models import Order, Provider
from ..selectors import order_facts, preview
from ..services.requests import Submitted
from ..services.submit import submit_chargebee_resend
from .common import console_view, prefilled_ticket, preview_or_submit, signed_in_user
from .forms import ChargebeeResendForm, new_token

TEMPLATE = "resends/chargebee_form.html"


@require_http_methods(["GET", "POST"])
@console_view
def chargebee_resend(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(
        Order.objects.select_related("account"), pk=pk, account__provider=Provider.CHARGEBEE
    )
    context = {
        "order": order,
        "cap": order_facts.chargebee_cap(order),
        "lines": {row.line.pk: row for row in order_facts.line_rows(order)},
    }
    if request.method == "GET":
        initial = {"token": new_token(), "ticket": prefilled_ticket(request)}
        form = ChargebeeResendForm(order=order, initial=initial)
        return render(request, TEMPLATE, {**context, "form": form})
    form = ChargebeeResendForm(request.POST, order=order)

    def build() -> preview.Preview:
        data = form.cleaned_data
        return preview.chargebee(
            order,
            form.picked_lines(),
            data["reason"],
            data["shipping_date"],
            origin_user=signed_in_user(request).email,
            customer_email=data["customer_email"],
            webhooks=data["webhooks"],
        )

    def submit(intent_key: str) -> Submitted:
        data = form.cleaned_data
        return submit_chargebee_resend(
            actor=signed_in_user(request),
            order=order,
            lines=form.picked_lines(),
            reason=data["reason"],
            note=data["note"],
            shipping_date=data["shipping_date"],
            intent_key=intent_key,
            ticket=data["ticket"],
            customer_email=data["customer_email"],
            webhooks=data["webhooks"],
        )

    return preview_or_submit(
        request, form=form, build_preview=build, submit=submit, template=TEMPLATE, context=context
    )
