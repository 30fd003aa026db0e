"""How far a bulk job has got: its resends by state, its rate over the last minute, its ETA;
and, when it is waiting on something, what (waiting_on)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from ..engine import budget
from ..models import CallAttempt, ProviderCall, ResendTarget
from ..models.audit import CallState, RequestState
from ..models.bulk import BulkJob, BulkKind, BulkState
from ..presentation import LAST_ERROR_FIELDS, Trouble, last_error

UNFINISHED = (RequestState.QUEUED, RequestState.RUNNING)


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    failed: int
    skipped: int
    in_progress: int
    remaining: int
    per_second: float
    eta_seconds: float | None

    @property
    def percent(self) -> int:
        finished = self.done + self.failed + self.skipped
        return 100 if not self.total else min(100, round(100 * finished / self.total))


def progress(job: BulkJob) -> Progress:
    by_state = dict(
        ResendTarget.objects.filter(request__bulk_job=job)
        .values_list("request__state")
        .annotate(n=Count("id"))
        .values_list("request__state", "n")
    )
    done = by_state.get(RequestState.SUCCEEDED, 0)
    failed = sum(
        by_state.get(s, 0)
        for s in (
            RequestState.FAILED,
            RequestState.PARTLY_FAILED,
            RequestState.NEEDS_REVIEW,
            RequestState.CANCELLED,
        )
    )
    in_progress = sum(by_state.get(s, 0) for s in UNFINISHED)
    counted = done + failed + in_progress + job.skipped
    if job.state in (BulkState.FINISHED, BulkState.CANCELLED):
        total = counted
    elif job.kind == BulkKind.JUNCTION_WINDOW:
        total = max(1, counted)
    else:
        total = max(int(job.preview.get("matched") or job.preview.get("to_send") or 0), counted)
    remaining = max(0, total - done - failed - job.skipped)
    recent = timezone.now() - timedelta(seconds=60)
    last_minute = ResendTarget.objects.filter(
        request__bulk_job=job, request__finished_at__gte=recent
    ).count()
    started = job.started_at or timezone.now()
    window = min(60.0, max(1.0, (timezone.now() - started).total_seconds()))
    per_second = last_minute / window
    eta = remaining / per_second if per_second and job.state == BulkState.RUNNING else None
    return Progress(total, done, failed, job.skipped, in_progress, remaining, per_second, eta)


# --- why a job is not moving ---------------------------------------------------------------------
# A step or a due call left this long without a worker taking it means no worker is taking it.
WORKER_PATIENCE = timedelta(seconds=15)
# The budget's next slot this far away is worth saying (a slot or two ahead is the normal pace).
BUDGET_WAIT_WORTH_SAYING = 1.0


@dataclass(frozen=True)
class Waiting:
    """What a job is waiting on: `cause` (paused, approval, rate_budget, or a presentation.Trouble
    of its resends, or worker), in words, and since when or the time of the last error."""

    cause: str
    words: str
    at: datetime | None = None


def waiting_on(job: BulkJob) -> Waiting | None:
    """Why the job is not moving, when something holds it (None when nothing does, as far as
    can be seen): its state, the account's rate budget, its resends' last errors, the workers."""
    if job.state == BulkState.AWAITING_APPROVAL:
        words = (
            f"Waiting for approval: a manager other than {job.created_by.get_username()} must "
            "approve it before anything is sent."
        )
        return Waiting("approval", words, job.created_at)
    if job.state == BulkState.PAUSED:
        return Waiting("paused", "Paused: nothing more is sent until a manager resumes it.")
    if job.state not in (BulkState.QUEUED, BulkState.RUNNING):
        return None
    return _budget(job) or _trouble(job) or _worker(job)


def _budget(job: BulkJob) -> Waiting | None:
    rate = budget.rate_per_second(job.account)
    if rate <= 0:
        return None
    held = budget.state(job.account)
    if held.cooldown_for > 0:
        words = (
            f"Waiting for the rate budget: {job.account} asked everyone to slow down (HTTP 429); "
            f"nothing is sent to it for another {held.cooldown_for:.0f} s."
        )
        return Waiting("rate_budget", words)
    if held.priority_for > 0:
        words = (
            "Waiting for the rate budget: agents' own resends go first, and bulk work holds "
            f"back for another {held.priority_for:.0f} s."
        )
        return Waiting("rate_budget", words)
    if held.next_slot_in > BUDGET_WAIT_WORTH_SAYING:
        words = (
            f"Waiting for the rate budget: the next of {job.account}'s sending slots is "
            f"{held.next_slot_in:.0f} s away (at most {rate:g} requests a second, shared by "
            "every worker)."
        )
        return Waiting("rate_budget", words)
    return None


def _trouble(job: BulkJob) -> Waiting | None:
    """The job's resends waiting to be tried again (or checked) after an error: the latest
    error's class of trouble (presentation.last_error), and how many wait."""
    waiting = ProviderCall.objects.filter(
        request__bulk_job=job, state__in=(CallState.PENDING, CallState.UNKNOWN)
    ).exclude(error_class="")
    latest = (
        waiting.order_by("-updated_at")
        .prefetch_related(
            Prefetch("attempt_rows", queryset=CallAttempt.objects.only(*LAST_ERROR_FIELDS))
        )
        .first()
    )
    error = last_error(latest) if latest is not None else None
    if error is None:
        return None
    count = waiting.count()
    resends = f"{count} resend{'s' if count != 1 else ''}"
    if error.trouble is Trouble.UNKNOWN:
        then = f"{resends} may have been applied: they are checked with the provider first"
    else:
        then = f"{resends} wait{'s' if count == 1 else ''} to be tried again"
    return Waiting(error.trouble.value, f"{error.words} ({job.account}): {then}.", error.at)


def _worker(job: BulkJob) -> Waiting | None:
    """A step, or calls due, that no worker has taken for a while."""
    now = timezone.now()
    quiet = now - WORKER_PATIENCE
    stepped = job.stepped_at or job.created_at
    if job.state == BulkState.QUEUED and stepped < quiet:
        words = (
            "Waiting for a worker: none has picked the job up yet; check that the bulk "
            "workers are running."
        )
        return Waiting("worker", words, stepped)
    if stepped < quiet:  # a running job steps about once a second
        words = (
            "Waiting for a worker: the job has not moved on since its last step; check that "
            "the bulk workers are running (the sweeper starts it again)."
        )
        return Waiting("worker", words, stepped)
    calls = ProviderCall.objects.filter(request__bulk_job=job)
    if calls.filter(Q(state=CallState.IN_FLIGHT) | Q(updated_at__gte=quiet)).exists():
        return None  # some of its calls are being sent, or were a moment ago
    due = calls.filter(state=CallState.PENDING, created_at__lt=quiet).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=quiet)
    )
    oldest = due.order_by("created_at").values_list("created_at", flat=True).first()
    if oldest is None:
        return None
    count = due.count()
    words = (
        f"Waiting for a worker: {count} resend{'s are' if count != 1 else ' is'} due and none "
        "is being sent; check that the bulk workers are running."
    )
    return Waiting("worker", words, oldest)
