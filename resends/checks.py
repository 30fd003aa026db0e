"""The rules held against our mirrors and the calls in flight.

The preview, the submit and the engine's last look before a call leaves all ask these functions,
so the three can never disagree: what the agent was shown is what the submit enforces, and what
the call checks again just before it is sent. The pure rules are in rules.py; this module adds
what only the database knows (resends in progress, a bulk job paused, an order's calls in flight).
It sits below the engine and the services and imports only rules, roles, inputs, times and
models. It also holds what makes two submits the same resend (same_resend), which the preview and
the submit both ask.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import rules
from .inputs import parse_id
from .models import (
    BulkJob,
    BulkState,
    LineItem,
    Order,
    ProviderAccount,
    ProviderCall,
    ResendRequest,
    ResendTarget,
    ReturnInventory,
)
from .models.audit import BULK_CHANNELS, CallState, RequestState, ResendKind
from .roles import can_audit
from .times import iso_z

Op = ProviderCall.Operation
OPEN_CALL_STATES = (
    CallState.PENDING,
    CallState.IN_FLIGHT,
    CallState.UNKNOWN,
    CallState.NEEDS_REVIEW,
)


# --- Chargebee: the 5-resend cap counts the calls in flight -----------------------------------
def chargebee_calls_in_flight(
    account: ProviderAccount, order_ids: list[str] | None = None
) -> Counter[str]:
    """Open Chargebee resend calls per order id (all of the account's, or these orders')."""
    calls = ProviderCall.objects.filter(
        account=account,
        operation=Op.CHARGEBEE_RESEND_ORDER,
        state__in=OPEN_CALL_STATES,
    )
    if order_ids is not None:
        calls = calls.filter(subject__in=order_ids)
    return Counter(calls.values_list("subject", flat=True))


def chargebee_open_calls(account: ProviderAccount, order_id: str) -> int:
    return chargebee_calls_in_flight(account, [order_id])[order_id]


def chargebee_today() -> date:
    """The first day a Chargebee shipping date may name. The date goes on the wire as its midnight
    in UTC (submit.chargebee_payload), so days are UTC days here, whatever the staff member's zone:
    the preview and the engine's last look (in a worker, in UTC) then agree."""
    return datetime.now(UTC).date()


def chargebee_check(
    *,
    order: Order,
    lines: Sequence[tuple[LineItem, int]] | None,
    reason: str,
    shipping_date: date | None,
    exclude_call: ProviderCall | None = None,
    in_flight: int | None = None,
) -> list[rules.Problem]:
    """`in_flight`: the order's open resend calls, when the caller has counted them already."""
    if in_flight is None:
        in_flight = chargebee_open_calls(order.account, order.external_id)
    if exclude_call is not None and exclude_call.state in OPEN_CALL_STATES:
        in_flight -= 1
    return [
        *rules.chargebee_order_problems(order, in_flight=in_flight),
        *rules.chargebee_line_problems(order, lines or []),
        *rules.chargebee_reason_problems(reason),
        *rules.chargebee_shipping_date_problems(shipping_date, chargebee_today()),
    ]


def returnhelper_check(
    inventories: Sequence[ReturnInventory],
    shipment: dict[str, str],
    countries: Sequence[str] | None,
    service_types: Sequence[str] | None,
) -> list[rules.Problem]:
    return [
        *rules.returnhelper_group_problems(inventories),
        *rules.returnhelper_address_problems(
            shipment, countries=countries, service_types=service_types
        ),
    ]


# --- the engine's last look before a call leaves ----------------------------------------------
def call_problems(call: ProviderCall) -> list[rules.Problem]:
    """Blocking problems for sending this call now; empty when it may go. The mirror may have
    moved since the submit (a sync found resends made in the provider's dashboard, an item left
    the warehouse)."""
    if call.operation == Op.CHARGEBEE_RESEND_ORDER:
        return rules.blocking(_chargebee_call_problems(call))
    if call.operation == Op.RETURNHELPER_CREATE_RESEND:
        ids = [str(i) for i in call.payload.get("inventory_ids", [])]
        inventories = list(
            ReturnInventory.objects.filter(account=call.account, external_id__in=ids)
        )
        if len(inventories) < len(ids):
            return []  # not all mirrored (e.g. created at the provider since); the provider decides
        return rules.blocking(rules.returnhelper_group_problems(inventories))
    return []


