"""Outcome reporting, for managers: resends per day by outcome, provider, reason code and agent,
drawn as SVG on the server, with the same numbers in tables for screen readers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from ..models import Provider
from ..selectors.reports import DEFAULT_PERIOD, NONE, OTHER, PERIODS, Breakdown, resend_report
from .charts import (
    NONE_COLOUR,
    OTHER_COLOUR,
    PALETTE,
    Band,
    Bar,
    horizontal_bar_chart,
    stacked_bar_chart,
)
from .common import manager_view

TEMPLATE = "resends/reports.html"

# Outcomes keep the colours the console uses for them elsewhere.
OUTCOME_COLOURS: dict[str, str] = {
    "succeeded": "#1a7f37",
    "failed": "#b42318",
    "needs_review": "#8a5300",
    "cancelled": OTHER_COLOUR,
    "in_progress": "#0a58ca",
}
PROVIDER_COLOURS: dict[str, str] = {
    Provider.JUNCTION: PALETTE[4],
    Provider.CHARGEBEE: PALETTE[1],
    Provider.RETURNHELPER: PALETTE[5],
}


class ReportFilters(forms.Form):
    period = forms.TypedChoiceField(
        choices=[(days, f"Last {days} days") for days in PERIODS],
        coerce=int,
        required=False,
        empty_value=None,
    )
    provider = forms.ChoiceField(choices=[("", "All providers"), *Provider.choices], required=False)


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    breakdown: Breakdown
    daily_chart: SafeString
    totals_chart: SafeString


@require_GET
@manager_view
def reports(request: HttpRequest) -> HttpResponse:
    filters = ReportFilters(request.GET)
    filters.is_valid()  # a value it does not know falls back to its default, field by field
    period = filters.cleaned_data.get("period") or DEFAULT_PERIOD
    provider = filters.cleaned_data.get("provider") or ""
    report = resend_report(period=period, provider=provider)

    scope = f"{Provider(provider).label} only" if provider else "all providers"
    span = f"{_day(report.first_day)} to {_day(report.last_day)}"
    sections = [
        _section("outcome", "By outcome", report.by_outcome, OUTCOME_COLOURS, scope, span),
        _section("provider", "By provider", report.by_provider, PROVIDER_COLOURS, scope, span),
        _section("reason", "By reason code", report.by_reason, {}, scope, span),
        _section("agent", "By agent", report.by_agent, {}, scope, span),
    ]
    context = {
        "report": report,
        "scope": scope,
        "span": span,
        "outcomes": {s.key: s.total for s in report.by_outcome.series},
        "success_rate": "–" if report.success_rate is None else f"{report.success_rate:.0%}",
        "sections": sections,
        "period_links": [
            (f"Last {days} days", _query(days, provider), days == period) for days in PERIODS
        ],
        "provider_links": [
            (label, _query(period, value), value == provider)
            for value, label in [("", "All providers"), *Provider.choices]
        ],
    }
    return render(request, TEMPLATE, context)


def _section(
    key: str,
    heading: str,
    breakdown: Breakdown,
    colours: Mapping[str, str],
    scope: str,
    span: str,
) -> Section:
    topic = heading.removeprefix("By ").lower()
    colour = {s.key: _colour(s.key, i, colours) for i, s in enumerate(breakdown.series)}
    daily = stacked_bar_chart(
        chart_id=f"chart-{key}-daily",
        title=f"Resends per day by {topic}",
        description=(
            f"Resends submitted each day from {span}, {scope}, stacked by {topic}: "
            f"{breakdown.total} in all. The table after the charts has the numbers for each day."
        ),
        days=breakdown.days,
        bands=[Band(s.label, s.counts, colour[s.key]) for s in breakdown.series],
    )
    totals = horizontal_bar_chart(
        chart_id=f"chart-{key}-totals",
        title=f"Resends by {topic}, {span}",
        description=f"Totals by {topic}, {scope}:",
        bars=[Bar(s.label, s.total, colour[s.key]) for s in breakdown.series],
    )
    return Section(key, heading, breakdown, daily, totals)


def _colour(key: str, index: int, colours: Mapping[str, str]) -> str:
    if key in colours:
        return colours[key]
    if key == OTHER:
        return OTHER_COLOUR
    if key == NONE:
        return NONE_COLOUR
    return PALETTE[index % len(PALETTE)]


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _query(period: int, provider: str) -> str:
    return urlencode({"period": period, **({"provider": provider} if provider else {})})
