"""Submitting a resend: one transaction writes the request, its targets and its provider-call rows
(each with a stable idempotency key), and the calls are queued only after commit.

A repeated submit of the same intent returns the first request instead of making another:
- the same form token (double click, browser retry) hits the unique `intent_key`;
- the same content from another tab or agent matches `fingerprint` while the first is still in
  progress or succeeded recently (rules.DUPLICATE_WINDOW).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .. import rules
from ..models import (
    LineItem,
    Order,
    ProviderAccount,
    ProviderCall,
    ResendRequest,
    ResendTarget,
    ReturnInventory,
)
from ..models.audit import CallState, Channel, RequestState, ResendKind

Op = ProviderCall.Operation
OPEN_CALL_STATES = (
    CallState.PENDING,
    CallState.IN_FLIGHT,
    CallState.UNKNOWN,
    CallState.NEEDS_REVIEW,
)


class RuleViolation(Exception):
    def __init__(self, problems: Sequence[rules.Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


@dataclass
class Submitted:
    request: ResendRequest
    created: bool
    warnings: list[rules.Problem] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedCall:
    operation: str
    subject: str
    payload: dict[str, Any]


def fingerprint(account: ProviderAccount, kind: str, content: Any) -> str:
    canonical = json.dumps([account.pk, kind, content], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def enqueue_call(call_id: int) -> None:
    """Ring the doorbell after commit; the sweeper re-rings if this message is ever lost."""
    from ..tasks import execute_call

    transaction.on_commit(lambda: execute_call.delay(call_id))


def _existing_duplicate(account: ProviderAccount, print_: str) -> ResendRequest | None:
    """The same content, still in progress or succeeded moments ago."""
    recent = timezone.now() - rules.DUPLICATE_WINDOW
    return (
        ResendRequest.objects.filter(account=account, fingerprint=print_)
        .filter(
            ~Q(state__in=ResendRequest.FINAL_STATES)
            | Q(state=RequestState.SUCCEEDED, submitted_at__gte=recent)
        )
        .order_by("-submitted_at")
        .first()
    )


def _create(
    *,
    actor: User,
    account: ProviderAccount,
    kind: str,
    intent_key: str,
    channel: str,
    selection: dict[str, Any],
    same_as: Any,
    targets: Sequence[ResendTarget],
    calls: Sequence[PlannedCall],
    check: Callable[[], list[rules.Problem]],
    print_: str = "",
    **fields: Any,
) -> Submitted:
    """`same_as` is what makes two submits the same intent (what is resent, not why or how);
    `print_` instead gives that fingerprint directly (a retry reuses its original's).
    The same intent in progress (or done moments ago) is found before `check` runs the rules:
    the first submit may itself have used the order's last resend or taken the items off hold.
    Blocking problems from `check` refuse the resend; the others come back as warnings."""
    print_ = print_ or fingerprint(account, kind, same_as)
    duplicate = _existing_duplicate(account, print_)
    if duplicate is not None:
        return Submitted(duplicate, created=False)
    warnings = check()
    if rules.blocking(warnings):
        raise RuleViolation(rules.blocking(warnings))
    try:
        with transaction.atomic():
            request = ResendRequest.objects.create(
                intent_key=intent_key,
                fingerprint=print_,
                submitted_by=actor,
                channel=channel,
                account=account,
                kind=kind,
                selection=selection,
                state=RequestState.QUEUED,
                **fields,
            )
    except IntegrityError:
        return Submitted(ResendRequest.objects.get(intent_key=intent_key), created=False)
    for target in targets:
        target.request = request
    ResendTarget.objects.bulk_create(targets)
    rows = ProviderCall.objects.bulk_create(
        ProviderCall(
            request=request,
            account=account,
            subject=planned.subject,
            intent_key=f"{intent_key}:{index}",
            operation=planned.operation,
            payload=planned.payload,
        )
        for index, planned in enumerate(calls)
    )
    for row in rows:
        enqueue_call(row.pk)
    return Submitted(request, created=True, warnings=warnings)


def _already_submitted(intent_key: str) -> Submitted | None:
    existing = ResendRequest.objects.filter(intent_key=intent_key).first()
    return Submitted(existing, created=False) if existing else None


# --- Chargebee ------------------------------------------------------------------------------
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


def chargebee_check(
    *,
    order: Order,
    lines: Sequence[tuple[LineItem, int]] | None,
    reason: str,
    shipping_date: date | None,
    exclude_call: ProviderCall | None = None,
) -> list[rules.Problem]:
    in_flight = chargebee_open_calls(order.account, order.external_id)
    if exclude_call is not None and exclude_call.state in OPEN_CALL_STATES:
        in_flight -= 1
    return [
        *rules.chargebee_order_problems(order, in_flight=in_flight),
        *rules.chargebee_line_problems(order, lines or []),
        *rules.chargebee_reason_problems(reason),
        *rules.chargebee_shipping_date_problems(shipping_date, timezone.localdate()),
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


def chargebee_payload(
    order: Order,
    lines: Sequence[tuple[LineItem, int]] | None,
    reason: str,
    shipping_date: date | None,
) -> dict[str, Any]:
    when = None
    if shipping_date is not None:
        when = int(datetime.combine(shipping_date, datetime.min.time(), tzinfo=UTC).timestamp())
    return {
        "order_id": order.external_id,
        "lines": [{"id": line.external_id, "quantity": qty} for line, qty in lines or []],
        "shipping_date": when,
        "reason": reason or None,
    }


def submit_chargebee_resend(
    *,
    actor: User,
    order: Order,
    lines: Sequence[tuple[LineItem, int]] | None,
    reason: str = "",
    note: str = "",
    shipping_date: date | None = None,
    intent_key: str,
    channel: str = Channel.WEB,
) -> Submitted:
    """Full resend when `lines` is empty, otherwise partial with those quantities."""
    if found := _already_submitted(intent_key):
        return found
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("account").get(pk=order.pk)
        partial = bool(lines)
        kind = ResendKind.CHARGEBEE_PARTIAL if partial else ResendKind.CHARGEBEE_FULL
        payload = chargebee_payload(order, lines, reason, shipping_date)
        same_as = [payload["order_id"], sorted((x["id"], x["quantity"]) for x in payload["lines"])]
        targets = (
            [
                ResendTarget(
                    order=order, line_item=line, quantity=qty, external_ref=line.external_id
                )
                for line, qty in lines or []
            ]
            if partial
            else [ResendTarget(order=order, external_ref=order.external_id)]
        )
        return _create(
            actor=actor,
            account=order.account,
            kind=kind,
            intent_key=intent_key,
            channel=channel,
            selection=payload,
            same_as=same_as,
            targets=targets,
            calls=[PlannedCall(Op.CHARGEBEE_RESEND_ORDER, order.external_id, payload)],
            check=lambda: chargebee_check(
                order=order, lines=lines, reason=reason, shipping_date=shipping_date
            ),
            reason_code=reason,
            note=note,
            shipping_date=shipping_date,
        )


# --- Junction -------------------------------------------------------------------------------
def submit_junction_orders(
    *,
    actor: User,
    account: ProviderAccount,
    order_ids: Sequence[str],
    note: str = "",
    intent_key: str,
    channel: str = Channel.WEB,
) -> Submitted:
    if found := _already_submitted(intent_key):
        return found
    ids, problems = rules.junction_parse_order_ids(order_ids)
    if rules.blocking(problems):
        raise RuleViolation(rules.blocking(problems))
    known = dict(
        Order.objects.filter(account=account, external_id__in=ids).values_list("external_id", "pk")
    )
    targets = [ResendTarget(order_id=known.get(i), external_ref=i) for i in ids]
    calls = [
        PlannedCall(
            Op.JUNCTION_RESEND_EVENTS, batch[0] if len(batch) == 1 else "", {"order_ids": batch}
        )
        for batch in rules.junction_batches(ids)
    ]
    with transaction.atomic():
        return _create(
            actor=actor,
            account=account,
            kind=ResendKind.JUNCTION_ORDERS,
            intent_key=intent_key,
            channel=channel,
            selection={"order_ids": ids},
            same_as=sorted(ids),
            targets=targets,
            calls=calls,
            check=lambda: problems,
            note=note,
        )


def submit_junction_window(
    *,
    actor: User,
    account: ProviderAccount,
    start: datetime,
    end: datetime | None,
    note: str = "",
    intent_key: str,
    channel: str = Channel.WEB,
) -> Submitted:
    if found := _already_submitted(intent_key):
        return found
    now = timezone.now()
    problems = rules.junction_check_window(start, end, now)
    if rules.blocking(problems):
        raise RuleViolation(rules.blocking(problems))
    end = end or now
    pieces = rules.split_window(start, end)
    calls = [
        PlannedCall(Op.JUNCTION_RESEND_EVENTS, "", {"start_at": _iso(a), "end_at": _iso(b)})
        for a, b in pieces
    ]
    with transaction.atomic():
        return _create(
            actor=actor,
            account=account,
            kind=ResendKind.JUNCTION_WINDOW,
            intent_key=intent_key,
            channel=channel,
            selection={"start_at": _iso(start), "end_at": _iso(end)},
            same_as=[_iso(start), _iso(end)],
            targets=[ResendTarget(external_ref=f"{_iso(start)}..{_iso(end)}"[:64])],
            calls=calls,
            check=lambda: problems,
            note=note,
            window_start=start,
            window_end=end,
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- Return Helper --------------------------------------------------------------------------
def submit_returnhelper_resend(
    *,
    actor: User,
    inventories: Sequence[ReturnInventory],
    shipment: dict[str, str],
    countries: Sequence[str] | None,
    service_types: Sequence[str] | None,
    note: str = "",
    intent_key: str,
    channel: str = Channel.WEB,
) -> Submitted:
    if found := _already_submitted(intent_key):
        return found
    if not inventories:
        raise RuleViolation([rules.Problem("inventories", "Pick at least one item.")])
    with transaction.atomic():
        locked = list(
            ReturnInventory.objects.select_for_update()
            .select_related("account")
            .filter(pk__in=[inv.pk for inv in inventories])
            .order_by("pk")
        )
        if not locked:
            raise RuleViolation([rules.Problem("inventories", "Pick at least one item.")])
        # An id that is not a number is refused by returnhelper_group_problems (in `check`).
        ids = sorted(int(inv.external_id) for inv in locked if inv.external_id.isdigit())
        payload = {
            "inventory_ids": ids,
            "shipment": shipment,
            "description": "",
            "remarks": note[:500],
        }
        return _create(
            actor=actor,
            account=locked[0].account,
            kind=ResendKind.RETURNHELPER,
            intent_key=intent_key,
            channel=channel,
            selection={"inventory_ids": ids, "shipment": shipment},
            same_as=ids,
            targets=[
                ResendTarget(inventory=inv, order_id=inv.order_id, external_ref=inv.external_id)
                for inv in locked
            ],
            calls=[
                PlannedCall(Op.RETURNHELPER_CREATE_RESEND, ",".join(map(str, ids))[:64], payload)
            ],
            check=lambda: returnhelper_check(locked, shipment, countries, service_types),
            note=note,
            destination=shipment,
        )


def _accepted_create(calls: Iterable[ProviderCall]) -> ProviderCall | None:
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
    create = _accepted_create(calls)
    if create is None:
        message = "Only a resend Return Helper has accepted can be cancelled."
        return [rules.Problem("cancel", message)]
    return rules.returnhelper_cancel_problems(create.provider_status)


def cancel_returnhelper_resend(*, actor: User, request: ResendRequest) -> ProviderCall:
    """Queue a cancel of an accepted Return Helper resend that has not started; idempotent."""
    with transaction.atomic():
        request = ResendRequest.objects.select_for_update().get(pk=request.pk)
        calls = list(request.calls.all())
        problems = cancel_problems(calls)
        if problems:
            raise RuleViolation(problems)
        create = _accepted_create(calls)
        assert create is not None
        existing = (
            request.calls.filter(operation=Op.RETURNHELPER_CANCEL_RESEND)
            .exclude(state=CallState.FAILED)
            .first()
        )
        if existing is not None:
            return existing
        tries = request.calls.filter(operation=Op.RETURNHELPER_CANCEL_RESEND).count()
        call = ProviderCall.objects.create(
            request=request,
            account=request.account,
            subject=create.provider_reference,
            intent_key=f"{request.intent_key}:cancel:{tries}",
            operation=Op.RETURNHELPER_CANCEL_RESEND,
            payload={"resend_id": int(create.provider_reference)},
            requested_by=actor,
        )
        enqueue_call(call.pk)
        return call
