"""Bulk jobs: preview what a stored filter or window matches, create the job, approve or reject it.

The preview counts what the stored filter matches in the database (never a list in a form or in
memory) and, for each order left out, why: the categories and their filters are in rules.py.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .. import rules
from ..engine.budget import rate_per_second
from ..models import Order, ProviderAccount, ResendRequest, ResendTarget
from ..models.audit import Channel, RequestState
from ..models.bulk import BulkJob, BulkKind, BulkState
from .mirrors import parse_time
from .submit import RuleViolation, chargebee_calls_in_flight

SAMPLES_PER_REASON = 5


@dataclass
class BulkPreview:
    kind: str
    matched: int = 0
    to_send: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    requests: int = 0
    rate_per_second: float = 0.0
    windows: list[tuple[str, str]] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def skip_rows(self) -> list[tuple[str, int, list[str]]]:
        """(reason, count, a few examples), most common first (templates cannot read a Counter)."""
        return [(r, n, self.samples[r]) for r, n in self.skipped.most_common()]

    @property
    def eta_seconds(self) -> float | None:
        return self.requests / self.rate_per_second if self.rate_per_second else None

    def as_json(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "to_send": self.to_send,
            "skipped": dict(self.skipped),
            "samples": dict(self.samples),
            "requests": self.requests,
            "rate_per_second": self.rate_per_second,
            "eta_seconds": self.eta_seconds,
            "windows": self.windows,
        }

    def skip(self, reason: str, subject: str) -> None:
        self.skipped[reason] += 1
        if len(self.samples[reason]) < SAMPLES_PER_REASON:
            self.samples[reason].append(subject)


# --- the stored criteria ---------------------------------------------------------------------
def matching_orders(account: ProviderAccount, criteria: dict[str, Any]) -> QuerySet[Order]:
    """The orders a stored filter matches: status, created and updated ranges (ISO times)."""
    orders = Order.objects.filter(account=account)
    if criteria.get("status"):
        orders = orders.filter(status=criteria["status"])
    for name, lookup in (
        ("created_from", "provider_created_at__gte"),
        ("created_to", "provider_created_at__lt"),
        ("updated_from", "provider_updated_at__gte"),
        ("updated_to", "provider_updated_at__lt"),
    ):
        if criteria.get(name):
            moment = parse_time(criteria[name])
            if moment is None:
                raise RuleViolation([rules.Problem(name, f"“{criteria[name]}” is not a time.")])
            orders = orders.filter(**{lookup: moment})
    return orders.order_by("pk")


def window_of(criteria: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    return parse_time(criteria.get("start_at")), parse_time(criteria.get("end_at"))


# --- preview ----------------------------------------------------------------------------------
def preview(kind: str, account: ProviderAccount, criteria: dict[str, Any]) -> BulkPreview:
    result = BulkPreview(kind=kind, rate_per_second=rate_per_second(account))
    if kind == BulkKind.JUNCTION_WINDOW:
        start, end = window_of(criteria)
        problems = rules.junction_check_window(start, end, timezone.now())
        if rules.blocking(problems):
            raise RuleViolation(rules.blocking(problems))
        assert start is not None
        pieces = rules.split_window(start, end or timezone.now())
        result.windows = [(a.isoformat(), b.isoformat()) for a, b in pieces]
        result.requests = result.to_send = len(pieces)
        return result

    _count_orders(kind, account, criteria, result)
    if kind == BulkKind.JUNCTION_ORDERS:
        result.requests = math.ceil(result.to_send / rules.junction_batch_size())
    else:
        result.requests = result.to_send
    return result


def _count_orders(
    kind: str, account: ProviderAccount, criteria: dict[str, Any], result: BulkPreview
) -> None:
    """Counted in the database, a few queries whatever the number of orders: the rare orders
    with a resend in progress are classified one by one, the rest by rules' filters."""
    orders = matching_orders(account, criteria).order_by()
    result.matched = orders.count()
    busy = orders_in_progress(account)
    if busy:
        for pk, external_id in orders.filter(pk__in=list(busy)).values_list("pk", "external_id"):
            result.skip(busy[pk], external_id)
        orders = orders.exclude(pk__in=list(busy))
    if kind != BulkKind.CHARGEBEE_FULL:
        result.to_send = result.matched - result.skipped_total
        return
    in_flight = chargebee_calls_in_flight(account)
    if in_flight:
        for order in orders.filter(external_id__in=list(in_flight)):
            reason = rules.chargebee_bulk_skip(order, in_flight=in_flight[order.external_id])
            if reason:
                result.skip(reason, order.external_id)
        orders = orders.exclude(external_id__in=list(in_flight))
    filters = rules.chargebee_bulk_skip_filters()
    counts = orders.aggregate(
        **{f"skip{i}": Count("pk", filter=q) for i, (_, q) in enumerate(filters)}
    )
    for i, (reason, q) in enumerate(filters):
        if counts[f"skip{i}"]:
            result.skipped[reason] += counts[f"skip{i}"]
            examples = orders.filter(q).order_by("pk").values_list("external_id", flat=True)
            found = [*result.samples[reason], *examples[:SAMPLES_PER_REASON]]
            result.samples[reason] = found[:SAMPLES_PER_REASON]
    result.to_send = result.matched - result.skipped_total


