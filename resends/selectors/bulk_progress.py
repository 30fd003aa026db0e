"""How far a bulk job has got: its resends by state, its rate over the last minute, its ETA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from ..models import ResendTarget
from ..models.audit import RequestState
from ..models.bulk import BulkJob, BulkKind, BulkState

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
