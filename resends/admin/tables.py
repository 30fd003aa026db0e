"""Shared building blocks for admin lists over tables that may hold millions of rows.

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
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, IntegerField, Max, Min, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from ..inputs import parse_id, parse_int


def pretty_json(value: Any) -> str:
    """JSON indented inside <pre>, escaped; for read-only display of raw payloads."""
    return format_html(
        '<pre class="pretty-json">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str),
    )


def as_uuid(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


def as_pk(term: str) -> int | None:
    """A search term naming a row id ("123" or "#123"), within the bigint range."""
    return parse_id(term.removeprefix("#"))


def ids_in(*parts: QuerySet[Any]) -> QuerySet[Any]:
    """One column of ids from several indexed lookups, as a single UNION subquery."""
    first, *rest = (part.order_by() for part in parts)
    return first.union(*rest) if rest else first


def count_of(queryset: QuerySet[Any]) -> Coalesce:
    """A correlated COUNT(*) of `queryset` (already filtered on an OuterRef) as an annotation."""
    counted = queryset.order_by().values(dummy=Value(1)).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


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


# The date hierarchy's period ends a year, a month or a day after its start; a year of margin at
# either end keeps both within what datetime (and a local midnight in any zone) can hold.
DATE_PARTS = {
    "year": (datetime.MINYEAR + 1, datetime.MAXYEAR - 1),
    "month": (1, 12),
    "day": (1, 31),
}


class BoundedChangeList(ChangeList):
    """A changelist whose date-hierarchy parameters are read with bounds.

    Django turns `<field>__year` etc. into a datetime with int() and catches only ValueError, so
    a year past 64 bits or the year 9999 answered 500; here anything that is not a date part in
    range is an IncorrectLookupParameters, which sends the manager back to the list.
    """

    def get_filters(self, request: HttpRequest) -> Any:
        if self.date_hierarchy:
            params = self.get_filters_params()
            for part, (lowest, highest) in DATE_PARTS.items():
                for value in params.get(f"{self.date_hierarchy}__{part}", ()):
                    if parse_int(value, minimum=lowest, maximum=highest) is None:
                        raise IncorrectLookupParameters(f"Not a {part}: {value[:20]!r}.")
        return super().get_filters(request)


class BoundedInputsAdmin(admin.ModelAdmin):
    """A ModelAdmin whose list reads its date hierarchy with bounds (see BoundedChangeList)."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return BoundedChangeList


class LargeTableChangeList(BoundedChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        return with_range_dates(super().get_queryset(request, exclude_parameters))


class LargeTableAdmin(BoundedInputsAdmin):
    """A list over a table that may hold millions of rows (see the module docstring)."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return LargeTableChangeList


class ReadOnlyAdminMixin:
    """For rows only the app writes (the audit, the mirrors): no add, change or delete, superusers
    included.

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
