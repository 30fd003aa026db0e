"""The one seam from the services down here to Celery up there: ring a task by its name.

The database row is the truth and the queue only a doorbell. A service that has just written a
call or moved a bulk job rings after its transaction commits, so a worker never looks for a row
that is not there yet; a ring that is lost (the process died after the commit, the broker
restarted) is repaired by the sweepers, which re-ring whatever is due.

Why by name: the task modules are entry points, above the services, so the services never import
them; the task's registered name (resends/tasks.py registers each one under the name given here)
is the whole contract, and settings route each name to its queue. Agents' calls and bulk calls
go to the queue of their lane (settings.CALL_QUEUES), so a backfill never delays an agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

from .models.audit import Lane

EXECUTE_CALL = "resends.tasks.execute_call"
EXECUTE_CALLS = "resends.tasks.execute_calls"
ADVANCE_BULK_JOB = "resends.tasks.advance_bulk_job"


def call_queue(lane: Lane | str) -> str | None:
    return settings.CALL_QUEUES.get(str(lane))


def ring_call(call_id: int, lane: Lane | str) -> None:
    """Have a worker process this call once the current transaction commits."""
    transaction.on_commit(lambda: send(EXECUTE_CALL, call_id, queue=call_queue(lane)))


def ring_calls(call_ids: Sequence[int], lane: Lane | str) -> None:
    """Have workers send these calls in batches (engine/batch.py) once the transaction commits:
    one message per ENGINE_BATCH_SIZE calls. They should share an account and lane."""
    size = int(settings.ENGINE_BATCH_SIZE)
    for start in range(0, len(call_ids), size):
        chunk = list(call_ids[start : start + size])
        if len(chunk) == 1:
            ring_call(chunk[0], lane)
        else:
            transaction.on_commit(
                lambda chunk=chunk: send(EXECUTE_CALLS, chunk, str(lane), queue=call_queue(lane))  # type: ignore[misc]
            )


def ring_bulk_job(job_id: int, step: str) -> None:
    """Have a worker take the next step of this bulk job's chain once the transaction commits."""
    transaction.on_commit(lambda: send(ADVANCE_BULK_JOB, job_id, step))


def send(name: str, *args: Any, queue: str | None = None, countdown: float | None = None) -> None:
    app = current_app
    if app.conf.task_always_eager:  # no broker (a demo without workers): run it here and now
        app.loader.import_default_modules()  # registers the tasks, as a worker does at start
        app.tasks[name].apply(args=args)
        return
    options: dict[str, Any] = {"countdown": countdown}
    if queue:
        options["queue"] = queue
    app.send_task(name, args=args, **options)
