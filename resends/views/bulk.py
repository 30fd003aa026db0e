"""Bulk jobs in the console (managers): create with a preview, follow the progress live, pause,
resume, cancel, retry the failed items, and approve or reject another manager's job."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from .. import rules
from ..inputs import clean_text
from ..models import BulkJob, BulkKind, BulkState, ProviderAccount, SavedFilter
from ..rules import RuleViolation
from ..selectors import bulk_selection
from ..selectors.bulk_progress import progress as job_progress
from ..selectors.bulk_progress import waiting_on
from ..services import bulk_jobs, bulk_run, saved_filters
from ..times import parse_time
from .common import (
    form_problems,
    is_htmx,
    live_panel,
    manager_view,
    render_page_or_partial,
    signed_in_user,
)
from .forms import LocalDateTimeField, in_time_zone

TEMPLATE = "resends/bulk_job.html"


class BulkJobForm(forms.Form):
    kind = forms.ChoiceField(choices=BulkKind.choices, label="What to do")
    status = forms.CharField(required=False, max_length=100, label="Order status (optional)")
    updated_from = LocalDateTimeField(required=False, label="Orders updated from")
    updated_to = LocalDateTimeField(required=False, label="Orders updated before")
    start_at = LocalDateTimeField(required=False, label="Window start")
    end_at = LocalDateTimeField(required=False, label="Window end")
    warehouse_id = forms.ChoiceField(required=False, label="Warehouse")
    created_from = LocalDateTimeField(required=False, label="Items received from")
    created_to = LocalDateTimeField(required=False, label="Items received before")
    sku = forms.CharField(required=False, max_length=100, label="SKU (optional)")
    rma = forms.CharField(required=False, max_length=64, label="RMA (optional)")
    service_type = forms.CharField(
        required=False, max_length=100, label="Service type", widget=forms.Select
    )
    reason_code = forms.ChoiceField(required=False, label="Reason code (Chargebee)")
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    dry_run = forms.BooleanField(required=False, label="Dry run: preview and record, send nothing")
    saved_filter = forms.ModelChoiceField(
        queryset=SavedFilter.objects.all(), required=False, widget=forms.HiddenInput
    )
    filter_name = forms.CharField(
        required=False, max_length=100, label="Save this filter as", strip=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # times are typed in the staff member's zone
            if isinstance(field, LocalDateTimeField):
                field.label = in_time_zone(str(field.label))
        codes = rules.chargebee_reason_codes()
        cast(forms.ChoiceField, self.fields["reason_code"]).choices = [
            ("", "—"),
            *((c, c) for c in codes),
        ]
        account = bulk_selection.account_for(BulkKind.RETURNHELPER_INVENTORIES)
        warehouses = bulk_selection.mirrored_warehouses(account)
        cast(forms.ChoiceField, self.fields["warehouse_id"]).choices = [
            ("", "Pick a warehouse"),
            *((w, w) for w in warehouses),
        ]
        cast(forms.Select, self.fields["service_type"].widget).choices = [
            ("", "Pick a service type"),
            *bulk_selection.service_type_choices(account, warehouses),
        ]

    @classmethod
    def initial_from(cls, saved: SavedFilter) -> dict[str, Any]:
        """The form's fields as the saved filter sets them (times as the inputs show them)."""
        initial: dict[str, Any] = {"kind": saved.kind, "saved_filter": saved.pk}
        for name, value in saved.criteria.items():
            if name in cls.base_fields:
                field = cls.base_fields[name]
                initial[name] = (
                    parse_time(value) if isinstance(field, LocalDateTimeField) else value
                )
        return initial

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("kind"):
            for problem in rules.bulk_criteria_problems(data["kind"], data):
                self.add_error(problem.subject, problem.message)
        return data

    def criteria(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            name: (data[name].isoformat() if hasattr(data[name], "isoformat") else data[name])
            for name in bulk_selection.CRITERIA_OF_KIND[data["kind"]]
            if data.get(name)
        }

    def chosen_service_type(self) -> str:
        if self.cleaned_data["kind"] != BulkKind.RETURNHELPER_INVENTORIES:
            return ""
        return str(self.cleaned_data.get("service_type") or "")

    def account(self) -> ProviderAccount:
        return bulk_selection.account_for(self.cleaned_data["kind"])


