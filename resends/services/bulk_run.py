"""Running a bulk job: fan out in small chunks; pause, resume and cancel it.

`advance` is called again and again (by a task that re-rings itself): each call keeps at most
WINDOW of the job's resends in progress by creating the next few from the stored filter, in one
transaction with the cursor, so a crash mid-chunk redoes the chunk and the intent keys
(`bulk:<job>:<order>`, for Return Helper `bulk:<job>:rh:<order>:<first item>`) make the redo
create nothing twice. Memory stays bounded by the window. Return Helper items go by customer
order (the cursor): each order's eligible items, at its address, in resends of at most the group
maximum; items with no order are counted as skipped in the first step.
Each resend is an ordinary request with ordinary exactly-once calls, in the "bulk" lane of the
rate budget, so agents' resends go first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import doorbell, rules
from ..checks import (
    chargebee_calls_in_flight,
    failed_calls,
    inventories_in_progress,
    orders_in_progress,
)
from ..engine import budget
from ..engine.outcome import refresh_request_state
from ..models import Order, ProviderCall, ResendRequest, ReturnInventory
from ..models.audit import CallState, Channel, Lane, RequestState
from ..models.bulk import BulkJob, BulkKind, BulkState
from ..rules import RuleViolation
from ..selectors.bulk_progress import UNFINISHED, progress
from ..selectors.bulk_selection import (
    BulkPreview,
    ReferenceUnavailable,
    ReturnHelperRoutes,
    count_inventories,
    matching_inventories,
    matching_orders,
    returnhelper_routes,
    window_of,
)
from . import notify
from .bulk_jobs import ring
from .requests import Intent, Submitted, create_requests
from .retry import retry_failed
from .submit import (
    chargebee_intent,
    junction_orders_intent,
    returnhelper_intent,
    submit_junction_window,
)


def restart_stalled(after_seconds: float) -> int:
    """Ring queued or running jobs whose chain has not stepped for a while (a lost message)."""
    quiet = timezone.now() - timedelta(seconds=after_seconds)
    stalled = BulkJob.objects.filter(state__in=(BulkState.QUEUED, BulkState.RUNNING)).filter(
        Q(stepped_at__isnull=True) | Q(stepped_at__lt=quiet)
    )
    ids = list(stalled.values_list("pk", flat=True))
    with transaction.atomic():
        for job_id in ids:
            ring(job_id)
    return len(ids)


def advance(job_id: int, step: str | None = None) -> bool:
    """Move the job on; True while this chain should step again."""
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().get(pk=job_id)
        if job.state not in (BulkState.QUEUED, BulkState.RUNNING):
            return False
        if step is not None and str(job.step_id) != step:
            return False  # a newer chain has taken over
        now = timezone.now()
        job.stepped_at = now
        if job.state == BulkState.QUEUED:
            job.state, job.started_at = BulkState.RUNNING, now
        unfinished = job.requests.filter(state__in=UNFINISHED).count()
        window = window_for(job)
        if not job.fanout_done and unfinished < window:
            _fan_out(job, room=window - unfinished)
            unfinished = job.requests.filter(state__in=UNFINISHED).count()
        if job.fanout_done and unfinished == 0:
            job.state, job.finished_at = BulkState.FINISHED, now
        job.save()
        if job.state == BulkState.FINISHED:
            notify.job_ended(job, progress(job))
        elif job.notified_at is None:  # the failure-rate warning goes once
            notify.failure_rate_passed(job, progress(job))
        return job.state == BulkState.RUNNING


MIN_WINDOW = 50


def window_for(job: BulkJob) -> int:
    """How many of the job's resends may be in progress at once: BULK_WINDOW, or else what the
    account's rate sends in BULK_WINDOW_SECONDS, which outlasts several steps (one a second,
    each behind a batch or two on a busy worker). It also bounds how many calls a pause or a
    cancel finds already queued (they are held, not sent)."""
    if settings.BULK_WINDOW:
        return int(settings.BULK_WINDOW)
    rate = budget.rate_per_second(job.account)
    return max(MIN_WINDOW, math.ceil(rate * settings.BULK_WINDOW_SECONDS))


def _fan_out(job: BulkJob, *, room: int) -> None:
    if job.retry_of_id:
        _fan_out_retry(job, room)
    elif job.kind == BulkKind.JUNCTION_WINDOW:
        _submit(job, "window", _junction_window(job))
        job.fanout_done = True
    elif job.kind == BulkKind.RETURNHELPER_INVENTORIES:
        _fan_out_inventories(job, room)
    else:
        _fan_out_orders(job, room)


def _fan_out_orders(job: BulkJob, room: int) -> None:
    per_request = rules.junction_batch_size() if job.kind == BulkKind.JUNCTION_ORDERS else 1
    wanted = room * per_request
    busy = orders_in_progress(job.account, after_order=job.cursor, excluding_job=job)
    candidates = matching_orders(job.account, job.criteria).filter(pk__gt=job.cursor)
    if job.kind == BulkKind.CHARGEBEE_FULL:
        # Locked, as an agent's submit locks its order, so the 5-resend cap counts what is in
        # flight right now; a few hundred rows for the moment of this step's transaction.
        candidates = candidates.select_related("account").select_for_update(of=("self",))
    scanned_rows = list(candidates[: wanted * 4])
    in_flight = (
        chargebee_calls_in_flight(job.account, [o.external_id for o in scanned_rows])
        if job.kind == BulkKind.CHARGEBEE_FULL
        else None
    )
    batch: list[Order] = []
    scanned = 0
    for order in scanned_rows:
        scanned += 1
        job.cursor = order.pk
        job.considered += 1
        reason = busy.get(order.pk) or (
            rules.chargebee_bulk_skip(order, in_flight=in_flight[order.external_id])
            if in_flight is not None
            else ""
        )
        if reason:
            _count_skip(job, reason)
        else:
            batch.append(order)
        if len(batch) >= wanted:
            break
    if scanned < wanted * 4 and len(batch) < wanted:
        job.fanout_done = True  # the filter has nothing after the cursor
    if job.kind == BulkKind.JUNCTION_ORDERS:
        known = {o.external_id: o.pk for o in batch}
        chunks = rules.junction_batches(list(known), per_request)
        _submit_all(job, [(_junction_orders(job, chunk, known), 1) for chunk in chunks])
    else:
        assert in_flight is not None
        _submit_all(
            job, [(_chargebee_full(job, order, in_flight[order.external_id]), 1) for order in batch]
        )


def _fan_out_inventories(job: BulkJob, room: int) -> None:
    """The next customers' orders after the cursor: each one's eligible items in resends of at
    most the group maximum, to the order's address, until `room` resends are made."""
    items = matching_inventories(job.account, job.criteria)
    first_step = job.cursor == 0 and job.considered == 0
    try:
        routes = returnhelper_routes(
            job.account, str(job.criteria.get("warehouse_id") or "").strip(), job.service_type
        )
    except ReferenceUnavailable:
        return  # Return Helper's reference data cannot be loaded: try again at the next step
    except RuleViolation as refused:  # e.g. the warehouse no longer offers the service type
        after = (
            Q(order_id__gt=job.cursor) | Q(order__isnull=True)
            if first_step
            else Q(order_id__gt=job.cursor)
        )
        rest = items.filter(after).count()
        _count_skip(job, refused.problems[0].message[:120], rest)
        job.considered += rest
        job.fanout_done = True
        return
    if first_step:
        _count_orderless(job, items.filter(order__isnull=True), routes)
    limit = room * 4
    order_ids = list(
        items.filter(order_id__gt=job.cursor)
        .order_by("order_id")
        .values_list("order_id", flat=True)
        .distinct()[:limit]
    )
    busy = inventories_in_progress(job.account, after_order=job.cursor, excluding_job=job)
    orders = Order.objects.in_bulk(order_ids)
    by_order: dict[int, list[ReturnInventory]] = defaultdict(list)
    # Locked, as an agent's submit locks its items, while the step decides and writes.
    locked = items.filter(order_id__in=order_ids).select_related("account")
    for item in locked.select_for_update(of=("self",)).order_by("order_id", "pk"):
        by_order[item.order_id].append(item)  # type: ignore[index]
    made = 0
    entries: list[tuple[Intent | RuleViolation, int]] = []
    for order_id in order_ids:
        shipment = routes.shipment(rules.returnhelper_order_destination(orders[order_id]))
        try:
            destination_skip = routes.skip_reason(shipment)
            services = routes.services_to(shipment.get("shipmentCountryCode", ""))
        except ReferenceUnavailable:
            break  # a service list could not be loaded: this order again at the next step
        job.cursor = order_id
        sendable = []
        for item in by_order[order_id]:
            job.considered += 1
            reason = busy.get(item.pk) or rules.returnhelper_bulk_skip(item)
            if reason:
                _count_skip(job, reason)
            else:
                sendable.append(item)
        if sendable and destination_skip:
            _count_skip(job, destination_skip, len(sendable))
        elif sendable:
            for group in rules.returnhelper_split(sendable):
                key = f"rh:{order_id}:{group[0].pk}"
                intent = returnhelper_intent(
                    actor=job.created_by, locked=sorted(group, key=lambda inv: inv.pk),
                    shipment=shipment, countries=routes.countries, service_types=services,
                    note=job.note, intent_key=_key(job, key), channel=Channel.BULK, bulk_job=job,
                )  # fmt: skip
                entries.append((intent, len(group)))
                made += 1
        if made >= room:
            break
    else:
        if len(order_ids) < limit:
            job.fanout_done = True  # no customer's order after the cursor
    _submit_all(job, entries)


