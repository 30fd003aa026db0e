"""What a call's outcome means for its request and for our mirrors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..models import Order, ProviderCall, ResendRequest, ReturnInventory
from ..models.audit import CallState, RequestState
from ..providers.base import CallResult
from .rows import update_one, update_rows

Op = ProviderCall.Operation


def request_state_for(counts: dict[str, int]) -> str:
    """The request's state from its calls' states (only resend calls, not cancellations)."""
    total = sum(counts.values())
    if total == 0:
        return RequestState.QUEUED
    open_ = (
        counts.get(CallState.PENDING, 0)
        + counts.get(CallState.IN_FLIGHT, 0)
        + counts.get(CallState.UNKNOWN, 0)
    )
    if open_:
        return RequestState.RUNNING
    if counts.get(CallState.NEEDS_REVIEW, 0):
        return RequestState.NEEDS_REVIEW
    succeeded = counts.get(CallState.SUCCEEDED, 0)
    cancelled = counts.get(CallState.CANCELLED, 0)
    if succeeded == total:
        return RequestState.SUCCEEDED
    if cancelled == total:
        return RequestState.CANCELLED
    if succeeded:
        return RequestState.PARTLY_FAILED
    return RequestState.FAILED


def refresh_request_state(request_id: int) -> str:
    with transaction.atomic(savepoint=False):
        request = ResendRequest.objects.select_for_update().get(pk=request_id)
        if request.state in (RequestState.DRAFT, RequestState.AWAITING_APPROVAL):
            return request.state
        rows = (
            ProviderCall.objects.filter(request_id=request_id)
            .exclude(operation=Op.RETURNHELPER_CANCEL_RESEND)
            .values("state")
            .annotate(n=Count("id"))
        )
        state = request_state_for({row["state"]: row["n"] for row in rows})
        if request.state == RequestState.CANCELLED and state == RequestState.SUCCEEDED:
            state = RequestState.CANCELLED  # cancelled at the provider after it succeeded
        if state != request.state:
            now = timezone.now()
            request.state = state
            request.state_changed_at = now
            request.finished_at = now if state in ResendRequest.FINAL_STATES else None
            request.save(update_fields=["state", "state_changed_at", "finished_at"])
        return state


def settle_request(call: ProviderCall, state: str) -> None:
    """The request's state after this call moved to `state`. A request whose only resend call
    this is follows it in one statement (what the engine mostly sees); others are counted."""
    if getattr(call, "siblings", None) != 1 or call.operation == Op.RETURNHELPER_CANCEL_RESEND:
        refresh_request_state(call.request_id)
        return
    new = request_state_for({state: 1})
    now = timezone.now()
    update_one(
        ResendRequest,
        call.request_id,
        {
            "state": new,
            "state_changed_at": now,
            "finished_at": now if new in ResendRequest.FINAL_STATES else None,
        },
        not_in={"state": _kept_states(new)},
    )


def settle_requests(calls: Sequence[ProviderCall]) -> None:
    """settle_request for a batch of calls that all moved to their `state`: the requests whose
    only call each is follow in one statement per state; the others are counted one by one."""
    single: dict[str, list[int]] = defaultdict(list)
    for call in calls:
        if getattr(call, "siblings", None) == 1 and call.operation != Op.RETURNHELPER_CANCEL_RESEND:
            single[call.state].append(call.request_id)
        else:
            refresh_request_state(call.request_id)
    now = timezone.now()
    for state, request_ids in single.items():
        new = request_state_for({state: 1})
        ResendRequest.objects.filter(pk__in=request_ids).exclude(_keeps_state(new)).update(
            state=new,
            state_changed_at=now,
            finished_at=now if new in ResendRequest.FINAL_STATES else None,
        )


def _kept_states(new: str) -> list[str]:
    """Requests in these states do not take `new` from their only call: drafts and those
    awaiting approval, those already there, and (for a success) those cancelled at the provider
    after it."""
    kept = [RequestState.DRAFT, RequestState.AWAITING_APPROVAL, new]
    return [*kept, RequestState.CANCELLED] if new == RequestState.SUCCEEDED else kept


def _keeps_state(new: str) -> Q:
    return Q(state__in=_kept_states(new))


def count_resends(order: Order) -> int:
    """Resends of a Chargebee order that count against its cap, from facts that cannot double:
    the resend orders Chargebee lists for it, plus our succeeded calls whose new order it does not
    list (yet). Our success and Chargebee's webhook land in either order; each resend counts once.
    A success whose new order we could not read counts on its own: too many, never too few.

    Call it holding the order's row lock (select_for_update), with resent_order_ids current."""
    ours = ProviderCall.objects.filter(
        account_id=order.account_id,
        operation=Op.CHARGEBEE_RESEND_ORDER,
        subject=order.external_id,
        state=CallState.SUCCEEDED,
    ).values_list("provider_reference", flat=True)
    return _count(order, list(ours))