@require_http_methods(["GET", "POST"])
@manager_view
def bulk_new(request: HttpRequest) -> HttpResponse:
    """Preview, create, or save the filter under a name; `?filter=NAME` starts from a saved one."""
    context: dict[str, Any] = {"preview": None, "problems": [], "saved": None, "loaded": None}
    initial: dict[str, Any] = {"kind": BulkKind.JUNCTION_ORDERS}
    if request.method == "GET" and request.GET.get("filter"):
        try:
            name = clean_text(request.GET["filter"], max_length=100) or ""
            context["loaded"] = bulk_selection.find_filter(name)
            initial = BulkJobForm.initial_from(context["loaded"])
        except RuleViolation as violation:
            context["problems"] = violation.problems
    form = BulkJobForm(request.POST or None, initial=initial)
    context["form"] = form
    if request.method == "POST":
        if not form.is_valid():
            context["problems"] = form_problems(form)
        else:
            try:
                action = request.POST.get("action")
                if action == "create":
                    job = _create(request, form)
                    messages.success(request, _created_message(job))
                    url = reverse("resends:bulk-job", args=[job.public_id])
                    # From the HTMX form, a plain redirect would be followed by the XHR and the
                    # whole job page swapped into #preview: the browser is told to go there.
                    return HttpResponseClientRedirect(url) if is_htmx(request) else redirect(url)
                if action == "save_filter":
                    context["saved"], context["saved_new"] = saved_filters.save_filter(
                        actor=signed_in_user(request), name=form.cleaned_data["filter_name"],
                        kind=form.cleaned_data["kind"], account=form.account(),
                        criteria=form.criteria(),
                    )  # fmt: skip
                context["preview"] = bulk_selection.preview(
                    form.cleaned_data["kind"], form.account(), form.criteria(),
                    service_type=form.chosen_service_type(),
                )  # fmt: skip
            except RuleViolation as violation:
                context["problems"] = violation.problems
    context["threshold"] = bulk_jobs.approval_threshold()
    context["group_max"] = rules.returnhelper_group_max()
    context["max_window_days"] = rules.JUNCTION_MAX_WINDOW.days
    context["saved_filters"] = SavedFilter.objects.all()
    return render_page_or_partial(request, "resends/bulk_new.html", "preview", context)


def _create(request: HttpRequest, form: BulkJobForm) -> BulkJob:
    kind, account, criteria = form.cleaned_data["kind"], form.account(), form.criteria()
    source = bulk_selection.unchanged(
        form.cleaned_data["saved_filter"], kind=kind, account=account, criteria=criteria
    )
    job, _ = bulk_jobs.create_job(
        actor=signed_in_user(request), kind=kind, account=account, criteria=criteria,
        reason_code=form.cleaned_data["reason_code"], service_type=form.chosen_service_type(),
        note=form.cleaned_data["note"], dry_run=form.cleaned_data["dry_run"], saved_filter=source,
    )  # fmt: skip
    return job


def _created_message(job: BulkJob) -> str:
    if job.state == BulkState.AWAITING_APPROVAL:
        return "Created. It waits for another manager's approval before anything is sent."
    if job.state == BulkState.DRY_RUN:
        return "Dry run recorded; nothing will be sent."
    return "Created and started."


@require_GET
@manager_view
def bulk_list(request: HttpRequest) -> HttpResponse:
    jobs = BulkJob.objects.select_related("created_by", "account", "approved_by")[:100]
    return render(request, "resends/bulk_list.html", {"jobs": jobs})


def _context(request: HttpRequest, job: BulkJob) -> dict[str, Any]:
    progress = job_progress(job)
    return {
        "job": job,
        "progress": progress,
        "waiting": waiting_on(job),
        "live": job.state in (BulkState.QUEUED, BulkState.RUNNING, BulkState.PAUSED),
        "can_decide": (
            job.state == BulkState.AWAITING_APPROVAL
            and request.user.has_perm("resends.approve_resendrequest")
            and request.user.pk != job.created_by_id
        ),
        "can_retry": job.state in (BulkState.FINISHED, BulkState.CANCELLED) and progress.failed,
        "retries": list(job.retries.all()),
    }


@require_GET
@manager_view
def bulk_job(request: HttpRequest, public_id: UUID) -> HttpResponse:
    job = get_object_or_404(
        BulkJob.objects.select_related("created_by", "account"), public_id=public_id
    )
    return render(request, TEMPLATE, _context(request, job))


@require_GET
@manager_view
def bulk_progress(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The live progress panel; 286 (stop polling) once the job can no longer change."""
    job = get_object_or_404(
        BulkJob.objects.select_related("created_by", "account"), public_id=public_id
    )
    if not is_htmx(request):
        return redirect("resends:bulk-job", public_id=public_id)
    context = _context(request, job)
    return live_panel(request, f"{TEMPLATE}#progress", context, finished=not context["live"])


@require_POST
@manager_view
def bulk_action(request: HttpRequest, public_id: UUID, action: str) -> HttpResponse:
    job = get_object_or_404(BulkJob, public_id=public_id)
    try:
        if action == "pause":
            bulk_run.pause(job)
            messages.success(request, "Paused: nothing more is sent until you resume.")
        elif action == "resume":
            bulk_run.resume(job)
            messages.success(request, "Resumed.")
        elif action == "cancel":
            bulk_run.cancel(job)
            messages.success(
                request, "Cancelled. What was already sent stands; the rest was not sent."
            )
        elif action == "retry":
            retry = bulk_jobs.create_retry_job(job, actor=signed_in_user(request))
            messages.success(request, "A new job retries the failed items.")
            return redirect("resends:bulk-job", public_id=retry.public_id)
        elif action in ("approve", "reject"):
            bulk_jobs.decide(
                job, manager=signed_in_user(request), approve=action == "approve",
                note=clean_text(request.POST.get("note", ""), max_length=2000) or "",
            )  # fmt: skip
            messages.success(
                request, "Approved and started." if action == "approve" else "Rejected."
            )
        else:
            raise PermissionDenied("Unknown action.")
    except RuleViolation as violation:
        messages.error(request, str(violation))
    return redirect("resends:bulk-job", public_id=public_id)