def _count_orderless(job: BulkJob, items: Any, routes: ReturnHelperRoutes) -> None:
    """Items with no order have no address to ship to: counted (by their first reason) once."""
    counted = BulkPreview(kind=job.kind)
    count_inventories(items, routes=routes, busy=inventories_in_progress(job.account), into=counted)
    for reason, n in counted.skipped.items():
        _count_skip(job, reason, n)
    job.considered += counted.skipped_total


def _count_skip(job: BulkJob, reason: str, items: int = 1) -> None:
    job.skipped += items
    job.skip_counts = {**job.skip_counts, reason: job.skip_counts.get(reason, 0) + items}


def _key(job: BulkJob, key: str) -> str:
    return f"bulk:{job.public_id}:{key}"


def _submit_all(job: BulkJob, entries: list[tuple[Intent | RuleViolation, int]]) -> None:
    """Write the step's resends at once, each an ordinary request of the job; a refusal or an
    identical resend elsewhere is a skip (of each of its items)."""
    intents = [entry for entry, _ in entries if isinstance(entry, Intent)]
    written = iter(create_requests(intents))
    for entry, items in entries:
        outcome = next(written) if isinstance(entry, Intent) else entry
        if isinstance(outcome, RuleViolation):
            _count_skip(job, outcome.problems[0].message[:120], items)
        elif not outcome.created and outcome.request.bulk_job_id != job.pk:
            _count_skip(job, rules.SKIP_RECENT, items)


