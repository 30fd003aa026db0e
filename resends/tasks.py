"""Thin Celery tasks: ids in, one engine or service call, nothing returned (the row holds the state).

Each task is registered under the name resends/doorbell.py rings, which the services use to
queue work without importing this module.
"""

from __future__ import annotations

from celery import shared_task

from . import doorbell
from .engine import policy
from .engine.batch import process_batch
from .engine.execution import process_call
from .engine.sweeper import due_calls
from .services import review
from .services.bulk_run import advance, restart_stalled
from .services.schedules import run_schedule
from .services.sync import sync_all


@shared_task(
    name=doorbell.EXECUTE_CALL,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    bind=True,
)
def execute_call(self, call_id: int) -> None:  # type: ignore[no-untyped-def]
    worker = f"{self.request.hostname or 'local'}:{self.request.id or '-'}"
    next_step = process_call(call_id, worker=worker, task_id=self.request.id or "")
    if next_step.delay is not None:
        doorbell.send(
            doorbell.EXECUTE_CALL,
            call_id,
            queue=doorbell.call_queue(next_step.lane),
            countdown=min(next_step.delay, policy.MAX_COUNTDOWN_SECONDS),
        )


@shared_task(
    name=doorbell.EXECUTE_CALLS,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    bind=True,
)
def execute_calls(self, call_ids: list[int], lane: str) -> None:  # type: ignore[no-untyped-def]
    worker = f"{self.request.hostname or 'local'}:{self.request.id or '-'}"
    for call_id in process_batch(call_ids, worker=worker, task_id=self.request.id or ""):
        # Not plainly due (an outcome to reconcile first, a wait, someone else's): one at a time.
        doorbell.send(doorbell.EXECUTE_CALL, call_id, queue=doorbell.call_queue(lane))


@shared_task(ignore_result=True)
def sweep_calls() -> int:
    due = due_calls()
    for call_id, lane in due:
        doorbell.send(doorbell.EXECUTE_CALL, call_id, queue=doorbell.call_queue(lane))
    return len(due)


@shared_task(ignore_result=True)
def send_review_notice() -> bool:
    return review.send_review_notice() is not None


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def sync_mirrors() -> None:
    sync_all()


# Seconds between two steps of a running bulk job (each step tops its window up).
BULK_STEP_SECONDS = 1.0


# A running job that has not stepped for this long lost its step message: start a new chain.
BULK_STALL_SECONDS = 30.0


@shared_task(name=doorbell.ADVANCE_BULK_JOB, acks_late=True, ignore_result=True)
def advance_bulk_job(job_id: int, step: str) -> None:
    if advance(job_id, step):
        doorbell.send(doorbell.ADVANCE_BULK_JOB, job_id, step, countdown=BULK_STEP_SECONDS)


@shared_task(ignore_result=True)
def sweep_bulk_jobs() -> int:
    return restart_stalled(BULK_STALL_SECONDS)


@shared_task(bind=True, ignore_result=True)
def run_scheduled_replay(self, schedule: str = "", **options):  # type: ignore[no-untyped-def]
    """Beat's entry point for a schedule (see resends/services/schedules.py)."""
    name = schedule or getattr(self.request, "periodic_task_name", None) or "unnamed schedule"
    job, _ = run_schedule(name, **options)
    return None if job is None else job.pk
