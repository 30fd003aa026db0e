"""The resend audit: requests, their targets, provider calls and attempts, and webhook events.

Who sees what is decided by the view permissions of the two roles (`resends/roles.py`); the audit
models add nothing, change nothing and delete nothing here, superusers included. The lists follow
the large-table rules of `tables.py`.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Subquery, URLField, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from ..inputs import parse_id, parse_int
from ..models import (
    CallAttempt,
    Provider,
    ProviderCall,
    ResendRequest,
    ResendTarget,
    ReviewDecision,
    WebhookEvent,
)
from ..models.audit import CallState
from ..redaction import redact_value
from .export import stream_resend_requests_csv
from .tables import (
    LargeTableAdmin,
    LargeTableChangeList,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    as_pk,
    as_uuid,
    count_of,
    ids_in,
    pretty_json,
)

# Calls in these states are what a manager looks for when "something went wrong".
TROUBLED_CALL_STATES = (CallState.FAILED, CallState.UNKNOWN, CallState.NEEDS_REVIEW)


def target_label() -> Coalesce:
    """What a ResendTarget is about, as one short string: line, inventory, order or bare id."""
    return Coalesce(
        NullIf("line_item__external_id", Value("")),
        NullIf("inventory__external_id", Value("")),
        NullIf("order__external_id", Value("")),
        "external_ref",
        output_field=CharField(),
    )


# Payload keys whose value is a day as Unix seconds (Chargebee's shipping_date: midnight UTC).
UNIX_DAY_KEYS = frozenset({"shipping_date"})
LAST_UNIX_SECOND = 253402300799  # 9999-12-31 23:59:59 UTC


def with_readable_dates(value: Any) -> Any:
    """`value` (recorded JSON) with each Unix-seconds day shown as "2025-01-01 (1735689600)".

    The number is what was sent, so it stays; the date beside it is what a manager reads.
    """
    if isinstance(value, dict):
        return {
            key: readable_day(item) if key in UNIX_DAY_KEYS else with_readable_dates(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [with_readable_dates(item) for item in value]
    return value


def readable_day(value: Any) -> Any:
    seconds = parse_int(str(value), minimum=0, maximum=LAST_UNIX_SECOND)
    if seconds is None or isinstance(value, bool):
        return value
    return f"{datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC):%Y-%m-%d} ({value})"


def requests_matching(term: str) -> QuerySet[Any]:
    """The ids of the resend requests a manager means by `term`: exact, indexed matches only.

    An email finds the requests about that customer's orders (emails are stored lower-case);
    anything else is an order id, a target's provider id, a provider reference, a helpdesk
    ticket, an idempotency key or public id (uuid), or a request id ("123" or "#123").
    """
    targets = ResendTarget.objects.values("request_id")
    calls = ProviderCall.objects.values("request_id")
    requests = ResendRequest.objects.values("id")
    if "@" in term:
        return ids_in(targets.filter(order__customer_email=term.lower()))
    parts: list[QuerySet[Any]] = [
        targets.filter(order__external_id=term),
        targets.filter(external_ref=term),
        calls.filter(provider_reference=term),
        requests.filter(ticket=term),
    ]
    if (key := as_uuid(term)) is not None:
        parts += [calls.filter(idempotency_key=key), requests.filter(public_id=key)]
    if (pk := as_pk(term)) is not None:
        parts.append(requests.filter(pk=pk))
    return ids_in(*parts)


class SubmitterFilter(admin.SimpleListFilter):
    """Only people who submitted something: an indexed probe per user, no DISTINCT over requests."""

    title = "submitter"
    parameter_name = "submitter"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        users = (
            get_user_model()
            .objects.filter(Exists(ResendRequest.objects.filter(submitted_by=OuterRef("pk"))))
            .order_by("username")
            .values_list("pk", "username")
        )
        return [(str(pk), username) for pk, username in users]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if (user_id := parse_id(value)) is None:
            raise IncorrectLookupParameters(f"Unknown submitter {value[:20]!r}.")
        return queryset.filter(submitted_by_id=user_id)


class ResendTargetInline(ReadOnlyInline):
    model = ResendTarget
    fields = ("order", "line_item", "quantity", "inventory", "external_ref")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ResendTarget]:
        return super().get_queryset(request).select_related("order", "line_item", "inventory")


class ProviderCallInline(ReadOnlyInline):
    """Each call links to its own page, where its attempts are listed."""

    model = ProviderCall
    fields = (
        "operation",
        "subject",
        "state",
        "attempts",
        "provider_reference",
        "provider_status",
        "error_class",
        "failure_reason",
        "created_at",
        "finished_at",
    )
    readonly_fields = ("created_at",)
    formfield_overrides = {URLField: {"assume_scheme": "https"}}


class ReviewDecisionInline(ReadOnlyInline):
    """A manager's decisions on calls that needed review: new rows only, never edited."""

    model = ReviewDecision
    fk_name = "call"
    fields = (
        "decided_at",
        "decided_by",
        "channel",
        "decision",
        "provider_reference",
        "why",
        "review_reason",
        "call_state_after",
        "evidence_pretty",
    )
    readonly_fields = ("decided_at", "evidence_pretty")
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewDecision]:
        return super().get_queryset(request).select_related("decided_by")

    @admin.display(description="Evidence shown")
    def evidence_pretty(self, decision: ReviewDecision) -> str:
        return pretty_json(redact_value(decision.evidence))


