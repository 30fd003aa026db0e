"""Claim a call, send it once, record what happened.

Every step leaves the row in a state from which any worker can carry on:
- the claim is one conditional UPDATE, so a duplicated or redelivered message does nothing;
- an attempt row is written before the request leaves, so a worker killed mid-call leaves an
  unfinished attempt, which means "may have been applied": reconcile before sending again;
- the outcome is recorded only while we still hold the lease.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from ..checks import call_problems, held_by
from ..models import (
    BulkJob,
    CallAttempt,
    ProviderAccount,
    ProviderCall,
    ResendRequest,
    ReviewDecision,
)
from ..models.audit import CallState, Lane, lane_of
from ..models.review import Decision
from ..providers.base import (
    CallResult,
    ErrorClass,
    Exchange,
    ProviderAdapter,
    ProviderError,
    Verdict,
)
from ..providers.http import departure_gate
from ..providers.registry import adapter_for
from ..redaction import redact_text
from ..rules import Problem
from . import budget, policy
from .budget import Slot
from .outcome import apply_success, settle_request
from .rows import Joined, update_one, update_rows

log = logging.getLogger(__name__)
Op = ProviderCall.Operation


@dataclass(frozen=True)
class Next:
    """What the task should do after processing: nothing, or ring again after `delay` seconds
    (in the call's lane, so its queue)."""

    delay: float | None = None
    lane: Lane = Lane.SINGLE


DONE = Next()


_CALL = Joined(ProviderCall, "c")
_ACCOUNT = Joined(ProviderAccount, "a")
_REQUEST = Joined(ResendRequest, "r")


def _claimable(now: datetime, prefix: str = "") -> tuple[str, list[Any]]:
    """SQL for "may be claimed now": due (pending, or an unknown outcome to settle) or leased by
    a worker whose lease has run out."""
    adapt = connection.ops.adapt_datetimefield_value
    sql = (
        f"(({prefix}state IN (%s, %s) AND ({prefix}next_attempt_at IS NULL"
        f" OR {prefix}next_attempt_at <= %s)) OR ({prefix}state = %s AND {prefix}locked_at < %s))"
    )
    params = [CallState.PENDING, CallState.UNKNOWN, adapt(now)]
    return sql, [*params, CallState.IN_FLIGHT, adapt(now - policy.lease())]


def read_calls(where: str, params: Sequence[Any]) -> list[ProviderCall]:
    """Calls (aliased c) with what the engine needs about each, in one query: the account, the
    request, its bulk job's state (`job_state`) and how many resend calls (not cancellations)
    the request has (`siblings`: with one, the request's state follows the call's without
    counting, outcome.settle_request). Written out rather than built with the ORM, which took
    longer to compile it than the database took to answer."""
    quote = connection.ops.quote_name
    calls, jobs = quote(ProviderCall._meta.db_table), quote(BulkJob._meta.db_table)
    sql = (
        f"SELECT {_CALL.columns()}, {_ACCOUNT.columns()}, {_REQUEST.columns()},"
        f" (SELECT COUNT(*) FROM {calls} s WHERE s.request_id = c.request_id"
        f" AND s.operation <> %s),"
        f" (SELECT j.state FROM {jobs} j WHERE j.id = r.bulk_job_id)"
        f" FROM {_CALL.table()} JOIN {_ACCOUNT.table()} ON a.id = c.account_id"
        f" JOIN {_REQUEST.table()} ON r.id = c.request_id WHERE {where} ORDER BY c.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Op.RETURNHELPER_CANCEL_RESEND, *params])
        rows = cursor.fetchall()
    found = []
    ends = (len(_CALL.fields), len(_CALL.fields) + len(_ACCOUNT.fields))
    for row in rows:
        call = _CALL.instance(row[: ends[0]])
        assert isinstance(call, ProviderCall)
        call.account = _ACCOUNT.instance(row[ends[0] : ends[1]])  # type: ignore[assignment]
        call.request = _REQUEST.instance(row[ends[1] : -2])  # type: ignore[assignment]
        call.siblings, call.job_state = row[-2], row[-1]  # type: ignore[attr-defined]
        found.append(call)
    return found


def observe(call_id: int, now: datetime | None = None) -> ProviderCall | None:
    """The call as it is now, if it may be claimed, with what the engine needs about it."""
    claimable, params = _claimable(now or timezone.now(), prefix="c.")
    found = read_calls(f"c.id = %s AND {claimable}", [call_id, *params])
    return found[0] if found else None


def claim(observed: ProviderCall, worker: str, now: datetime | None = None) -> bool:
    """Take the call as it was observed, in one conditional UPDATE that also counts the attempt
    about to be opened. Nobody else's claim or outcome can come between (any of them changes the
    state, the lease or the count), so the observed row is the call's truth from here on."""
    now = now or timezone.now()
    won = (
        update_one(
            ProviderCall,
            observed.pk,
            {
                "state": CallState.IN_FLIGHT,
                "locked_at": now,
                "locked_by": worker[:100],
                "attempts": observed.attempts + 1,
                "updated_at": now,
            },
            where={
                "state": observed.state,
                "locked_at": observed.locked_at,
                "attempts": observed.attempts,
            },
            # Still claimable as of now: a hold gives back the count and the lease but moves
            # next_attempt_at, which the three fields above do not show.
            also=_claimable(now),
        )
        == 1
    )
    if won:
        observed.claimed_from = observed.state  # type: ignore[attr-defined]
        observed.state, observed.locked_at, observed.locked_by = (
            CallState.IN_FLIGHT,
            now,
            worker[:100],
        )
        observed.attempts += 1
    return won


def _unsettled(call: ProviderCall) -> bool:
    """Did an earlier attempt leave without knowing whether the provider applied it? A call
    claimed from pending had every attempt closed with the answer that made it pending; one
    whose lease expired may have an attempt its worker never closed."""
    if call.error_class == ErrorClass.UNKNOWN:
        return True
    if getattr(call, "claimed_from", CallState.IN_FLIGHT) != CallState.IN_FLIGHT:
        return False
    last = call.attempt_rows.order_by("-number").first()
    return last is not None and last.finished_at is None


def _still_ours(call: ProviderCall) -> Q:
    return Q(
        pk=call.pk, state=CallState.IN_FLIGHT, locked_by=call.locked_by, locked_at=call.locked_at
    )


def wait_for_slot(account: ProviderAccount, lane: Lane) -> Slot:
    """Reserve a sending slot in the account's shared budget; short waits are slept here, a slot
    not reserved comes back unreserved (try again after its wait)."""
    while not (slot := budget.reserve(account, lane)).reserved:
        if slot.wait > policy.MAX_INLINE_BUDGET_WAIT_SECONDS:
            return slot
        time.sleep(slot.wait)
    return slot


def process_call(call_id: int, *, worker: str, task_id: str = "") -> Next:
    # The slot is booked before the claim (a call that is not due books nothing; a paused job's
    # call is held after the claim).
    call = observe(call_id)
    if call is None:
        return DONE
    lane = lane_of(call.request.channel)
    slot = wait_for_slot(call.account, lane)
    if not slot.reserved:
        return Next(slot.wait, lane)
    send_at = slot.send_at
    # The claim and the attempt row are committed together, before the request leaves (one
    # durable commit, not two): a worker that dies first leaves the call as it was.
    with transaction.atomic():
        if not claim(call, worker):
            return DONE
        if held := held_by(call.job_state):  # type: ignore[attr-defined]
            return _hold(call, held)
        reconciling = _unsettled(call)
        if not reconciling:
            problems = call_problems(call)
            if problems:  # nothing leaves, so no attempt row: the reason is on the call
                return _fail(call, _not_sent(problems), ErrorClass.PERMANENT, unclaimed=True)
        purpose = "reconcile" if reconciling else "send"
        attempt = _open_attempt(call, worker, task_id, purpose=purpose)
    adapter = adapter_for(call.account)
    if (early := send_at - time.time()) > 0:
        time.sleep(early)  # the request leaves at its slot in the rate budget, not before
    if reconciling:
        decided = _reconcile(call, adapter, attempt)
        if isinstance(decided, Next):
            return decided
        # ABSENT: nothing happened at the provider, so sending now is safe. REPEAT: the provider
        # cannot tell, and sending again is harmless (it ships and creates nothing): a repeat.
        purpose = "repeat" if decided is Verdict.REPEAT else "send"
        problems = call_problems(call)
        if problems:
            return _fail(call, _not_sent(problems), ErrorClass.PERMANENT)
        attempt = _open_attempt(call, worker, task_id, purpose=purpose, count=True)
    return _send(call, adapter, attempt)


def _hold(call: ProviderCall, why: str) -> Next:
    """Its bulk job is paused (wait for resume, which re-rings it) or cancelled (never send).
    No attempt was opened, so the one the claim counted is given back."""
    if why == "cancelled":
        _finish(call, state=CallState.CANCELLED, finished_at=timezone.now(), **_uncounted(call))
    else:
        _finish(
            call,
            state=CallState.UNKNOWN if _unsettled(call) else CallState.PENDING,
            next_attempt_at=timezone.now() + timedelta(days=1),  # not the sweeper's until resumed
            **_uncounted(call),
        )
    return DONE


def _uncounted(call: ProviderCall) -> dict[str, Any]:
    """The attempt count without the one the claim counted (the lease is ours, so the count
    we hold is the row's)."""
    return {"attempts": call.attempts - 1}


def _not_sent(problems: list[Problem]) -> str:
    return "Not sent: " + " ".join(p.message for p in problems)


def _reconcile(
    call: ProviderCall, adapter: ProviderAdapter, attempt: CallAttempt
) -> Next | Verdict:
    """Settle an unknown outcome with the provider. Returns what the task does next, or the
    verdict ABSENT or REPEAT: the call is to be sent (again) now, by this worker."""
    # Measured from the very first attempt, even after a manager's "send it again": the window
    # for a same-key repeat is the provider's, and an old lookup reaching further back is the
    # cautious side (an earlier effect we missed would then show as a second match).
    first_sent = call.attempt_rows.order_by("number").values_list("started_at", flat=True).first()
    try:
        with _through_the_gate(call):
            verdict = adapter.reconcile(
                call.operation,
                call.payload,
                idempotency_key=str(call.idempotency_key),
                first_sent_at=first_sent or call.created_at,
            )
    except ProviderError as error:
        with transaction.atomic():
            _close_attempt(attempt, error.exchange, outcome="reconcile_failed", error=error)
            if error.permanent:
                # The provider refused the same-key repeat outright: nothing was applied.
                return _fail(call, error.message, ErrorClass.PERMANENT)
            return _after_unknown(
                call,
                f"Could not ask {adapter.label} whether it was applied: {error.message}",
                retry_after=error.retry_after,
            )
    except Exception as exc:  # a bug: ask again later rather than leave the call leased
        log.exception("call %s: unexpected error while reconciling", call.pk)
        with transaction.atomic():
            _close_attempt(
                attempt, None, outcome="reconcile_failed", message=redact_text(repr(exc))
            )
            return _after_unknown(call, "Unexpected error while checking with the provider.")
    if verdict.asked:  # reads made to decide, when no single exchange says it
        attempt.request_redacted = {**attempt.request_redacted, "asked": list(verdict.asked)}
    with transaction.atomic():
        _close_attempt(
            attempt,
            verdict.result.exchange if verdict.result else None,
            outcome=f"reconciled_{verdict.verdict}",
            message=verdict.explanation,
        )
        if verdict.verdict == Verdict.APPLIED:
            return _succeed(call, verdict.result or CallResult())
        if verdict.verdict == Verdict.UNDECIDED:
            return _needs_review(
                call, f"{adapter.label} answered, but its answer cannot tell: {verdict.explanation}"
            )
    return verdict.verdict


_collector_lock = threading.Lock()
_holding_collector = 0  # requests (threads) between the gate and their answer
_collector_was_on = True


@contextmanager
def _through_the_gate(call: ProviderCall) -> Iterator[None]:
    """Each request of the call (a reconcile read too) passes the budget's departure gate just
    before it goes on the wire (providers/http.send calls the gate set here), and the collector is
    held off until it is done, because a full collection in a worker takes tens of milliseconds,
    enough to bunch requests up at the provider. Several threads may be sending at once
    (engine/batch.py): the last one out turns the collector back on."""
    global _holding_collector, _collector_was_on
    with _collector_lock:
        if _holding_collector == 0:
            _collector_was_on = gc.isenabled()
            gc.disable()
        _holding_collector += 1
    gate = departure_gate.set(lambda: budget.depart(call.account))
    try:
        yield
    finally:
        departure_gate.reset(gate)
        with _collector_lock:
            _holding_collector -= 1
            if _holding_collector == 0 and _collector_was_on:
                gc.enable()


@dataclass
class Exchanged:
    """What one request to the provider came back with: a result, the provider's error, or an
    unforeseen exception (a bug, or a library's error after the request may have left)."""

    result: CallResult | None = None
    error: ProviderError | None = None
    crash: BaseException | None = None


def exchange(call: ProviderCall, adapter: ProviderAdapter) -> Exchanged:
    """Send the call's operation once, through the departure gate. Touches no database."""
    try:
        with _through_the_gate(call):
            return Exchanged(
                result=adapter.execute(
                    call.operation, call.payload, idempotency_key=str(call.idempotency_key)
                )
            )
    except ProviderError as error:
        return Exchanged(error=error)
    except Exception as exc:
        return Exchanged(crash=exc)


def _send(call: ProviderCall, adapter: ProviderAdapter, attempt: CallAttempt) -> Next:
    return record(call, attempt, exchange(call, adapter))


def record(call: ProviderCall, attempt: CallAttempt, exchanged: Exchanged) -> Next:
    """The attempt and the call's outcome, recorded together (while the lease is ours)."""
    if (error := exchanged.error) is not None:
        with transaction.atomic():
            _close_attempt(attempt, error.exchange, outcome=error.error_class.value, error=error)
            if error.error_class is ErrorClass.PERMANENT:
                return _fail(call, error.message, ErrorClass.PERMANENT)
            if error.error_class is ErrorClass.UNKNOWN:
                return _after_unknown(call, error.message, retry_after=error.retry_after)
            return _retry_later(call, error)
    if exchanged.result is None:
        log.error("call %s: unexpected error", call.pk, exc_info=exchanged.crash)
        with transaction.atomic():
            _close_attempt(
                attempt, None, outcome="unknown", message=redact_text(repr(exchanged.crash))
            )
            return _after_unknown(call, "Unexpected error while calling the provider.")
    with transaction.atomic():
        close_succeeded_attempt(attempt, exchanged.result)
        update_rows(CallAttempt, [attempt], ATTEMPT_FIELDS)
        return _succeed(call, exchanged.result)


def close_succeeded_attempt(attempt: CallAttempt, result: CallResult) -> None:
    """The attempt's fields for a success (the caller saves it, alone or with others)."""
    if attempt.request_redacted.get("purpose") == "repeat":
        note = "A repeat: the first attempt's outcome could not be learned from the provider."
    else:
        note = "replayed" if result.replayed else ""
    _close_attempt(attempt, result.exchange, outcome="succeeded", message=note, save=False)


def _open_attempt(
    call: ProviderCall, worker: str, task_id: str, *, purpose: str, count: bool = False
) -> CallAttempt:
    """Recorded before anything leaves: an attempt without finished_at means 'outcome unknown'.
    The claim counted the call's first attempt; a second one in the same claim (a send after a
    reconcile) is counted here (`count`)."""
    if count or purpose == "repeat":
        counters: dict[str, Any] = {"attempts": F("attempts") + 1} if count else {}
        if purpose == "repeat":
            counters["repeats"] = F("repeats") + 1
        ProviderCall.objects.filter(_still_ours(call)).update(**counters)
        call.attempts += 1 if count else 0
    return CallAttempt.objects.create(call=call, **attempt_fields(call, worker, task_id, purpose))


def attempt_fields(call: ProviderCall, worker: str, task_id: str, purpose: str) -> dict[str, Any]:
    return {
        "number": call.attempts,
        "celery_task_id": task_id[:64],
        "worker": worker[:100],
        "request_redacted": {
            "purpose": purpose,
            "operation": call.operation,
            "payload": call.payload,
        },
        "outcome": "started",
    }


# What closing an attempt writes (the rest was written when it was opened).
ATTEMPT_FIELDS = (
    "finished_at",
    "outcome",
    "request_redacted",
    "response_status",
    "response_excerpt",
    "duration_ms",
    "error_class",
    "error_message",
)


def _close_attempt(
    attempt: CallAttempt,
    exchange: Exchange | None,
    *,
    outcome: str,
    error: ProviderError | None = None,
    message: str = "",
    save: bool = True,
) -> None:
    attempt.finished_at = timezone.now()
    attempt.outcome = outcome
    if exchange is not None:
        attempt.request_redacted = {**attempt.request_redacted, **exchange.as_request_record()}
        attempt.response_status = exchange.status
        attempt.response_excerpt = exchange.response_excerpt[:4000]
        attempt.duration_ms = exchange.duration_ms
    if attempt.duration_ms is None:
        attempt.duration_ms = int((attempt.finished_at - attempt.started_at).total_seconds() * 1000)
    if error is not None:
        attempt.error_class = error.error_class.value
        attempt.error_message = redact_text(error.message)[:2000]
    elif message:
        attempt.error_message = message[:2000]
    if save:
        update_rows(CallAttempt, [attempt], ATTEMPT_FIELDS)


def _finish(call: ProviderCall, **fields: Any) -> bool:
    with transaction.atomic(savepoint=False):
        updated = update_one(
            ProviderCall,
            call.pk,
            {"locked_at": None, "locked_by": "", "updated_at": timezone.now(), **fields},
            where={
                "state": CallState.IN_FLIGHT,
                "locked_by": call.locked_by,
                "locked_at": call.locked_at,
            },
        )
        if updated:
            settle_request(call, fields.get("state", CallState.IN_FLIGHT))
    if not updated:
        log.warning("call %s: lease lost before recording; another worker owns it now", call.pk)
    return bool(updated)


def succeeded_fields(result: CallResult) -> dict[str, Any]:
    return {
        "state": CallState.SUCCEEDED,
        "finished_at": timezone.now(),
        "error_class": "",
        "failure_reason": "",
        "provider_reference": result.reference[:100],
        "provider_reference_2": result.reference_2[:100],
        "provider_status": result.provider_status[:40],
    }


def _succeed(call: ProviderCall, result: CallResult) -> Next:
    with transaction.atomic(savepoint=False):
        if _finish(call, **succeeded_fields(result)):
            apply_success(call, result)
    return DONE


def _fail(
    call: ProviderCall, reason: str, error_class: ErrorClass, *, unclaimed: bool = False
) -> Next:
    """`unclaimed`: refused before any attempt was opened, so the claim's count is given back."""
    _finish(
        call,
        state=CallState.FAILED,
        finished_at=timezone.now(),
        error_class=error_class.value,
        failure_reason=redact_text(reason)[:2000],
        **(_uncounted(call) if unclaimed else {}),
    )
    return DONE


def _needs_review(call: ProviderCall, reason: str) -> Next:
    _finish(
        call,
        state=CallState.NEEDS_REVIEW,
        error_class=ErrorClass.UNKNOWN.value,
        failure_reason=redact_text(reason)[:2000],
        review_since=timezone.now(),
    )
    return DONE


def _this_round(call: ProviderCall) -> QuerySet[CallAttempt]:
    """The call's attempts since a manager last had it sent again (all of them otherwise): the
    limits of the policy count these, so a call sent again after review gets its full share."""
    attempts = call.attempt_rows.all()
    restarted = (
        ReviewDecision.objects.filter(call=call, decision=Decision.SEND_AGAIN)
        .order_by("-decided_at")
        .values_list("decided_at", flat=True)
        .first()
    )
    return attempts if restarted is None else attempts.filter(started_at__gte=restarted)


def _retry_later(call: ProviderCall, error: ProviderError) -> Next:
    attempts = _this_round(call)
    # Only the provider's "not taken" answers count here; unknown outcomes have their own limits.
    count = attempts.filter(outcome=ErrorClass.TRANSIENT.value).count()
    if count >= policy.MAX_ATTEMPTS:
        if attempts.filter(outcome=f"reconciled_{Verdict.REPEAT}").exists():
            # An earlier attempt's outcome could not be learned (Junction), and every repeat
            # since was refused: it may have landed once, and failing it would say it did not.
            return _needs_review(
                call,
                f"The provider could not tell whether an earlier attempt was applied, and the "
                f"{count} repeats since were refused (not applied). Last answer: {error.message}",
            )
        return _fail(
            call,
            f"Gave up after {count} attempts; the provider took none of them, so nothing was "
            f"applied. Last answer: {error.message}",
            ErrorClass.TRANSIENT,
        )
    if error.retry_after:
        budget.cool_down(call.account, error.retry_after)  # every worker waits, not just this one
    delay = policy.backoff_seconds(count, error.retry_after)
    _finish(
        call,
        state=CallState.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        error_class=ErrorClass.TRANSIENT.value,
        failure_reason=redact_text(error.message)[:2000],
    )
    return (
        Next(delay, lane_of(call.request.channel))
        if delay <= policy.MAX_COUNTDOWN_SECONDS
        else DONE
    )


def _after_unknown(call: ProviderCall, reason: str, *, retry_after: float | None = None) -> Next:
    """The outcome is not known: reconcile later, with backoff. Only once the policy's patience
    and tries are both spent does a manager get the call."""
    attempts = _this_round(call)
    tries = attempts.filter(request_redacted__purpose="reconcile").count()
    began = attempts.order_by("number").values_list("started_at", flat=True).first()
    waited = timezone.now() - (began or call.created_at)
    if tries >= policy.RECONCILE_MIN_TRIES and waited >= policy.RECONCILE_PATIENCE:
        hours = waited.total_seconds() / 3600
        return _needs_review(
            call,
            f"Could not find out whether the provider applied it: asked {tries} times over "
            f"{hours:.1f} hours without an answer. Last: {reason}",
        )
    if retry_after:
        budget.cool_down(call.account, retry_after)  # every worker waits, not just this one
    delay = policy.backoff_seconds(tries + 1, retry_after)
    _finish(
        call,
        state=CallState.UNKNOWN,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        error_class=ErrorClass.UNKNOWN.value,
        failure_reason=redact_text(reason)[:2000],
    )
    return (
        Next(delay, lane_of(call.request.channel))
        if delay <= policy.MAX_COUNTDOWN_SECONDS
        else DONE
    )
