"""Sending calls in batches: a bulk job's calls, at the provider's top rate on two cores.

The same protocol as one call at a time (execution.py, docs/engine.md), a batch at each step:
- one conditional UPDATE claims the batch's pending calls under a token of this worker's, and
  their attempt rows are written and committed together before any request leaves;
- a thread per request waits for its slot in the shared rate budget and passes the departure
  gate, so many requests are in flight from one process while each waits on the network;
- the successes are recorded together in one transaction, only for the calls whose lease is
  still this batch's; any other answer goes through the single call's recording, one by one.
Only calls that are plainly due to be sent are taken: one whose last outcome is unknown, or whose
lease expired, is left to process_call (reconcile first, one at a time).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..checks import calls_problems, held_by
from ..models import CallAttempt, ProviderCall
from ..models.audit import CallState, lane_of
from ..providers.base import ErrorClass
from ..providers.registry import adapter_for
from . import policy
from .execution import (
    ATTEMPT_FIELDS,
    Exchanged,
    _fail,
    _hold,
    _not_sent,
    attempt_fields,
    close_succeeded_attempt,
    exchange,
    read_calls,
    record,
    succeeded_fields,
    wait_for_slot,
)
from .outcome import apply_successes, settle_requests
from .rows import update_rows

CALL_FIELDS = (
    "state",
    "finished_at",
    "error_class",
    "failure_reason",
    "provider_reference",
    "provider_reference_2",
    "provider_status",
    "locked_at",
    "locked_by",
    "updated_at",
)


def batch_size() -> int:
    return int(settings.ENGINE_BATCH_SIZE)


def process_batch(call_ids: Sequence[int], *, worker: str, task_id: str = "") -> list[int]:
    """Send these calls; returns the ids left for process_call (not plainly due: an unknown
    outcome to reconcile, an expired lease, a wait not over, or already someone else's)."""
    token = f"{worker[:80]}:{uuid.uuid4().hex[:16]}"
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    won = (
        ProviderCall.objects.filter(pk__in=call_ids, state=CallState.PENDING)
        .filter(due)
        .exclude(error_class=ErrorClass.UNKNOWN)
        .update(
            state=CallState.IN_FLIGHT,
            locked_at=now,
            locked_by=token,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    ids = ", ".join(["%s"] * len(call_ids))
    calls = (
        read_calls(
            f"c.id IN ({ids}) AND c.state = %s AND c.locked_by = %s",
            [*call_ids, CallState.IN_FLIGHT, token],
        )
        if won
        else []
    )
    taken = {call.pk for call in calls}
    ready = []
    problems = calls_problems(calls)
    for call in calls:
        call.claimed_from = CallState.PENDING  # type: ignore[attr-defined]
        if held := held_by(call.job_state):  # type: ignore[attr-defined]
            _hold(call, held)
        elif problems.get(call.pk):
            _fail(call, _not_sent(problems[call.pk]), ErrorClass.PERMANENT, unclaimed=True)
        else:
            ready.append(call)
    if ready:
        attempts = CallAttempt.objects.bulk_create(
            CallAttempt(call=call, **attempt_fields(call, worker, task_id, "send"))
            for call in ready
        )
        _record(_send_all(ready, attempts), token)
    return [call_id for call_id in call_ids if call_id not in taken]


Sent = tuple[ProviderCall, CallAttempt, Exchanged]


def _send_all(calls: Sequence[ProviderCall], attempts: list[CallAttempt]) -> list[Sent]:
    """Each request leaves from a thread of its own at its slot; this thread books the slots in
    order. A slot that cannot come soon (the provider asked everyone to wait) sends the rest of
    the batch back to wait, unsent, with their attempts closed as such."""
    sending: list[tuple[ProviderCall, CallAttempt, Future[Exchanged]]] = []
    for index, (call, attempt) in enumerate(zip(calls, attempts, strict=True)):
        slot = wait_for_slot(call.account, lane_of(call.request.channel))
        if not slot.reserved:
            _put_back(list(calls[index:]), attempts[index:], slot.wait)
            break
        future = _pool().submit(_send_at, call, slot.send_at)
        sending.append((call, attempt, future))
    return [(call, attempt, future.result()) for call, attempt, future in sending]


def _send_at(call: ProviderCall, moment: float) -> Exchanged:
    try:
        if (early := moment - time.time()) > 0:
            time.sleep(early)  # the request leaves at its slot in the rate budget, not before
        return exchange(call, adapter_for(call.account))
    finally:
        connection.close()  # a budget kept in the database was read from this thread


def _put_back(calls: list[ProviderCall], attempts: list[CallAttempt], wait: float) -> None:
    with transaction.atomic():
        CallAttempt.objects.filter(pk__in=[a.pk for a in attempts]).update(
            finished_at=timezone.now(),
            outcome="not_sent",
            error_message="The rate budget said wait.",
        )
        ProviderCall.objects.filter(
            pk__in=[c.pk for c in calls], locked_by=calls[0].locked_by
        ).update(
            state=CallState.PENDING,
            next_attempt_at=timezone.now()
            + timedelta(seconds=min(wait, policy.BACKOFF_CAP_SECONDS)),
            locked_at=None,
            locked_by="",
            updated_at=timezone.now(),
        )


def _record(sent: list[Sent], token: str) -> None:
    succeeded = [(c, a, x.result) for c, a, x in sent if x.result is not None]
    for call, attempt, exchanged in sent:
        if exchanged.result is None:
            record(call, attempt, exchanged)  # a refusal, an unknown outcome, a wait: one by one
    if not succeeded:
        return
    with transaction.atomic():
        ours = set(
            ProviderCall.objects.select_for_update()
            .filter(pk__in=[c.pk for c, _, _ in succeeded], state=CallState.IN_FLIGHT)
            .filter(locked_by=token)
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        calls, results = [], []
        for call, attempt, result in succeeded:
            close_succeeded_attempt(attempt, result)
            if call.pk in ours:
                for name, value in {**succeeded_fields(result), "locked_at": None}.items():
                    setattr(call, name, value)
                call.locked_by, call.updated_at = "", now
                calls.append(call)
                results.append(result)
        update_rows(CallAttempt, [a for _, a, _ in succeeded], ATTEMPT_FIELDS)
        if calls:
            update_rows(ProviderCall, calls, CALL_FIELDS)
            settle_requests(calls)
            apply_successes(calls, results)


_pools: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """This process's sending threads (a forked worker makes its own)."""
    pid = os.getpid()
    if pid not in _pools:
        _pools[pid] = ThreadPoolExecutor(max_workers=batch_size(), thread_name_prefix="send")
    return _pools[pid]
