"""Submitting a resend of each kind: the payload the provider gets, the targets it is about, and
the rules that must hold (checked again with the order or items locked), written through
requests.create_request in one transaction and rung for a worker after commit.

Each kind has an `*_intent` builder (what to write and which rules hold) that the single submit
below and a bulk job's window (bulk_run.py, many intents at once) share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .. import rules
from ..checks import (
    chargebee_check,
    chargebee_kind,
    chargebee_same_as,
    junction_orders_same_as,
    junction_window_same_as,
    returnhelper_check,
    returnhelper_ids,
    returnhelper_same_as,
)
from ..models import LineItem, Order, ProviderAccount, ProviderCall, ResendTarget, ReturnInventory
from ..models.audit import Channel, ResendKind
from ..rules import RuleViolation
from ..times import iso_z
from .requests import Intent, PlannedCall, Submitted, already_submitted, create_request

Op = ProviderCall.Operation


# --- Chargebee ------------------------------------------------------------------------------
def chargebee_payload(
    order: Order,
    lines: Sequence[tuple[LineItem, int]] | None,
    reason: str,
    shipping_date: date | None,
    *,
    origin_user: str = "",
    customer_email: bool = True,
    webhooks: bool = True,
) -> dict[str, Any]:
    """What the call sends: the body's fields, and (as headers) who asked and whether Chargebee
    emails the customer and sends webhooks about it. Stored with the call, so every attempt and
    every reconcile sends the same."""
    when = None
    if shipping_date is not None:
        when = int(datetime.combine(shipping_date, datetime.min.time(), tzinfo=UTC).timestamp())
    return {
        "order_id": order.external_id,
        "lines": [{"id": line.external_id, "quantity": qty} for line, qty in lines or []],
        "shipping_date": when,
        "reason": reason or None,
        "origin_user": origin_user,
        "customer_email": customer_email,
        "webhooks": webhooks,
    }


def chargebee_intent(
    *,
    actor: User,
    order: Order,
    lines: Sequence[tuple[LineItem, int]] | None,
    reason: str,
    note: str,
    shipping_date: date | None,
    intent_key: str,
    channel: str,
    in_flight: int | None = None,
    customer_email: bool = True,
    webhooks: bool = True,
    **fields: Any,
) -> Intent:
    """`order` locked by the caller; `in_flight`: its open resend calls, when already counted.
    Chargebee's history names `actor` (by email) as who asked."""
    payload = chargebee_payload(
        order,
        lines,
        reason,
        shipping_date,
        origin_user=actor.email,
        customer_email=customer_email,
        webhooks=webhooks,
    )
    targets = (
        [
            ResendTarget(order=order, line_item=line, quantity=qty, external_ref=line.external_id)
            for line, qty in lines or []
        ]
        if lines
        else [ResendTarget(order=order, external_ref=order.external_id)]
    )
    return Intent(
        actor=actor,
        account=order.account,
        kind=chargebee_kind(lines),
        intent_key=intent_key,
        channel=channel,
        selection=payload,
        same_as=chargebee_same_as(
            payload["order_id"], [(x["id"], x["quantity"]) for x in payload["lines"]]
        ),
        targets=targets,
        calls=[PlannedCall(Op.CHARGEBEE_RESEND_ORDER, order.external_id, payload)],
        check=lambda: chargebee_check(
            order=order,
            lines=lines,
            reason=reason,
            shipping_date=shipping_date,
            in_flight=in_flight,
        ),
        fields={"reason_code": reason, "note": note, "shipping_date": shipping_date, **fields},
    )


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
    ticket: str = "",
    customer_email: bool = True,
    webhooks: bool = True,
) -> Submitted:
    """Full resend when `lines` is empty, otherwise partial with those quantities.
    `customer_email` / `webhooks` off: Chargebee neither emails the customer nor sends webhooks
    about this resend."""
    if found := already_submitted(intent_key):
        return found
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("account").get(pk=order.pk)
        return create_request(
            chargebee_intent(
                actor=actor,
                order=order,
                lines=lines,
                reason=reason,
                note=note,
                shipping_date=shipping_date,
                intent_key=intent_key,
                channel=channel,
                customer_email=customer_email,
                webhooks=webhooks,
                ticket=ticket,
            )
        )