class RequestReviewDecisionInline(ReviewDecisionInline):
    fk_name = "request"
    fields = (  # type: ignore[assignment]  # the call's column added in front
        "call",
        "decided_at",
        "decided_by",
        "channel",
        "decision",
        "provider_reference",
        "why",
        "review_reason",
        "call_state_after",
        "evidence_pretty",
    )


# Characters of a reason and of the first target shown in the list (whole in the tooltip).
REASON_SHOWN = 40
TARGET_SHOWN = 28


def cut(text: str, length: int) -> str:
    """`text` cut to `length` characters; the whole text in the tooltip when it was cut."""
    short = Truncator(text).chars(length)
    return short if short == text else format_html('<span title="{}">{}</span>', text, short)


PAGE_FACTS = ("target_count", "first_target", "call_count", "troubled_call_count")


def page_facts(rows: list[ResendRequest]) -> list[ResendRequest]:
    """Targets and calls of the requests on a page, in one query, set on each row."""
    targets = ResendTarget.objects.filter(request=OuterRef("pk"))
    calls = ProviderCall.objects.filter(request=OuterRef("pk"))
    first_target = targets.order_by("id").values_list(target_label())[:1]
    facts = (
        ResendRequest.objects.filter(pk__in=[row.pk for row in rows])
        .order_by()
        .annotate(
            target_count=count_of(targets),
            first_target=Subquery(first_target, output_field=CharField()),
            call_count=count_of(calls),
            troubled_call_count=count_of(calls.filter(state__in=TROUBLED_CALL_STATES)),
        )
        .values_list("pk", *PAGE_FACTS)
    )
    by_pk = {pk: values for pk, *values in facts}
    for row in rows:
        for name, value in zip(PAGE_FACTS, by_pk.get(row.pk, (0, None, 0, 0)), strict=True):
            setattr(row, name, value)
    return rows


