"""Return Helper resend form: pick eligible inventories, a destination and a service, preview."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from .. import rules
from ..accounts import default_account
from ..inputs import clean_text, parse_id
from ..models import Order, Provider, ProviderAccount, ReturnInventory
from ..selectors import preview, reference
from ..services.requests import Submitted
from ..services.submit import submit_returnhelper_resend
from .common import console_view, prefilled_ticket, preview_or_submit, signed_in_user
from .forms import ReturnHelperResendForm, new_token

TEMPLATE = "resends/returnhelper_form.html"


def _candidates(request: HttpRequest) -> tuple[list[ReturnInventory], Order | None]:
    """The items this page offers: an order's, an RMA's, or the ones picked on the find page."""
    params = request.GET
    inventories = ReturnInventory.objects.select_related("account", "order")
    order = None
    rma = clean_text(params.get("rma"), max_length=64)
    if order_id := parse_id(params.get("order")):
        order = Order.objects.filter(pk=order_id).first()
        found = list(inventories.filter(order=order)) if order else []
    elif rma:
        found = list(inventories.filter(rma=rma)[:100])
    else:
        ids = [i for i in map(parse_id, params.getlist("inventory")) if i is not None][:100]
        found = list(inventories.filter(pk__in=ids))
    if order is None:
        order = next((inv.order for inv in found if inv.order is not None), None)
    found.sort(key=lambda inv: (inv.warehouse_id, inv.pk))
    return found, order


def _account(candidates: list[ReturnInventory]) -> ProviderAccount:
    return candidates[0].account if candidates else default_account(Provider.RETURNHELPER)


def _warehouse(candidates: list[ReturnInventory], picked_ids: list[str]) -> str:
    picked = [c for c in candidates if str(c.pk) in picked_ids]
    eligible = [c for c in candidates if not rules.returnhelper_inventory_problems(c)]
    source = picked or eligible or candidates
    return source[0].warehouse_id if source else ""


def _prefill(order: Order | None) -> dict[str, str]:
    return rules.returnhelper_order_destination(order)


def _form(
    candidates: list[ReturnInventory], data: Any, initial: dict[str, Any]
) -> ReturnHelperResendForm:
    account = _account(candidates)
    source = data if data is not None else initial
    country = source.get("shipmentCountryCode", "")
    picked = data.getlist("inventories") if data is not None else []
    warehouse = _warehouse(candidates, picked)
    services = (
        reference.service_options(account, warehouse, country) if country and warehouse else None
    )
    form = ReturnHelperResendForm(
        data,
        initial=initial,
        candidates=candidates,
        countries=reference.country_options(account),
        service_types=services,
    )
    form.service_warehouse = warehouse  # the warehouse whose services the select lists
    return form


def _rows(candidates: list[ReturnInventory]) -> list[tuple[ReturnInventory, list[rules.Problem]]]:
    return [(c, rules.returnhelper_inventory_problems(c)) for c in candidates]


@require_http_methods(["GET", "POST"])
@console_view
def returnhelper_resend(request: HttpRequest) -> HttpResponse:
    candidates, order = _candidates(request)
    rows = _rows(candidates)
    account = _account(candidates)
    context = {
        "order": order,
        "rows": rows,
        "group_max": rules.returnhelper_group_max(),
        "account": account,
    }
    if request.method == "GET":
        initial: dict[str, Any] = {
            "token": new_token(),
            "ticket": prefilled_ticket(request),
            **_prefill(order),
        }
        preselected = [c.pk for c, problems in rows if not problems]
        if request.GET.getlist("inventory"):
            initial["inventories"] = preselected[: rules.returnhelper_group_max()]
        form = _form(candidates, None, initial)
        return render(request, TEMPLATE, {**context, "form": form})
    form = _form(candidates, request.POST, {})

    def build() -> preview.Preview:
        return preview.returnhelper(
            form.picked(),
            form.shipment(),
            account=account,
            countries=form.countries_codes(),
            service_types=form.service_codes(),
        )

    def submit(intent_key: str) -> Submitted:
        return submit_returnhelper_resend(
            actor=signed_in_user(request),
            inventories=form.picked(),
            shipment=form.shipment(),
            countries=form.countries_codes(),
            service_types=form.service_codes(),
            note=form.cleaned_data["note"],
            intent_key=intent_key,
            ticket=form.cleaned_data["ticket"],
        )

    return preview_or_submit(
        request, form=form, build_preview=build, submit=submit, template=TEMPLATE, context=context
    )


@require_GET
@console_view
def returnhelper_service_types(request: HttpRequest) -> HttpResponse:
    """The service-type select for the picked warehouse and country (swapped in as they change).
    A change of picked items that keeps the warehouse gets 204, so htmx leaves the select (and a
    service the agent chose meanwhile) alone."""
    candidates, _ = _candidates(request)
    form = _form(candidates, request.GET, {})
    same_warehouse = request.GET.get("service_warehouse") == form.service_warehouse
    if request.GET.get("refresh") == "if-warehouse-changed" and same_warehouse:
        return HttpResponse(status=204)
    return render(request, f"{TEMPLATE}#service-type-field", {"form": form})
