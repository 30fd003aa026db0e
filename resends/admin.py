"""The Django admin, for managers: the resend audit (read-only for everyone) and the mirrors.

Who sees what is decided by the view permissions of the two roles (`resends/roles.py`); the audit
models add nothing, change nothing and delete nothing here, superusers included.

Every list must stay fast on millions of rows, so:
- searches are exact (or prefix) matches on indexed columns, never joins + DISTINCT (Django's
  default `icontains` across joins reads every row). A term that may name several things becomes
  one `id IN (a UNION b UNION c)` of indexed lookups: PostgreSQL runs that as a semi-join from the
  few matches, where `EXISTS(a) OR EXISTS(b)` makes it test every row of the list;
- no second full count (`show_full_result_count = False`), no facet counts; an unfiltered list
  of a big table is numbered from PostgreSQL's row estimate instead of a COUNT(*) over it;
- related columns through `list_select_related`; per-row facts (counts, summaries) come from one
  query over the page's ids once the page is cut (subqueries in the list query itself would also
  run for every row skipped by OFFSET);
- the date hierarchy reads the min and max of the filtered rows (two index probes) and lists the
  periods between them, instead of a `SELECT DISTINCT date_trunc(...)` over every row.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import (
    CharField,
    Count,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    URLField,
    Value,
)
from django.db.models.functions import Coalesce, NullIf, Upper
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import Truncator

from .accounts import env_variable_names
from .admin_export import stream_resend_requests_csv
from .models import (
    CallAttempt,
    LineItem,
    Order,
    Provider,
    ProviderAccount,
    ProviderCall,
    ResendRequest,
    ResendTarget,
    ReturnInventory,
    WebhookEvent,
)
from .models.audit import CallState
from .redaction import redact_value

# Calls in these states are what a manager looks for when "something went wrong".
TROUBLED_CALL_STATES = (CallState.FAILED, CallState.UNKNOWN, CallState.NEEDS_REVIEW)


# --- Shared building blocks -----------------------------------------------------------------------


def pretty_json(value: Any) -> str:
    """JSON indented inside <pre>, escaped; for read-only display of raw payloads."""
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str),
    )


def as_uuid(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


def as_pk(term: str) -> int | None:
    """A search term naming a row id ("123" or "#123"), within the bigint range."""
    digits = term.removeprefix("#")
    if digits.isdigit() and len(digits) <= 18:
        return int(digits)
    return None


def prefix_upper_bound(prefix: str) -> str:
    """The least string above all strings starting with `prefix` (in code-point order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def ids_in(*parts: QuerySet[Any]) -> QuerySet[Any]:
    """One column of ids from several indexed lookups, as a single UNION subquery."""
    first, *rest = (part.order_by() for part in parts)
    return first.union(*rest) if rest else first


def count_of(queryset: QuerySet[Any]) -> Coalesce:
    """A correlated COUNT(*) of `queryset` (already filtered on an OuterRef) as an annotation."""
    counted = queryset.order_by().values(dummy=Value(1)).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def target_label() -> Coalesce:
    """What a ResendTarget is about, as one short string: line, inventory, order or bare id."""
    return Coalesce(
        NullIf("line_item__external_id", Value("")),
        NullIf("inventory__external_id", Value("")),
        NullIf("order__external_id", Value("")),
        "external_ref",
        output_field=CharField(),
    )


class RangeDatesQuerySetMixin:
    """`dates()` / `datetimes()` from the min and max of the rows, without a DISTINCT over them.

    The admin's date hierarchy asks for the distinct years (months, days) of the filtered rows;
    on millions of rows that is a full scan and a sort. Listing every period between the first
    and the last row costs two index probes instead; a period without rows may show up, and its
    link then shows an empty list.
    """

    def datetimes(
        self, field_name: str, kind: str, order: str = "ASC", tzinfo: Any = None
    ) -> list[datetime.datetime]:
        periods = self._periods(field_name, kind, as_datetimes=True)
        return periods[::-1] if order == "DESC" else periods

    def dates(self, field_name: str, kind: str, order: str = "ASC") -> list[datetime.date]:
        periods = self._periods(field_name, kind, as_datetimes=False)
        return periods[::-1] if order == "DESC" else periods

    def _periods(self, field_name: str, kind: str, *, as_datetimes: bool) -> list[Any]:
        rows = self.order_by()  # type: ignore[attr-defined]
        bounds = rows.aggregate(first=Min(field_name), last=Max(field_name))
        first, last = bounds["first"], bounds["last"]
        if first is None or last is None:
            return []
        if as_datetimes and timezone.is_aware(first):
            first, last = timezone.localtime(first), timezone.localtime(last)
        first_day = first.date() if isinstance(first, datetime.datetime) else first
        last_day = last.date() if isinstance(last, datetime.datetime) else last
        days: Iterator[datetime.date]
        if kind == "year":
            days = (datetime.date(y, 1, 1) for y in range(first_day.year, last_day.year + 1))
        elif kind == "month":
            start = first_day.year * 12 + first_day.month - 1
            end = last_day.year * 12 + last_day.month - 1
            days = (datetime.date(m // 12, m % 12 + 1, 1) for m in range(start, end + 1))
        elif kind == "day":
            span = (last_day - first_day).days
            days = (first_day + datetime.timedelta(days=n) for n in range(span + 1))
        else:
            raise ValueError(f"Unsupported date hierarchy kind {kind!r}.")
        if not as_datetimes:
            return list(days)
        zone = timezone.get_current_timezone()
        return [datetime.datetime.combine(day, datetime.time(), tzinfo=zone) for day in days]


_range_dates_classes: dict[type, type] = {}


def with_range_dates(queryset: QuerySet[Any]) -> QuerySet[Any]:
    base = type(queryset)
    if base not in _range_dates_classes:
        _range_dates_classes[base] = type(
            f"RangeDates{base.__name__}", (RangeDatesQuerySetMixin, base), {}
        )
    clone = queryset._chain()  # type: ignore[attr-defined]
    clone.__class__ = _range_dates_classes[base]
    return clone


def estimated_rows(queryset: Any) -> int | None:
    """PostgreSQL's estimate of the rows of an unfiltered queryset's table, if it has one."""
    if not isinstance(queryset, QuerySet) or queryset.query.where or queryset.query.distinct:
        return None
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] >= 0 else None  # -1: never analyzed


class EstimatedCountPaginator(Paginator):
    """COUNT(*) over a whole big table reads all of it; the planner's estimate (kept current by
    autovacuum) numbers the pages well enough. Filtered lists and small tables count exactly."""

    estimate_above = 100_000

    @cached_property
    def count(self) -> int:
        estimate = estimated_rows(self.object_list)
        if estimate is not None and estimate > self.estimate_above:
            return estimate
        return super().count


class LargeTableChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        return with_range_dates(super().get_queryset(request, exclude_parameters))


class LargeTableAdmin(admin.ModelAdmin):
    """A list over a table that may hold millions of rows (see the module docstring)."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return LargeTableChangeList


class ProviderFilter(admin.SimpleListFilter):
    """Provider through the account ids (a handful), so the account indexes serve the list."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Provider.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None:
            return queryset
        accounts = ProviderAccount.objects.filter(provider=self.value())
        return queryset.filter(account_id__in=list(accounts.values_list("id", flat=True)))


class ReadOnlyAdminMixin:
    """Audit rows are written by the services only: no add, change or delete, superusers included.

    The view permission alone decides who sees them. Without delete permission the admin also
    drops its bulk "delete selected" action.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


# --- Provider accounts ----------------------------------------------------------------------------


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    """Accounts name where their credentials live (environment variables); they hold none.

    Only superusers may add or edit them. Nobody deletes one here: orders and the audit point at
    it; clear "active" instead.
    """

    list_display = (
        "label",
        "provider",
        "code",
        "environment",
        "env_prefix",
        "is_default",
        "is_active",
    )
    list_filter = ("provider", "is_active")
    readonly_fields = ("reads_variables", "created_at")
    fields = (
        "provider",
        "code",
        "label",
        "environment",
        "env_prefix",
        "reads_variables",
        "is_default",
        "is_active",
        "created_at",
    )

    @admin.display(description="Reads from the environment")
    def reads_variables(self, account: ProviderAccount) -> str:
        if not account.env_prefix or account.provider not in Provider.values:
            return "-"
        return ", ".join(env_variable_names(account))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Mirrors --------------------------------------------------------------------------------------


class LineItemInline(admin.TabularInline):
    model = LineItem
    extra = 0
    fields = ("external_id", "description", "sku", "quantity", "status")


@admin.register(Order)
class OrderAdmin(LargeTableAdmin):
    list_display = (
        "external_id",
        "account",
        "customer_name",
        "customer_email",
        "status",
        "provider_created_at",
        "resend_count",
        "is_resent",
    )
    list_select_related = ("account",)
    list_filter = (ProviderFilter, "account", "is_resent")
    sortable_by = ("provider_created_at",)
    search_fields = ("=external_id",)  # shows the box; get_search_results does the work
    search_help_text = "Exact order id, exact customer email, or the start of the customer name."
    inlines = (LineItemInline,)
    exclude = ("raw",)
    readonly_fields = ("raw_pretty", "resends_link", "synced_at")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            return queryset.filter(customer_email=term.lower()), False
        # The name prefix goes through the Upper(customer_name) index: a range on the indexed
        # expression finds the candidates; LIKE (istartswith) keeps the exact meaning.
        prefix = term.upper()
        by_name = Q(
            upper_name__gte=prefix,
            upper_name__lt=prefix_upper_bound(prefix),
            customer_name__istartswith=term,
        )
        queryset = queryset.alias(upper_name=Upper("customer_name"))
        return queryset.filter(Q(external_id=term) | by_name), False

    @admin.display(description="Raw provider data")
    def raw_pretty(self, order: Order) -> str:
        return pretty_json(order.raw)

    @admin.display(description="Resends")
    def resends_link(self, order: Order) -> str:
        url = reverse("admin:resends_resendrequest_changelist")
        return format_html(
            '<a href="{}?{}">Resend requests for this order</a>',
            url,
            urlencode({"q": order.external_id}),
        )


@admin.register(LineItem)
class LineItemAdmin(LargeTableAdmin):
    list_display = ("external_id", "order", "description", "sku", "quantity", "status")
    list_select_related = ("order",)
    sortable_by = ()
    search_fields = ("=order__external_id",)
    search_help_text = "Exact order id."

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[LineItem], search_term: str
    ) -> tuple[QuerySet[LineItem], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(order__external_id=term), False


@admin.register(ReturnInventory)
class ReturnInventoryAdmin(LargeTableAdmin):
    list_display = (
        "external_id",
        "rma",
        "account",
        "warehouse_id",
        "handling_code",
        "sku",
        "quantity",
        "in_stock",
        "order",
        "provider_created_at",
    )
    list_select_related = ("account", "order")
    list_filter = ("account", "in_stock", "pending_vas")
    sortable_by = ("provider_created_at",)
    search_fields = ("=external_id", "=rma")
    search_help_text = "Exact returnInventoryId or RMA."
    exclude = ("raw",)
    readonly_fields = ("raw_pretty", "synced_at")
    raw_id_fields = ("order",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ReturnInventory], search_term: str
    ) -> tuple[QuerySet[ReturnInventory], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(external_id=term) | Q(rma=term)), False

    @admin.display(description="Raw provider data")
    def raw_pretty(self, inventory: ReturnInventory) -> str:
        return pretty_json(inventory.raw)


# --- The audit ------------------------------------------------------------------------------------


def requests_matching(term: str) -> QuerySet[Any]:
    """The ids of the resend requests a manager means by `term`: exact, indexed matches only.

    An email finds the requests about that customer's orders (emails are stored lower-case);
    anything else is an order id, a target's provider id, a provider reference, an idempotency
    key or public id (uuid), or a request id ("123" or "#123").
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
        if not value.isdigit():
            raise IncorrectLookupParameters(f"Unknown submitter {value!r}.")
        return queryset.filter(submitted_by_id=int(value))


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
    list_display = (
        "submitted_at",
        "submitted_by",
        "account",
        "kind",
        "state",
        "reason_code",
        "targets_summary",
        "calls_summary",
        "channel",
    )
    list_display_links = ("submitted_at",)
    list_select_related = ("submitted_by", "account")
    list_filter = (
        ProviderFilter,
        "account",
        "state",
        "kind",
        "channel",
        SubmitterFilter,
    )
    date_hierarchy = "submitted_at"
    sortable_by = ("submitted_at",)
    search_fields = ("=public_id",)  # shows the box; get_search_results does the work
    search_help_text = (
        "Exact order id, customer email, provider reference, idempotency key or request id."
    )
    actions = None
    inlines = (ResendTargetInline, ProviderCallInline)
    fieldsets = (
        (
            "Who, when, what",
            {"fields": ("submitted_by", "submitted_at", "channel", "account", "kind", "public_id")},
        ),
        ("Why", {"fields": ("reason_code", "note")}),
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
    readonly_fields = ("selection_pretty", "destination_pretty")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ResendRequestChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ResendRequest], search_term: str
    ) -> tuple[QuerySet[ResendRequest], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(pk__in=requests_matching(term)), False

    @admin.display(description="Targets")
    def targets_summary(self, obj: ResendRequest) -> str:
        count = obj.target_count  # type: ignore[attr-defined]
        if not count:
            if obj.window_start:
                return f"window from {obj.window_start:%Y-%m-%d %H:%M}"
            return "-"
        first = Truncator(obj.first_target or "?").chars(40)  # type: ignore[attr-defined]
        return first if count == 1 else f"{first} +{count - 1} more"

    @admin.display(description="Calls")
    def calls_summary(self, obj: ResendRequest) -> str:
        count, troubled = obj.call_count, obj.troubled_call_count  # type: ignore[attr-defined]
        return f"{count} ({troubled} not ok)" if troubled else str(count)

    @admin.display(description="Selection")
    def selection_pretty(self, obj: ResendRequest) -> str:
        return pretty_json(obj.selection)

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
        return stream_resend_requests_csv(changelist.get_queryset(request))


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
        return pretty_json(redact_value(attempt.request_redacted))


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
    inlines = (CallAttemptInline,)
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
        return pretty_json(redact_value(call.payload))


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
        return pretty_json(redact_value(attempt.request_redacted))


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


from . import admin_bulk  # noqa: E402,F401  (registers the bulk job and schedule admins)