class ResendRequestChangeList(LargeTableChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = page_facts(list(self.result_list))


@admin.register(ResendRequest)
class ResendRequestAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    # Seven narrow columns, so the list fits a 1366-pixel screen beside the filters: the account
    # and the channel are filters (and on the request page); long values are cut, whole on hover.
    list_display = (
        "submitted",
        "submitted_by",
        "kind",
        "state",
        "reason",
        "targets_summary",
        "calls_summary",
    )
    list_display_links = ("submitted",)
    list_select_related = ("submitted_by",)
    list_filter = ("account", "state", "kind", "channel", SubmitterFilter)
    date_hierarchy = "submitted_at"
    sortable_by = ("submitted",)
    search_fields = ("=public_id",)  # shows the box; get_search_results does the work
    search_help_text = (
        "Exact order id, customer email, provider reference, ticket, idempotency key or request id."
    )
    actions = None
    inlines = (ResendTargetInline, ProviderCallInline, RequestReviewDecisionInline)
    fieldsets = (
        (
            "Who, when, what",
            {
                "fields": (
                    "console_link",
                    "submitted_by",
                    "submitted_at",
                    "channel",
                    "account",
                    "kind",
                    "public_id",
                )
            },
        ),
        ("Why", {"fields": ("reason_code", "note", "ticket")}),
        (
            "Selection",
            {
                "fields": (
                    "selection_pretty",
                    "window_start",
                    "window_end",
                    "shipping_date",
                    "destination_pretty",
                )
            },
        ),
        ("What happened", {"fields": ("state", "state_changed_at", "finished_at", "retry_of")}),
        ("Approval", {"fields": ("approved_by", "approved_at", "approval_note")}),
        ("Bookkeeping", {"classes": ("collapse",), "fields": ("intent_key",)}),
    )
    readonly_fields = ("console_link", "selection_pretty", "destination_pretty")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ResendRequestChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ResendRequest], search_term: str
    ) -> tuple[QuerySet[ResendRequest], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(pk__in=requests_matching(term)), False

    @admin.display(description="Submitted", ordering="submitted_at")
    def submitted(self, obj: ResendRequest) -> str:
        return f"{timezone.localtime(obj.submitted_at):%Y-%m-%d %H:%M %Z}"

    @admin.display(description="Reason")
    def reason(self, obj: ResendRequest) -> str:
        return cut(obj.reason_code, REASON_SHOWN) or "-"

    @admin.display(description="Targets")
    def targets_summary(self, obj: ResendRequest) -> str:
        count = obj.target_count  # type: ignore[attr-defined]
        if not count:
            if obj.window_start:
                return f"window from {timezone.localtime(obj.window_start):%Y-%m-%d %H:%M %Z}"
            return "-"
        first = cut(obj.first_target or "?", TARGET_SHOWN)  # type: ignore[attr-defined]
        return first if count == 1 else format_html("{} +{} more", first, count - 1)

    @admin.display(description="Calls")
    def calls_summary(self, obj: ResendRequest) -> str:
        count, troubled = obj.call_count, obj.troubled_call_count  # type: ignore[attr-defined]
        return f"{count} ({troubled} not ok)" if troubled else str(count)

    @admin.display(description="Console")
    def console_link(self, obj: ResendRequest) -> str:
        return format_html(
            '<a href="{}">Open this resend in the console</a>',
            reverse("resends:request", args=[obj.public_id]),
        )

    @admin.display(description="Selection")
    def selection_pretty(self, obj: ResendRequest) -> str:
        return pretty_json(with_readable_dates(obj.selection))

    @admin.display(description="Destination")
    def destination_pretty(self, obj: ResendRequest) -> str:
        return pretty_json(obj.destination)

    # --- CSV export of the filtered list --------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_csv_view),
            name="resends_resendrequest_export",
        )
        return [export, *super().get_urls()]

    def export_csv_view(self, request: HttpRequest) -> HttpResponseBase:
        """The changelist as filtered and searched on screen (same query string), streamed."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            url = reverse("admin:resends_resendrequest_changelist")
            return HttpResponseRedirect(f"{url}?e=1")
        return stream_resend_requests_csv(
            changelist.get_queryset(request), zone=timezone.get_current_timezone()
        )


@admin.register(ResendTarget)
class ResendTargetAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = ("id", "request", "order", "line_item", "quantity", "inventory", "external_ref")
    list_select_related = ("request", "order", "line_item", "inventory")
    sortable_by = ()
    actions = None
    search_fields = ("=external_ref",)
    search_help_text = "Exact provider id or order id."

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ResendTarget], search_term: str
    ) -> tuple[QuerySet[ResendTarget], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        targets = ResendTarget.objects.values("id")
        matching = ids_in(
            targets.filter(external_ref=term), targets.filter(order__external_id=term)
        )
        return queryset.filter(pk__in=matching), False


class CallAttemptInline(ReadOnlyInline):
    model = CallAttempt
    fields = (
        "number",
        "started_at",
        "duration_ms",
        "response_status",
        "response_excerpt",
        "outcome",
        "error_class",
        "error_message",
        "celery_task_id",
        "worker",
        "request_pretty",
    )
    readonly_fields = ("started_at", "request_pretty")

    @admin.display(description="Request (redacted)")
    def request_pretty(self, attempt: CallAttempt) -> str:
        return pretty_json(with_readable_dates(redact_value(attempt.request_redacted)))


def call_search(term: str) -> Q:
    found = Q(provider_reference=term)
    if (key := as_uuid(term)) is not None:
        found |= Q(idempotency_key=key)
    if (pk := as_pk(term)) is not None:
        found |= Q(pk=pk) | Q(request_id=pk)
    return found


@admin.register(ProviderCall)
class ProviderCallAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = (
        "created_at",
        "request",
        "account",
        "operation",
        "subject",
        "state",
        "attempts",
        "provider_reference",
        "error_class",
        "finished_at",
    )
    list_display_links = ("created_at",)
    list_select_related = ("request", "account")
    list_filter = ("state", "operation", "account", "error_class")
    date_hierarchy = "created_at"
    sortable_by = ()
    actions = None
    ordering = ("-created_at", "-id")
    search_fields = ("=provider_reference",)
    search_help_text = "Exact provider reference, idempotency key, call id or request id."
    inlines = (CallAttemptInline, ReviewDecisionInline)
    exclude = ("payload",)
    formfield_overrides = {URLField: {"assume_scheme": "https"}}
    readonly_fields = ("payload_pretty",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ProviderCall], search_term: str
    ) -> tuple[QuerySet[ProviderCall], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(call_search(term)), False

    @admin.display(description="Payload")
    def payload_pretty(self, call: ProviderCall) -> str:
        return pretty_json(with_readable_dates(redact_value(call.payload)))


@admin.register(CallAttempt)
class CallAttemptAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = (
        "started_at",
        "call",
        "number",
        "duration_ms",
        "response_status",
        "outcome",
        "error_class",
        "celery_task_id",
    )
    list_display_links = ("started_at",)
    list_select_related = ("call",)
    list_filter = ("error_class",)
    sortable_by = ()
    actions = None
    search_fields = ("=call__provider_reference",)
    search_help_text = "Exact call idempotency key, provider reference or call id."
    exclude = ("request_redacted",)
    readonly_fields = ("request_pretty",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CallAttempt], search_term: str
    ) -> tuple[QuerySet[CallAttempt], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        calls = ProviderCall.objects.filter(call_search(term)).order_by().values("id")
        return queryset.filter(call_id__in=calls), False

    @admin.display(description="Request (redacted)")
    def request_pretty(self, attempt: CallAttempt) -> str:
        return pretty_json(with_readable_dates(redact_value(attempt.request_redacted)))


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    """Managers' decisions on calls that needed review (written by services/review.py only)."""

    list_display = (
        "decided_at",
        "decided_by",
        "decision",
        "call",
        "request",
        "provider_reference",
        "short_why",
    )
    list_display_links = ("decided_at",)
    list_select_related = ("decided_by", "call", "request")
    list_filter = ("decision", "channel")
    date_hierarchy = "decided_at"
    sortable_by = ()
    actions = None
    search_fields = ("=provider_reference",)
    search_help_text = "Exact provider reference, call id or request id."
    exclude = ("evidence",)
    readonly_fields = ("evidence_pretty",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ReviewDecision], search_term: str
    ) -> tuple[QuerySet[ReviewDecision], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        found = Q(provider_reference=term)
        if (pk := as_pk(term)) is not None:
            found |= Q(call_id=pk) | Q(request_id=pk)
        return queryset.filter(found), False

    @admin.display(description="Why")
    def short_why(self, decision: ReviewDecision) -> str:
        return cut(decision.why, REASON_SHOWN)

    @admin.display(description="Evidence shown")
    def evidence_pretty(self, decision: ReviewDecision) -> str:
        return pretty_json(redact_value(decision.evidence))


# --- Webhooks -------------------------------------------------------------------------------------


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    """What providers told us. Written by the webhook handlers only."""

    list_display = ("received_at", "provider", "account", "event_type", "dedupe_key", "outcome")
    list_display_links = ("received_at",)
    list_select_related = ("account",)
    list_filter = ("provider", "account")
    date_hierarchy = "received_at"
    sortable_by = ()
    actions = None
    search_fields = ("=dedupe_key",)
    search_help_text = "Exact dedupe key (the provider's event id)."
    exclude = ("payload",)
    readonly_fields = ("payload_pretty",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[WebhookEvent], search_term: str
    ) -> tuple[QuerySet[WebhookEvent], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # Naming every provider lets the (provider, dedupe_key) unique index serve the lookup.
        return queryset.filter(provider__in=Provider.values, dedupe_key=term), False

    @admin.display(description="Payload")
    def payload_pretty(self, event: WebhookEvent) -> str:
        return pretty_json(redact_value(event.payload))