def orders_in_progress(
    account: ProviderAccount, *, after_order: int = 0, excluding_job: BulkJob | None = None
) -> dict[int, str]:
    """Orders with a resend in progress (in a bulk job or not) or one that succeeded moments ago.
    A running job asks only about the orders after its cursor, leaving out its own resends."""
    recent = timezone.now() - rules.DUPLICATE_WINDOW
    targets = ResendTarget.objects.filter(
        request__account=account, order__isnull=False, order_id__gt=after_order
    )
    if excluding_job is not None:
        targets = targets.exclude(request__bulk_job=excluding_job)
    rows = targets.filter(
        ~Q(request__state__in=ResendRequest.FINAL_STATES)
        | Q(request__state=RequestState.SUCCEEDED, request__submitted_at__gte=recent)
    ).values_list("order_id", "request__channel", "request__state")
    busy: dict[int, str] = {}
    for order_id, channel, state in rows:
        elsewhere = channel in (Channel.BULK, Channel.SCHEDULE) and state != RequestState.SUCCEEDED
        if elsewhere or order_id not in busy:
            busy[order_id] = rules.SKIP_PENDING_ELSEWHERE if elsewhere else rules.SKIP_RECENT
    return busy


# --- creating and deciding ---------------------------------------------------------------------
def approval_threshold() -> int:
    return int(settings.BULK_APPROVAL_THRESHOLD)


def create_job(
    *,
    actor: AbstractBaseUser,
    kind: str,
    account: ProviderAccount,
    criteria: dict[str, Any],
    reason_code: str = "",
    note: str = "",
    dry_run: bool = False,
    channel: str = "web",
    schedule_name: str = "",
    slot: datetime | None = None,
) -> tuple[BulkJob, bool]:
    """(job, created). A schedule's second tick for the same slot returns the first job."""
    if kind == BulkKind.CHARGEBEE_FULL:
        reason_problems = rules.chargebee_reason_problems(reason_code)
        if reason_problems:
            raise RuleViolation(reason_problems)
    if schedule_name and slot is not None:
        existing = BulkJob.objects.filter(schedule_name=schedule_name, slot=slot).first()
        if existing:
            return existing, False
    counted = preview(kind, account, criteria)
    if dry_run:
        state = BulkState.DRY_RUN
    elif counted.requests > approval_threshold():
        state = BulkState.AWAITING_APPROVAL
    else:
        state = BulkState.QUEUED
    try:
        with transaction.atomic():
            job = BulkJob.objects.create(
                created_by=actor,
                channel=channel,
                account=account,
                kind=kind,
                criteria=criteria,
                reason_code=reason_code,
                note=note,
                dry_run=dry_run,
                state=state,
                preview=counted.as_json(),
                schedule_name=schedule_name,
                slot=slot,
            )
    except IntegrityError:  # the same slot, created by another tick a moment ago
        return BulkJob.objects.get(schedule_name=schedule_name, slot=slot), False
    if job.state == BulkState.QUEUED:
        _start(job)
    return job, True


def _start(job: BulkJob) -> None:
    from .bulk_run import ring

    ring(job.pk)


def decide(job: BulkJob, *, manager: AbstractBaseUser, approve: bool, note: str) -> BulkJob:
    """Approve or reject a job waiting for approval: a manager, never the one who created it."""
    if not manager.has_perm("resends.approve_resendrequest"):
        raise PermissionDenied("Only managers approve bulk jobs.")
    if manager.pk == job.created_by_id:
        raise PermissionDenied("A bulk job needs a manager other than the one who created it.")
    if approve and not note.strip():
        note = "Approved."
    if not approve and not note.strip():
        raise RuleViolation([rules.Problem("note", "Say why the job is rejected.")])
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().get(pk=job.pk)
        if job.state != BulkState.AWAITING_APPROVAL:
            raise RuleViolation(
                [rules.Problem("state", f"This job is {job.get_state_display().lower()}.")]
            )
        job.state = BulkState.QUEUED if approve else BulkState.REJECTED
        job.approved_by = manager
        job.decided_at = timezone.now()
        job.decision_note = note.strip()
        job.save(update_fields=["state", "approved_by", "decided_at", "decision_note"])
        if approve:
            _start(job)
    return job