# --- Junction -------------------------------------------------------------------------------
def junction_orders_intent(
    *,
    actor: User,
    account: ProviderAccount,
    ids: list[str],
    known: dict[str, int],
    problems: list[rules.Problem],
    note: str,
    intent_key: str,
    channel: str,
    **fields: Any,
) -> Intent:
    """`ids` already parsed (rules.junction_parse_order_ids, whose `problems` they come with);
    `known`: our mirror's order pk for each id it holds."""
    return Intent(
        actor=actor,
        account=account,
        kind=ResendKind.JUNCTION_ORDERS,
        intent_key=intent_key,
        channel=channel,
        selection={"order_ids": ids},
        same_as=junction_orders_same_as(ids),
        targets=[ResendTarget(order_id=known.get(i), external_ref=i) for i in ids],
        calls=[
            PlannedCall(
                Op.JUNCTION_RESEND_EVENTS, batch[0] if len(batch) == 1 else "", {"order_ids": batch}
            )
            for batch in rules.junction_batches(ids)
        ],
        check=lambda: problems,
        fields={"note": note, **fields},
    )


def submit_junction_orders(
    *,
    actor: User,
    account: ProviderAccount,
    order_ids: Sequence[str],
    note: str = "",
    intent_key: str,
    channel: str = Channel.WEB,
    ticket: str = "",
) -> Submitted:
    if found := already_submitted(intent_key):
        return found
    ids, problems = rules.junction_parse_order_ids(order_ids)
    if rules.blocking(problems):
        raise RuleViolation(rules.blocking(problems))
    known = dict(
        Order.objects.filter(account=account, external_id__in=ids).values_list("external_id", "pk")
    )
    with transaction.atomic():
        return create_request(
            junction_orders_intent(
                actor=actor,
                account=account,
                ids=ids,
                known=known,
                problems=problems,
                note=note,
                intent_key=intent_key,
                channel=channel,
                ticket=ticket,
            )
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
    **fields: Any,
) -> Submitted:
    if found := already_submitted(intent_key):
        return found
    now = timezone.now()
    problems = rules.junction_check_window(start, end, now)
    if rules.blocking(problems):
        raise RuleViolation(rules.blocking(problems))
    end = end or now
    pieces = rules.split_window(start, end)
    calls = [
        PlannedCall(Op.JUNCTION_RESEND_EVENTS, "", {"start_at": iso_z(a), "end_at": iso_z(b)})
        for a, b in pieces
    ]
    with transaction.atomic():
        return create_request(
            Intent(
                actor=actor,
                account=account,
                kind=ResendKind.JUNCTION_WINDOW,
                intent_key=intent_key,
                channel=channel,
                selection={"start_at": iso_z(start), "end_at": iso_z(end)},
                same_as=junction_window_same_as(start, end),
                targets=[ResendTarget(external_ref=f"{iso_z(start)}..{iso_z(end)}"[:64])],
                calls=calls,
                check=lambda: problems,
                fields={"note": note, "window_start": start, "window_end": end, **fields},
            )
        )


# --- Return Helper --------------------------------------------------------------------------
def returnhelper_intent(
    *,
    actor: User,
    locked: Sequence[ReturnInventory],
    shipment: dict[str, str],
    countries: Sequence[str] | None,
    service_types: Sequence[str] | None,
    note: str,
    intent_key: str,
    channel: str,
    **fields: Any,
) -> Intent:
    """`locked`: the items, locked by the caller, in pk order."""
    ids = returnhelper_ids(inv.external_id for inv in locked)
    payload = {"inventory_ids": ids, "shipment": shipment, "description": "", "remarks": note[:500]}
    return Intent(
        actor=actor,
        account=locked[0].account,
        kind=ResendKind.RETURNHELPER,
        intent_key=intent_key,
        channel=channel,
        selection={"inventory_ids": ids, "shipment": shipment},
        same_as=returnhelper_same_as(ids),
        targets=[
            ResendTarget(inventory=inv, order_id=inv.order_id, external_ref=inv.external_id)
            for inv in locked
        ],
        calls=[PlannedCall(Op.RETURNHELPER_CREATE_RESEND, ",".join(map(str, ids))[:64], payload)],
        check=lambda: returnhelper_check(locked, shipment, countries, service_types),
        fields={"note": note, "destination": shipment, **fields},
    )


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
    ticket: str = "",
) -> Submitted:
    if found := already_submitted(intent_key):
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
        return create_request(
            returnhelper_intent(
                actor=actor,
                locked=locked,
                shipment=shipment,
                countries=countries,
                service_types=service_types,
                note=note,
                intent_key=intent_key,
                channel=channel,
                ticket=ticket,
            )
        )
