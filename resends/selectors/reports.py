"""Outcome reporting: resends per day by outcome, provider, reason code and agent.

The database does the counting, and Python never sees a resend. A report is four queries,
whatever the number of rows: the most used reason codes, the agents who submitted most (and their
names), then one GROUP BY day over the period that counts every series at once (a filtered COUNT
per outcome, provider, reason bucket and agent bucket), so the rows are read once and the answer
is one line per day. The period is a range on submitted_at, which request_submitted_idx serves.

A resend is counted on the day it was submitted in the time zone of whoever reads the report
(the current one unless `zone` is given: a New York manager's day runs from 05:00 UTC), under
the state it is in now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import Provider, ResendRequest
from ..models.audit import RequestState

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
TOP_REASONS = 8
TOP_AGENTS = 10

OTHER = "other"
NONE = "none"

S = RequestState
User = get_user_model()


@dataclass(frozen=True)
class Outcome:
    key: str
    label: str
    states: tuple[str, ...]


OUTCOMES = (
    Outcome("succeeded", "Succeeded", (S.SUCCEEDED,)),
    Outcome("failed", "Failed or partly failed", (S.FAILED, S.PARTLY_FAILED)),
    Outcome("needs_review", "Needs review", (S.NEEDS_REVIEW,)),
    Outcome("cancelled", "Cancelled", (S.CANCELLED,)),
    Outcome("in_progress", "In progress", (S.DRAFT, S.AWAITING_APPROVAL, S.QUEUED, S.RUNNING)),
)
# Settled, and not stopped on purpose: what the success rate is a share of.
DECIDED_OUTCOMES = ("succeeded", "failed", "needs_review")


@dataclass(frozen=True)
class Series:
    """One coloured band of a chart: a count per day of the report, oldest day first."""

    key: str
    label: str
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Breakdown:
    days: tuple[date, ...]
    series: tuple[Series, ...]

    @property
    def total(self) -> int:
        return sum(s.total for s in self.series)

    def count(self, key: str) -> int:
        return next((s.total for s in self.series if s.key == key), 0)

    def rows(self) -> list[tuple[date, list[int], int]]:
        """Day by day, for a table: (day, a count per series, the day's total)."""
        rows = []
        for i, day in enumerate(self.days):
            counts = [s.counts[i] for s in self.series]
            rows.append((day, counts, sum(counts)))
        return rows


@dataclass(frozen=True)
class Report:
    period: int
    provider: str  # "" for every provider
    days: tuple[date, ...]
    by_outcome: Breakdown
    by_provider: Breakdown
    by_reason: Breakdown
    by_agent: Breakdown

    @property
    def first_day(self) -> date:
        return self.days[0]

    @property
    def last_day(self) -> date:
        return self.days[-1]

    @property
    def total(self) -> int:
        return self.by_outcome.total

    @property
    def decided(self) -> int:
        return sum(self.by_outcome.count(key) for key in DECIDED_OUTCOMES)

    @property
    def success_rate(self) -> float | None:
        """Succeeded ÷ (succeeded + failed + needs review); None while nothing is decided."""
        decided = self.decided
        return self.by_outcome.count("succeeded") / decided if decided else None


def resend_report(
    *,
    period: int = DEFAULT_PERIOD,
    provider: str = "",
    today: date | None = None,
    zone: tzinfo | None = None,
) -> Report:
    """Resends submitted on the last `period` days (today included) of `zone` (the current time
    zone by default), for one provider or all."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    if provider and provider not in Provider.values:
        raise ValueError(f"unknown provider {provider!r}")
    zone = zone or timezone.get_current_timezone()
    today = today or timezone.localdate(timezone=zone)
    days = tuple(today - timedelta(days=n) for n in range(period - 1, -1, -1))
    rows = resends_submitted_between(first_day=days[0], last_day=today, zone=zone)
    if provider:
        rows = rows.filter(account__provider=provider)

    groups = {
        "outcome": _outcome_buckets(),
        "provider": _provider_buckets(),
        "reason": _reason_buckets(rows),
        "agent": _agent_buckets(rows),
    }
    buckets = [b for group in groups.values() for b in group]
    counts = dict(zip(buckets, _daily_counts(rows, buckets, days, zone), strict=True))

    def breakdown(name: str) -> Breakdown:
        series = (Series(b.key, b.label, counts[b]) for b in groups[name])
        return Breakdown(days=days, series=tuple(s for s in series if s.total))

    return Report(
        period=period,
        provider=provider,
        days=days,
        by_outcome=breakdown("outcome"),
        by_provider=breakdown("provider"),
        by_reason=breakdown("reason"),
        by_agent=breakdown("agent"),
    )


def resends_submitted_between(
    *, first_day: date, last_day: date, zone: tzinfo | None = None
) -> QuerySet[ResendRequest]:
    """Resends submitted on these days (inclusive, in `zone`, by default the current time zone):
    a range scan. A day is midnight to midnight there, 23 or 25 hours long across a DST change."""
    zone = zone or timezone.get_current_timezone()
    start = datetime.combine(first_day, time.min, tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)
    return ResendRequest.objects.filter(submitted_at__gte=start, submitted_at__lt=end)


@dataclass(frozen=True, eq=False)  # compared (and hashed) by identity
class Bucket:
    """One series to count: the resends matching `where`. The buckets of one breakdown never
    overlap and together hold every resend."""

    key: str
    label: str
    where: Q


def _outcome_buckets() -> list[Bucket]:
    return [Bucket(o.key, o.label, Q(state__in=o.states)) for o in OUTCOMES]


def _provider_buckets() -> list[Bucket]:
    return [Bucket(value, label, Q(account__provider=value)) for value, label in Provider.choices]


def _reason_buckets(rows: QuerySet[ResendRequest]) -> list[Bucket]:
    """The most used reason codes, then "other" (the rest) and "none" (left blank)."""
    top = list(
        rows.exclude(reason_code="")
        .values_list("reason_code", flat=True)
        .annotate(n=Count("id"))
        .order_by("-n", "reason_code")[:TOP_REASONS]
    )
    return [
        *(Bucket(f"reason-{i}", code, Q(reason_code=code)) for i, code in enumerate(top)),
        Bucket(OTHER, "Other reasons", ~Q(reason_code__in=[*top, ""])),
        Bucket(NONE, "No reason given", Q(reason_code="")),
    ]


def _agent_buckets(rows: QuerySet[ResendRequest]) -> list[Bucket]:
    """The agents (or scripts) who submitted most, then everyone else together."""
    top = list(
        rows.values_list("submitted_by_id", flat=True)
        .annotate(n=Count("id"))
        .order_by("-n", "submitted_by_id")[:TOP_AGENTS]
    )
    if not top:  # nobody submitted anything: there is no one else either
        return []
    names = dict(User.objects.filter(pk__in=top).values_list("pk", "username"))
    return [
        *(Bucket(f"agent-{pk}", names[pk], Q(submitted_by_id=pk)) for pk in top),
        Bucket(OTHER, "Everyone else", ~Q(submitted_by_id__in=top)),
    ]


def _daily_counts(
    rows: QuerySet[ResendRequest],
    buckets: Sequence[Bucket],
    days: Sequence[date],
    zone: tzinfo,
) -> list[tuple[int, ...]]:
    """Each bucket's resends on each local day: one GROUP BY day (the database turns each time
    into `zone`'s date), with a filtered count per bucket."""
    columns = {f"n{i}": Count("id", filter=b.where) for i, b in enumerate(buckets)}
    local_day = TruncDate("submitted_at", tzinfo=zone)
    per_day = rows.annotate(day=local_day).values("day").annotate(**columns)
    found: dict[date, Any] = {row["day"]: row for row in per_day.order_by()}
    none: dict[str, Any] = {}
    return [
        tuple(found.get(day, none).get(f"n{i}", 0) for day in days) for i in range(len(buckets))
    ]
