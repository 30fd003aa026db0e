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
