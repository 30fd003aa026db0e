"""The needs-review queue (managers): each call that the engine could not settle, with what we
sent, every attempt and what reconcile asked and got, and a fresh look at the provider's current
state side by side; and the three decisions a manager can take on it.

The provider's state is fetched when the manager asks for it (HTMX loads it with the page; without
JavaScript a link does). The decision form carries that state back signed, so what is kept with a
decision is exactly the evidence the manager was shown, not a later look.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from ..inputs import parse_id
from ..models import ProviderCall
from ..models.audit import CallState
from ..models.review import Decision
from ..rules import RuleViolation
from ..selectors import review as selectors
from ..services import review as services
from .common import is_htmx, manager_view, signed_in_user

TEMPLATE = "resends/review.html"
EVIDENCE_SALT = "resends.review.evidence"
EVIDENCE_MAX_AGE = 60 * 60  # seconds: a decision rests on a look at most an hour old


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=Decision.choices, widget=forms.RadioSelect, label="What you found"
    )
    reference = forms.CharField(
        required=False,
        max_length=services.REFERENCE_MAX,
        label="Provider reference",
        help_text="Only for “it was applied”: the provider's id of what you found.",
    )
    why = forms.CharField(
        max_length=services.WHY_MAX,
        label="Why (kept with the decision)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    evidence = forms.CharField(widget=forms.HiddenInput)


def sign_evidence(call: ProviderCall, evidence: dict[str, Any]) -> str:
    return signing.dumps({"call": call.pk, "evidence": evidence}, salt=EVIDENCE_SALT, compress=True)


def read_evidence(call: ProviderCall, token: str) -> dict[str, Any] | None:
    """The evidence the page showed, or None when the token is forged, for another call, or
    older than EVIDENCE_MAX_AGE."""
    try:
        data = signing.loads(token, salt=EVIDENCE_SALT, max_age=EVIDENCE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("call") != call.pk:
        return None
    evidence = data.get("evidence")
    return evidence if isinstance(evidence, dict) else None


def _call_or_404(call_id: int) -> ProviderCall:
    call = selectors.call_under_review(call_id) if parse_id(str(call_id)) else None
    if call is None:
        raise Http404("No such provider call.")
    return call


def _page_context(request: HttpRequest, call: ProviderCall) -> dict[str, Any]:
    return {
        "call": call,
        "resend": call.request,
        "in_review": call.state == CallState.NEEDS_REVIEW,
        "payload": json.dumps(
            selectors.sent_payload(call), indent=2, sort_keys=True, ensure_ascii=False
        ),
        "attempts": selectors.attempts_of(call),
        "decisions": list(call.review_decisions.all()),
        "reference_label": selectors.reference_label(call),
        "can_decide": services.can_decide(request.user),
    }


def _provider_context(
    call: ProviderCall, evidence: dict[str, Any], form: DecisionForm | None = None
) -> dict[str, Any]:
    if form is None:  # a form posted back keeps its token: its evidence ages from the first look
        form = DecisionForm(initial={"evidence": sign_evidence(call, evidence)})
    label = selectors.reference_label(call)
    if label:
        form.fields["reference"].label = label
    else:
        form.fields.pop("reference")
    return {"evidence": evidence, "fetched_at": _fetched_at(evidence), "form": form}


@require_GET
@manager_view
def review_queue(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "resends/review_list.html",
        {
            "calls": selectors.review_queue(),
            "waiting": selectors.waiting_count(),
            "decisions": selectors.recent_decisions(),
        },
    )


@require_GET
@manager_view
def review_call(request: HttpRequest, call_id: int) -> HttpResponse:
    call = _call_or_404(call_id)
    context = _page_context(request, call)
    if request.GET.get("look") and context["in_review"]:
        context.update(_provider_context(call, selectors.provider_state(call).as_json()))
    return render(request, TEMPLATE, context)


@require_GET
@manager_view
def review_provider(request: HttpRequest, call_id: int) -> HttpResponse:
    """The provider's current state with the decision form, fetched now (an HTMX panel)."""
    if not is_htmx(request):
        return redirect(f"{reverse('resends:review', args=[call_id])}?look=1")
    call = _call_or_404(call_id)
    context = _page_context(request, call)
    if context["in_review"]:
        context.update(_provider_context(call, selectors.provider_state(call).as_json()))
    return render(request, f"{TEMPLATE}#provider", context)


@require_POST
@manager_view
def review_decide(request: HttpRequest, call_id: int) -> HttpResponse:
    call = _call_or_404(call_id)
    page = reverse("resends:review", args=[call_id])
    form = DecisionForm(request.POST)
    evidence = read_evidence(call, request.POST.get("evidence", ""))
    if evidence is None:
        messages.error(
            request,
            "The provider's state you decided on is more than an hour old (or this page was "
            "changed); here it is again, looked up now.",
        )
        return redirect(f"{page}?look=1")
    problems: list[str] = []
    if form.is_valid():
        try:
            settled = services.decide(
                actor=signed_in_user(request),
                call_id=call.pk,
                decision=form.cleaned_data["decision"],
                why=form.cleaned_data["why"],
                reference=form.cleaned_data.get("reference") or "",
                evidence=evidence,
                evidence_fetched_at=_fetched_at(evidence),
            )
        except RuleViolation as violation:
            problems = [problem.message for problem in violation.problems]
        else:
            settled.call.request.refresh_from_db(fields=["state"])
            messages.success(request, _done(settled))
            return redirect("resends:review-queue")
    context = {**_page_context(request, call), **_provider_context(call, evidence, form)}
    context["problems"] = problems
    return render(request, TEMPLATE, context, status=200)


def _fetched_at(evidence: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(evidence.get("fetched_at")))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _done(settled: services.Settled) -> str:
    call, decision = settled.call, settled.decision
    what = {
        Decision.APPLIED: "recorded as applied"
        + (f" ({decision.provider_reference})" if decision.provider_reference else ""),
        Decision.SEND_AGAIN: "queued to be sent again (same idempotency key, rules checked)",
        Decision.GIVE_UP: "given up",
    }[Decision(decision.decision)]
    return f"Call #{call.pk} {what}. The resend is now {call.request.get_state_display().lower()}."