def _submit(job: BulkJob, key: str, make: Any, *, items: int = 1) -> None:
    """Create one resend for the job with a single-submit service (a window, a retry)."""
    try:
        with transaction.atomic():
            submitted: Submitted = make(_key(job, key))
            if submitted.created:
                ResendRequest.objects.filter(pk=submitted.request.pk).update(bulk_job=job)
            elif submitted.request.bulk_job_id != job.pk:
                _count_skip(job, rules.SKIP_RECENT, items)
    except RuleViolation as violation:
        _count_skip(job, violation.problems[0].message[:120], items)


def _chargebee_full(job: BulkJob, order: Order, in_flight: int) -> Intent:
    return chargebee_intent(
        actor=job.created_by, order=order, lines=None, reason=job.reason_code, note=job.note,
        shipping_date=None, intent_key=_key(job, order.external_id), channel=Channel.BULK,
        in_flight=in_flight, bulk_job=job,
    )  # fmt: skip


def _junction_orders(job: BulkJob, chunk: list[str], known: dict[str, int]) -> Intent:
    ids, problems = rules.junction_parse_order_ids(chunk)
    return junction_orders_intent(
        actor=job.created_by, account=job.account, ids=ids, known=known, problems=problems,
        note=job.note, intent_key=_key(job, chunk[0]), channel=Channel.BULK, bulk_job=job,
    )  # fmt: skip


