"""A resend's own page (live status, retry, cancel) and the lists of resends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ..checks import actor_problems, cancel_problems, held_by, retry_problems
from ..inputs import parse_id
from ..links import call_links
from ..models import BulkJob, ProviderCall, ResendRequest, ResendTarget
from ..models.audit import CallState, Channel
from ..presentation import call_summary, chargebee_told, is_settled
from ..roles import can_audit
from ..rules import RuleViolation
from ..selectors.order_facts import mirrored_orders
from ..services.cancel import cancel_returnhelper_resend
from ..services.retry import retry_failed
from .common import after_submit, console_view, is_htmx, live_panel, signed_in_user
from .forms import RequestListForm, new_token

TEMPLATE = "resends/request.html"
LIST_PAGE = 50

Op = ProviderCall.Operation


def _load(public_id: UUID, *, whole_page: bool) -> ResendRequest:
    """The request with its calls; its targets too for the whole page (the polled status panel
    shows only the calls)."""
    rows = ResendRequest.objects.select_related("account", "submitted_by", "retry_of", "bulk_job")
    calls = Prefetch(
        "calls",
        queryset=ProviderCall.objects.select_related("requested_by")
        .prefetch_related("attempt_rows")
        .order_by("id"),
    )
    rows = rows.prefetch_related(calls)
    if whole_page:
        rows = rows.prefetch_related("targets__line_item", "targets__inventory", "targets__order")
    return get_object_or_404(rows, public_id=public_id)


def _status_context(request: HttpRequest, resend: ResendRequest) -> dict[str, Any]:
    calls = list(resend.calls.all())
    settled = is_settled(resend, calls)
    cancelling = any(
        c.operation == Op.RETURNHELPER_CANCEL_RESEND and c.state != CallState.FAILED for c in calls
    )
    cancellable = (
        not cancelling
        and resend.state != ResendRequest.State.CANCELLED
        and not cancel_problems(calls)
    )
    retryable = resend.is_final and not retry_problems(resend)
    refused = actor_problems(request.user, resend, "retry" if retryable else "cancel")
    service_type = str((resend.destination or {}).get("shipmentServiceType") or "")
    mirrored = mirrored_orders(
        resend.account,
        (c.provider_reference for c in calls if c.operation == Op.CHARGEBEE_RESEND_ORDER),
    )
    return {
        "resend": resend,
        "calls": [
            (
                c,
                call_summary(c),
                call_links(resend.account, c, service_type=service_type, mirrored=mirrored),
            )
            for c in calls
        ],
        "settled": settled,
        "can_retry": retryable and not refused,
        "can_cancel": cancellable and not refused,
        # Why a button that a manager (or the submitter) would see is not offered here.
        "held_back": refused[0].message if refused and (retryable or cancellable) else "",
        # Its bulk job paused: what is not sent yet waits for a manager to resume the job.
        "job_paused": not settled
        and held_by(resend.bulk_job.state if resend.bulk_job else None) == "paused",
        "retry_token": new_token(),
    }


@require_GET
@console_view
def request_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    resend = _load(public_id, whole_page=True)
    context = {
        **_status_context(request, resend),
        "retries": list(resend.retries.order_by("submitted_at")),
        "chargebee_told": chargebee_told(list(resend.calls.all())),
        "can_audit": can_audit(request.user),
    }
    return render(request, TEMPLATE, context)


@require_GET
@console_view
def request_status(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The live status panel. Answers 286 once settled, which tells htmx to stop polling."""
    if not is_htmx(request):
        return redirect("resends:request", public_id=public_id)
    context = _status_context(request, _load(public_id, whole_page=False))
    return live_panel(request, f"{TEMPLATE}#status", context, finished=context["settled"])


@require_POST
@console_view
def request_retry(request: HttpRequest, public_id: UUID) -> HttpResponse:
    resend = get_object_or_404(ResendRequest, public_id=public_id)
    token = request.POST.get("token", "")
    try:
        UUID(token)
    except ValueError:
        messages.error(request, "This page has expired; reload it and try again.")
        return redirect("resends:request", public_id=public_id)
    try:
        submitted = retry_failed(
            actor=signed_in_user(request),
            request=resend,
            intent_key=f"web:{token}",
            channel=Channel.WEB,
        )
    except RuleViolation as violation:
        messages.error(request, f"Not retried: {violation}")
        return redirect("resends:request", public_id=public_id)
    return after_submit(request, submitted)


@require_POST
@console_view
def request_cancel(request: HttpRequest, public_id: UUID) -> HttpResponse:
    resend = get_object_or_404(ResendRequest, public_id=public_id)
    try:
        cancel_returnhelper_resend(actor=signed_in_user(request), request=resend)
    except RuleViolation as violation:
        messages.error(request, f"Not cancelled: {violation}")
    else:
        messages.success(request, "Cancellation sent to Return Helper; this page shows its answer.")
    url = reverse("resends:request", args=[public_id])
    return redirect(url)


@require_GET
@console_view
def request_list(request: HttpRequest) -> HttpResponse:
    form = RequestListForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    job = BulkJob.objects.filter(public_id=data["job"]).first() if data.get("job") else None
    scope = "all" if job else data.get("scope") or "mine"
    if job is not None:  # every resend the job made, however long ago
        base = ResendRequest.objects.filter(bulk_job=job)
    else:
        days = data.get("days") or 7
        since = timezone.now() - timedelta(days=days)
        base = ResendRequest.objects.filter(submitted_at__gte=since)
    if scope == "mine":
        base = base.filter(submitted_by=signed_in_user(request))
    if data.get("item"):  # the resends that touched one order or item
        touched = ResendTarget.objects.filter(external_ref=data["item"]).values("request_id")
        base = base.filter(pk__in=touched)
    if data.get("kind"):
        base = base.filter(kind=data["kind"])
    if data.get("account"):
        base = base.filter(account=data["account"])
    counts = dict(base.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    rows = base
    if data.get("state"):
        rows = rows.filter(state=data["state"])
    rows = (
        rows.select_related("account", "submitted_by")
        .prefetch_related("targets")
        .order_by("-submitted_at", "-id")
    )
    before = parse_id(request.GET.get("before"))
    if before is not None:
        anchor = ResendRequest.objects.filter(pk=before).values("submitted_at").first()
        if anchor:
            rows = rows.filter(
                Q(submitted_at__lt=anchor["submitted_at"])
                | Q(submitted_at=anchor["submitted_at"], pk__lt=before)
            )
    page = list(rows[: LIST_PAGE + 1])
    more = page[LIST_PAGE - 1].pk if len(page) > LIST_PAGE else None
    params = request.GET.copy()
    params.pop("before", None)
    state_links = []
    for value, label in ResendRequest.State.choices:
        if counts.get(value):
            p = params.copy()
            p["state"] = value
            state_links.append((value, label, counts[value], p.urlencode()))
    next_params = params.copy()
    if more:
        next_params["before"] = str(more)
    context = {
        "form": form,
        "scope": scope,
        "job": job,
        "rows": page[:LIST_PAGE],
        "total": sum(counts.values()),
        "state_links": state_links,
        "next_query": next_params.urlencode() if more else "",
        "scope_links": [
            (value, label, _with(params, "scope", value)) for value, label in RequestListForm.SCOPES
        ],
    }
    return render(request, "resends/request_list.html", context)


def _with(params: Any, name: str, value: str) -> str:
    p = params.copy()
    p[name] = value
    p.pop("state", None)
    return p.urlencode()
