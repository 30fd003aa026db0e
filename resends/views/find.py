"""Find: one search box, filters, a pasted id list, keyset pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from .. import rules
from ..selectors import search
from .common import console_view, render_page_or_partial
from .forms import SearchForm


@require_GET
@console_view
def find(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    context: dict[str, object] = {
        "form": form,
        "searched": False,
        "max_pasted": search.MAX_PASTED_IDS,
        "chargebee_limit": rules.CHARGEBEE_MAX_RESENDS_PER_ORDER,
    }
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        account = data["account"]
        if data["ids"].strip():
            rows, cut = search.resolve_pasted(data["ids"], account.pk if account else None)
            context.update(pasted=rows, pasted_cut=cut, searched=True)
            context["pasted_unknown"] = sum(1 for r in rows if r.unknown)
            context["pasted_duplicates"] = sum(1 for r in rows if r.duplicate)
            context["junction_ids"] = [
                r.order.external_id
                for r in rows
                if r.order is not None and r.order.account.provider == "junction"
            ]
        else:
            results = search.find(form.filters(), cursor=request.GET.get("after", ""))
            context.update(results=results, searched=True, after=request.GET.get("after", ""))
            context["more_query"] = _with_cursor(request, results.next_cursor)
            context["select_all_query"] = _without(request, "after")
    partial = "more" if request.GET.get("after") else "results"
    return render_page_or_partial(request, "resends/find.html", partial, context)


def _with_cursor(request: HttpRequest, cursor: str) -> str:
    params = request.GET.copy()
    params["after"] = cursor
    return params.urlencode()


def _without(request: HttpRequest, name: str) -> str:
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()