def calls_problems(calls: Sequence[ProviderCall]) -> dict[int, list[rules.Problem]]:
    """call_problems for a batch of calls about to be sent together (the engine's batches), in a
    few queries whatever their number: the blocking problems of each call that has any."""
    found: dict[int, list[rules.Problem]] = {}
    chargebee = [c for c in calls if c.operation == Op.CHARGEBEE_RESEND_ORDER]
    others = [c for c in calls if c.operation != Op.CHARGEBEE_RESEND_ORDER]
    if chargebee:
        by_account: dict[int, list[ProviderCall]] = {}
        for call in chargebee:
            by_account.setdefault(call.account_id, []).append(call)
        for account_calls in by_account.values():
            account = account_calls[0].account
            subjects = [c.subject for c in account_calls]
            rows = Order.objects.filter(account=account, external_id__in=subjects)
            if any(c.payload.get("lines") for c in account_calls):
                rows = rows.prefetch_related("line_items")
            orders = {o.external_id: o for o in rows.select_related("account")}
            in_flight = chargebee_calls_in_flight(account, subjects)
            for call in account_calls:
                order = orders.get(call.subject)
                if order is None:
                    continue  # not mirrored: the provider decides
                open_here = in_flight[call.subject] - (1 if call.state in OPEN_CALL_STATES else 0)
                problems = rules.blocking(_chargebee_problems(call, order, open_here))
                if problems:
                    found[call.pk] = problems
    for call in others:  # Return Helper and Junction batches are rare: one by one
        if problems := call_problems(call):
            found[call.pk] = problems
    return found


def _chargebee_call_problems(call: ProviderCall) -> list[rules.Problem]:
    open_calls = (
        ProviderCall.objects.filter(
            account_id=OuterRef("account_id"),
            operation=Op.CHARGEBEE_RESEND_ORDER,
            subject=OuterRef("external_id"),
            state__in=OPEN_CALL_STATES,
        )
        .order_by()
        .values("subject")
        .annotate(n=Count("pk"))
        .values("n")
    )
    order = (
        Order.objects.filter(account=call.account, external_id=call.subject)
        .select_related("account")
        .annotate(open_calls=Coalesce(Subquery(open_calls), 0))
        .first()
    )
    if order is None:
        return []  # not mirrored: the provider decides
    in_flight = order.open_calls - (1 if call.state in OPEN_CALL_STATES else 0)  # type: ignore[attr-defined]
    return _chargebee_problems(call, order, in_flight)


def _chargebee_problems(call: ProviderCall, order: Order, in_flight: int) -> list[rules.Problem]:
    """The order rules for this call, its order's other open calls counted as `in_flight`."""
    wanted_lines = call.payload.get("lines") or []
    lines_by_id = (
        {line.external_id: line for line in order.line_items.all()} if wanted_lines else {}
    )
    lines, problems = [], []
    for wanted in wanted_lines:
        line = lines_by_id.get(wanted["id"])
        if line is None:
            problems.append(rules.Problem(wanted["id"], "This line is no longer on the order."))
        else:
            lines.append((line, int(wanted["quantity"])))
    shipping = call.payload.get("shipping_date")
    shipping_date = datetime.fromtimestamp(shipping, tz=UTC).date() if shipping else None
    return problems + chargebee_check(
        order=order,
        lines=lines,
        reason=call.payload.get("reason") or "",
        shipping_date=shipping_date,
        in_flight=in_flight,
    )