def _junction_window(job: BulkJob) -> Any:
    def make(key: str) -> Submitted:
        start, end = window_of(job.criteria)
        if start is None:  # checked when the job was created; refused here, as a skip, if not
            raise RuleViolation([rules.Problem("start_at", "The job's window has no start.")])
        return submit_junction_window(
            actor=job.created_by, account=job.account, start=start, end=end, note=job.note,
            intent_key=key, channel=Channel.BULK,
        )  # fmt: skip

    return make


def _fan_out_retry(job: BulkJob, room: int) -> None:
    """A retry job resends the failed part of each failed request of the job it retries."""
    failed = ResendRequest.objects.filter(
        bulk_job_id=job.retry_of_id,
        state__in=(RequestState.FAILED, RequestState.PARTLY_FAILED),
        pk__gt=job.cursor,
    ).order_by("pk")[:room]
    count = 0
    for original in failed:
        count += 1
        job.cursor = original.pk
        job.considered += 1
        if not failed_calls(original):
            continue
        _submit(job, f"retry-{original.pk}", lambda key, o=original: retry_failed(
            actor=job.created_by, request=o, intent_key=key, channel=Channel.BULK
        ))  # fmt: skip
    if count < room:
        job.fanout_done = True


# --- pause, resume, cancel -------------------------------------------------------------------
def pause(job: BulkJob) -> BulkJob:
    """Stop creating resends and hold the job's queued calls (the engine leaves them waiting)."""
    return _move(job, {BulkState.QUEUED, BulkState.RUNNING}, BulkState.PAUSED)


def resume(job: BulkJob) -> BulkJob:
    with transaction.atomic():
        job = _move(job, {BulkState.PAUSED}, BulkState.RUNNING)
        # The engine held them for a day (pending, or unknown when an earlier attempt's outcome
        # is still to be learned): due now.
        held = ProviderCall.objects.filter(
            request__bulk_job=job, state__in=(CallState.PENDING, CallState.UNKNOWN)
        )
        rows = list(held.values_list("pk", "state"))
        held.update(next_attempt_at=None)
        doorbell.ring_calls([pk for pk, state in rows if state == CallState.PENDING], Lane.BULK)
        for pk, state in rows:
            if state == CallState.UNKNOWN:
                doorbell.ring_call(pk, Lane.BULK)  # reconciled first, one at a time
        ring(job.pk)
    return job


def cancel(job: BulkJob) -> BulkJob:
    """No new resends, and the job's calls not yet sent are cancelled; sent ones stand."""
    with transaction.atomic():
        job = _move(job, set(BulkJob.ACTIVE_STATES), BulkState.CANCELLED)
        held = list(_held_calls(job).values_list("pk", "request_id"))
        ProviderCall.objects.filter(pk__in=[pk for pk, _ in held], state=CallState.PENDING).update(
            state=CallState.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now()
        )
        for request_id in {request_id for _, request_id in held}:
            refresh_request_state(request_id)
        job.finished_at = timezone.now()
        job.save(update_fields=["finished_at"])
        notify.job_ended(job, progress(job))
    return job


def _held_calls(job: BulkJob) -> Any:
    return ProviderCall.objects.filter(request__bulk_job=job, state=CallState.PENDING)


def _move(job: BulkJob, allowed: set[str], to: str) -> BulkJob:
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().get(pk=job.pk)
        if job.state not in allowed:
            raise RuleViolation(
                [rules.Problem("state", f"The job is {job.get_state_display().lower()}.")]
            )
        job.state = to
        job.save(update_fields=["state"])
    return job
