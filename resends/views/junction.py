"""Junction replay form: chosen orders (from search results or pasted) or a time window."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from .. import rules
from ..accounts import default_account
from ..models import Provider
from ..selectors import preview, search
from ..services.requests import Submitted
from ..services.submit import submit_junction_orders, submit_junction_window
from .common import console_view, prefilled_ticket, preview_or_submit, signed_in_user
from .forms import JunctionOrdersForm, JunctionWindowForm, SearchForm, new_token, ticket_from

TEMPLATE = "resends/junction_form.html"
SELECT_ALL_LIMIT = 1000


def _matching_ids(request: HttpRequest) -> tuple[list[str], int]:
    """ "Select all matching": the ids of every Junction order the search matches, resolved here
    from the search itself (never a long id list carried through the browser)."""
    form = SearchForm(request.GET)
    if not form.is_valid():
        return [], 0
    orders = search.matching_orders(form.filters()).filter(account__provider=Provider.JUNCTION)
    total = orders.count()
    ids = list(
        orders.order_by(*search.NEWEST).values_list("external_id", flat=True)[:SELECT_ALL_LIMIT]
    )
    return ids, total


@require_http_methods(["GET", "POST"])
@console_view
def junction_resend(request: HttpRequest) -> HttpResponse:
    mode = (request.POST or request.GET).get("mode", "orders")
    mode = "window" if mode == "window" else "orders"
    account = default_account(Provider.JUNCTION)
    context: dict[str, object] = {
        "mode": mode,
        "max_days": rules.JUNCTION_MAX_WINDOW.days,
        "batch_size": rules.junction_batch_size(),
    }
    # The helpdesk ticket goes with a switch of tabs: the one a link brought, or the one typed.
    ticket = prefilled_ticket(request) if request.method == "GET" else ticket_from(request.POST)[0]
    context["ticket_query"] = urlencode({"ticket": ticket}) if ticket else ""
    if request.method == "GET":
        initial: dict[str, object] = {"token": new_token(), "account": account, "ticket": ticket}
        form: JunctionWindowForm | JunctionOrdersForm
        if mode == "window":
            now = timezone.now().replace(second=0, microsecond=0)
            initial.update(start=now - timedelta(days=1), end=now)
            form = JunctionWindowForm(initial=initial)
        else:
            ids = request.GET.getlist("order")
            if request.GET.get("all"):
                ids, total = _matching_ids(request)
                context.update(select_all=True, matching_total=total, limit=SELECT_ALL_LIMIT)
            initial["order_ids"] = "\n".join(ids)
            form = JunctionOrdersForm(initial=initial)
        return render(request, TEMPLATE, {**context, "form": form})

    if mode == "window":
        window_form = JunctionWindowForm(request.POST)

        def build() -> preview.Preview:
            data = window_form.cleaned_data
            return preview.junction_window(data["account"], data["start"], data["end"])

        def submit(intent_key: str) -> Submitted:
            data = window_form.cleaned_data
            return submit_junction_window(
                actor=signed_in_user(request),
                account=data["account"],
                start=data["start"],
                end=data["end"],
                note=data["note"],
                intent_key=intent_key,
                ticket=data["ticket"],
            )

        return preview_or_submit(
            request, form=window_form, build_preview=build, submit=submit, template=TEMPLATE,
            context=context,
        )  # fmt: skip

    orders_form = JunctionOrdersForm(request.POST)

    def build_orders() -> preview.Preview:
        return preview.junction_orders(orders_form.cleaned_data["account"], orders_form.ids())

    def submit_orders(intent_key: str) -> Submitted:
        data = orders_form.cleaned_data
        return submit_junction_orders(
            actor=signed_in_user(request),
            account=data["account"],
            order_ids=orders_form.ids(),
            note=data["note"],
            intent_key=intent_key,
            ticket=data["ticket"],
        )

    return preview_or_submit(
        request, form=orders_form, build_preview=build_orders, submit=submit_orders,
        template=TEMPLATE, context=context,
    )  # fmt: skip