def is_held(call: ProviderCall) -> str:
    """'' when the call may go; 'paused' or 'cancelled' when its bulk job says it may not.
    The engine asks this with the call claimed, so a pause takes effect before the next send
    (it reads the job's state with the call itself: held_by)."""
    job_id = call.request.bulk_job_id
    if job_id is None:
        return ""
    return held_by(BulkJob.objects.filter(pk=job_id).values_list("state", flat=True).first())


def held_by(job_state: str | None) -> str:
    """What a call's bulk job (in this state; None: no job) says about sending it now."""
    if job_state == BulkState.PAUSED:
        return "paused"
    if job_state == BulkState.CANCELLED:
        return "cancelled"
    return ""


# --- resends in progress (a second resend of the same thing is a duplicate) -------------------
def _in_progress(targets: QuerySet[ResendTarget], key: str) -> dict[int, str]:
    recent = timezone.now() - rules.DUPLICATE_WINDOW
    rows = targets.filter(
        ~Q(request__state__in=ResendRequest.FINAL_STATES)
        | Q(request__state=RequestState.SUCCEEDED, request__submitted_at__gte=recent)
    ).values_list(key, "request__channel", "request__state")
    busy: dict[int, str] = {}
    for pk, channel, state in rows:
        elsewhere = channel in BULK_CHANNELS and state != RequestState.SUCCEEDED
        if elsewhere or pk not in busy:
            busy[pk] = rules.SKIP_PENDING_ELSEWHERE if elsewhere else rules.SKIP_RECENT
    return busy


def orders_in_progress(
    account: ProviderAccount, *, after_order: int = 0, excluding_job: BulkJob | None = None
) -> dict[int, str]:
    """Orders with a resend in progress (in a bulk job or not) or one that succeeded moments ago.
    A running job asks only about the orders after its cursor, leaving out its own resends."""
    targets = ResendTarget.objects.filter(
        request__account=account, order__isnull=False, order_id__gt=after_order
    )
    if excluding_job is not None:
        targets = targets.exclude(request__bulk_job=excluding_job)
    return _in_progress(targets, "order_id")


def inventories_in_progress(
    account: ProviderAccount,
    *,
    after_order: int | None = None,
    excluding_job: BulkJob | None = None,
) -> dict[int, str]:
    """Return items (by pk) in a resend in progress or one that succeeded moments ago; a running
    job asks only about the items of the orders after its cursor, leaving out its own."""
    targets = ResendTarget.objects.filter(request__account=account, inventory__isnull=False)
    if after_order is not None:
        targets = targets.filter(inventory__order_id__gt=after_order)
    if excluding_job is not None:
        targets = targets.exclude(request__bulk_job=excluding_job)
    return _in_progress(targets, "inventory_id")


# --- the same resend, submitted moments ago (a second one is not sent) -----------------------
# Two submits are the same resend when they resend the same thing (not why or how): the same
# kind on the same account with the same content below. While the first is in progress, or for
# rules.DUPLICATE_WINDOW after it succeeded, a submit of the same content returns the first
# (services/requests.py), and the preview names it and offers no Submit (selectors/preview.py).
def chargebee_kind(lines: Sequence[Any] | None) -> str:
    return ResendKind.CHARGEBEE_PARTIAL if lines else ResendKind.CHARGEBEE_FULL


def chargebee_same_as(order_id: str, lines: Iterable[tuple[str, int]]) -> list[Any]:
    """An order and its (line id, quantity) pairs; none for a full resend."""
    return [order_id, sorted((line_id, int(quantity)) for line_id, quantity in lines)]


def junction_orders_same_as(ids: Iterable[str]) -> list[str]:
    return sorted(ids)


def junction_window_same_as(start: datetime, end: datetime) -> list[str]:
    """The window's ends as sent."""
    return [iso_z(start), iso_z(end)]


def returnhelper_ids(external_ids: Iterable[str]) -> list[int]:
    """Return Helper's inventory ids as sent: numbers, in order (one that is not a number is
    refused by rules.returnhelper_group_problems)."""
    return sorted(filter(None, (parse_id(i) for i in external_ids)))