def _count(order: Order, our_references: list[str]) -> int:
    listed = set(order.resent_order_ids or ())
    return len(listed) + sum(1 for ref in our_references if not ref or ref not in listed)


def apply_success(call: ProviderCall, result: CallResult) -> None:
    """Keep the mirrors truthful right away, so the next preview counts this resend."""
    if call.operation == Op.CHARGEBEE_RESEND_ORDER:
        full = not call.payload.get("lines")
        updates = {"resent_status": "fully_resent" if full else "partially_resent"}
        if full:
            updates["status"] = "cancelled"
        order = (
            Order.objects.select_for_update()
            .filter(account=call.account, external_id=call.subject)
            .first()
        )
        if order is not None:
            for name, value in updates.items():
                setattr(order, name, value)
            order.resend_count = count_resends(order)  # this call is SUCCEEDED already
            order.save(update_fields=["resend_count", *updates])
    elif call.operation == Op.RETURNHELPER_CREATE_RESEND:
        ReturnInventory.objects.filter(
            account=call.account,
            external_id__in=[str(i) for i in call.payload.get("inventory_ids", [])],
        ).update(handling_code="rsd")
    elif call.operation == Op.RETURNHELPER_CANCEL_RESEND:
        ReturnInventory.objects.filter(
            account=call.account, resend_targets__request=call.request
        ).update(handling_code="ohd")
        ProviderCall.objects.filter(
            request=call.request, operation=Op.RETURNHELPER_CREATE_RESEND
        ).update(provider_status="canceled")
        ResendRequest.objects.filter(pk=call.request_id).update(
            state=RequestState.CANCELLED,
            state_changed_at=timezone.now(),
            finished_at=timezone.now(),
        )


def apply_successes(calls: Sequence[ProviderCall], results: Sequence[CallResult]) -> None:
    """apply_success for a batch: a bulk job's full Chargebee resends update their orders in a
    few statements; anything else one by one."""
    full_chargebee = [
        call
        for call in calls
        if call.operation == Op.CHARGEBEE_RESEND_ORDER and not call.payload.get("lines")
    ]
    for call, result in zip(calls, results, strict=True):
        if call not in full_chargebee:
            apply_success(call, result)
    by_account: dict[int, list[str]] = defaultdict(list)
    for call in full_chargebee:
        by_account[call.account_id].append(call.subject)
    for account_id, subjects in by_account.items():
        orders = list(
            Order.objects.select_for_update()
            .filter(account_id=account_id, external_id__in=subjects)
            .order_by("pk")
        )
        ours: dict[str, list[str]] = defaultdict(list)
        for subject, reference in ProviderCall.objects.filter(
            account_id=account_id,
            operation=Op.CHARGEBEE_RESEND_ORDER,
            subject__in=subjects,
            state=CallState.SUCCEEDED,
        ).values_list("subject", "provider_reference"):
            ours[subject].append(reference)
        for order in orders:
            order.resent_status, order.status = "fully_resent", "cancelled"
            order.resend_count = _count(order, ours[order.external_id])
        update_rows(Order, orders, ["resent_status", "status", "resend_count"])
