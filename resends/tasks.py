"""Thin Celery tasks: ids in, one engine call, nothing returned (the row holds the state)."""

from __future__ import annotations

from celery import shared_task

from .engine import policy
from .engine.execution import process_call
from .engine.sweeper import due_call_ids


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True, bind=True)
def execute_call(self, call_id: int) -> None:  # type: ignore[no-untyped-def]
    worker = f"{self.request.hostname or 'local'}:{self.request.id or '-'}"
    next_step = process_call(call_id, worker=worker, task_id=self.request.id or "")
    if next_step.delay is not None:
        execute_call.apply_async(
            (call_id,), countdown=min(next_step.delay, policy.MAX_COUNTDOWN_SECONDS)
        )


@shared_task(ignore_result=True)
def sweep_calls() -> int:
    ids = due_call_ids()
    for call_id in ids:
        execute_call.delay(call_id)
    return len(ids)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def sync_mirrors() -> None:
    from .services.sync import sync_all

    sync_all()


# Seconds between two steps of a running bulk job (each step tops its window up).
BULK_STEP_SECONDS = 1.0


# A running job that has not stepped for this long lost its step message: start a new chain.
BULK_STALL_SECONDS = 30.0


@shared_task(acks_late=True, ignore_result=True)
def advance_bulk_job(job_id: int, step: str) -> None:
    from .services.bulk_run import advance

    if advance(job_id, step):
        advance_bulk_job.apply_async((job_id, step), countdown=BULK_STEP_SECONDS)


@shared_task(ignore_result=True)
def sweep_bulk_jobs() -> int:
    from .services.bulk_run import restart_stalled

    return restart_stalled(BULK_STALL_SECONDS)


@shared_task(bind=True, ignore_result=True)
def run_scheduled_replay(self, schedule: str = "", **options):  # type: ignore[no-untyped-def]
    """Beat's entry point for a schedule (see resends/services/schedules.py)."""
    from .services.schedules import run_schedule

    name = schedule or getattr(self.request, "periodic_task_name", None) or "unnamed schedule"
    job, _ = run_schedule(name, **options)
    return None if job is None else job.pk