def returnhelper_same_as(ids: Sequence[int]) -> list[int]:
    return list(ids)


def fingerprint(account: ProviderAccount, kind: str, content: Any) -> str:
    canonical = json.dumps([account.pk, kind, content], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def still_the_same() -> Q:
    """Requests a submit of the same content lands on: in progress, or succeeded moments ago."""
    recent = timezone.now() - rules.DUPLICATE_WINDOW
    return ~Q(state__in=ResendRequest.FINAL_STATES) | Q(
        state=RequestState.SUCCEEDED, submitted_at__gte=recent
    )


def same_resends(accounts: Iterable[int], prints: Iterable[str]) -> dict[str, ResendRequest]:
    """The newest such request of each fingerprint, with who submitted it."""
    found: dict[str, ResendRequest] = {}
    rows = (
        ResendRequest.objects.filter(account__in=set(accounts), fingerprint__in=set(prints))
        .filter(still_the_same())
        .select_related("submitted_by")
        .order_by("-submitted_at")
    )
    for row in rows:
        found.setdefault(row.fingerprint, row)
    return found


def same_resend(account: ProviderAccount, kind: str, content: Any) -> ResendRequest | None:
    """The request a submit of this content would return instead of sending it again."""
    print_ = fingerprint(account, kind, content)
    return same_resends([account.pk], [print_]).get(print_)


# --- cancel and retry of a finished resend ----------------------------------------------------
def actor_problems(
    actor: Any, request: ResendRequest, action: Literal["retry", "cancel"]
) -> list[rules.Problem]:
    """Whether `actor` may retry or cancel this resend (README, "Who may retry or cancel what"):
    a manager any resend; an agent only one they submitted themselves, in the console or from
    the command line. A bulk job's or a schedule's resends are for managers only."""
    if can_audit(actor):
        return []
    if request.channel in BULK_CHANNELS or request.bulk_job_id is not None:
        message = f"Only a manager may {action} a resend made by a bulk job or a schedule."
        return [rules.Problem(action, message)]
    if request.submitted_by_id != actor.pk:
        message = f"Only the person who submitted this resend, or a manager, may {action} it."
        return [rules.Problem(action, message)]
    return []


def accepted_create(calls: Iterable[ProviderCall]) -> ProviderCall | None:
    """The Return Helper create call the provider accepted (it holds the resend's id)."""
    return next(
        (
            c
            for c in calls
            if c.operation == Op.RETURNHELPER_CREATE_RESEND
            and c.state == CallState.SUCCEEDED
            and c.provider_reference
        ),
        None,
    )


def cancel_problems(calls: Iterable[ProviderCall]) -> list[rules.Problem]:
    """Why the resend with these calls cannot be cancelled now (the page offers Cancel only
    when there is nothing)."""
    create = accepted_create(calls)
    if create is None:
        message = "Only a resend Return Helper has accepted can be cancelled."
        return [rules.Problem("cancel", message)]
    return rules.returnhelper_cancel_problems(create.provider_status)


RETRYABLE_OPERATIONS = (
    Op.JUNCTION_RESEND_EVENTS,
    Op.CHARGEBEE_RESEND_ORDER,
    Op.RETURNHELPER_CREATE_RESEND,
)


def failed_calls(request: ResendRequest) -> list[ProviderCall]:
    return list(
        request.calls.filter(state=CallState.FAILED, operation__in=RETRYABLE_OPERATIONS).order_by(
            "id"
        )
    )


def retry_problems(
    request: ResendRequest, failed: list[ProviderCall] | None = None
) -> list[rules.Problem]:
    """Why the failed part cannot be retried now (empty when it can)."""
    if not request.is_final:
        return [rules.Problem("retry", "Wait until this resend has finished.")]
    failed = failed_calls(request) if failed is None else failed
    if not failed:
        return [rules.Problem("retry", "Nothing in this resend failed.")]
    return [problem for call in failed for problem in call_problems(call)]
