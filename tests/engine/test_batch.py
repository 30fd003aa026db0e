"""Sending calls in batches (resends/engine/batch.py), over real HTTP against the sandbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from resends.accounts import default_account
from resends.engine.batch import process_batch
from resends.models import BulkJob, BulkKind, BulkState, Order, ProviderCall, ResendRequest
from resends.models.audit import CallState, Channel, RequestState
from resends.providers.chargebee.mirror import order_record_from_json
from resends.services.mirrors import upsert_order
from resends.services.requests import create_requests
from resends.services.submit import chargebee_intent

from .helpers import chargebee_orders, faults, ledger

pytestmark = pytest.mark.django_db


def resendable(sandbox: Any, count: int) -> list[Order]:
    """`count` mirrored Chargebee orders a full resend may go to (no resend yet, shippable)."""
    account = default_account("chargebee")
    picked = [
        raw
        for raw in chargebee_orders(sandbox)
        if not raw.get("resent_orders")
        and not raw.get("is_resent")
        and raw["status"] in ("shipped", "delivered")
    ][:count]
    assert len(picked) == count
    return [upsert_order(account, order_record_from_json(raw))[0] for raw in picked]


def bulk_calls(orders: list[Order], actor: User, job: BulkJob | None = None) -> list[int]:
    intents = [
        chargebee_intent(
            actor=actor,
            order=order,
            lines=None,
            reason="Damaged",
            note="",
            shipping_date=None,
            intent_key=f"batch-test:{order.external_id}",
            channel=Channel.BULK,
            bulk_job=job,
        )
        for order in orders
    ]
    outcomes = create_requests(intents)
    return [call.pk for o in outcomes for call in o.request.calls.all()]  # type: ignore[union-attr]


def test_a_batch_is_sent_once_each_and_recorded_in_a_few_queries(sandbox, manager: User) -> None:  # type: ignore[no-untyped-def]
    orders = resendable(sandbox, 8)
    ids = bulk_calls(orders, manager)
    with CaptureQueriesContext(connection) as captured:
        left = process_batch(ids, worker="batch-test")
    assert left == []
    calls = list(ProviderCall.objects.filter(pk__in=ids))
    assert all(c.state == CallState.SUCCEEDED and c.provider_reference for c in calls)
    entries = ledger(sandbox, "chargebee")
    assert sorted(e["idempotency_key"] for e in entries) == sorted(
        str(c.idempotency_key) for c in calls
    )
    assert all(c.attempt_rows.get().finished_at for c in calls)
    assert all(r.state == RequestState.SUCCEEDED for r in ResendRequest.objects.all())
    for order in Order.objects.filter(pk__in=[o.pk for o in orders]):
        assert (order.resend_count, order.resent_status) == (1, "fully_resent")
    # The claim, the call rows, the rules, the attempts and the successes, for all eight at
    # once: at most two queries a call (14 on PostgreSQL when this was written).
    assert len(captured) <= 2 * len(ids), [q["sql"][:80] for q in captured]


def test_a_batch_leaves_what_is_not_plainly_due_to_the_single_path(sandbox, manager: User) -> None:  # type: ignore[no-untyped-def]
    first, second, third = bulk_calls(resendable(sandbox, 3), manager)
    ProviderCall.objects.filter(pk=second).update(state=CallState.UNKNOWN, error_class="unknown")
    later = timezone.now() + timedelta(minutes=5)
    ProviderCall.objects.filter(pk=third).update(next_attempt_at=later)
    assert process_batch([first, second, third], worker="batch-test") == [second, third]
    assert ProviderCall.objects.get(pk=first).state == CallState.SUCCEEDED
    assert ProviderCall.objects.get(pk=second).state == CallState.UNKNOWN  # reconciled singly
    assert len(ledger(sandbox, "chargebee")) == 1


def test_in_a_batch_each_answer_is_recorded_for_its_own_call(sandbox, manager: User) -> None:  # type: ignore[no-untyped-def]
    ids = bulk_calls(resendable(sandbox, 4), manager)
    # One request is applied and its reply dropped; the others' answers come back.
    faults(sandbox, provider="chargebee", drop_after_apply=1)
    process_batch(ids, worker="batch-test")
    states = sorted(ProviderCall.objects.filter(pk__in=ids).values_list("state", flat=True))
    assert states == sorted([CallState.UNKNOWN] + [CallState.SUCCEEDED] * 3)
    unknown = ProviderCall.objects.get(pk__in=ids, state=CallState.UNKNOWN)
    assert unknown.attempt_rows.get().finished_at is not None  # the dropped reply, recorded
    assert len(ledger(sandbox, "chargebee")) == 4  # applied, its answer lost: reconciled later


def test_a_batch_of_a_paused_job_is_held_and_a_capped_order_is_not_sent(
    sandbox, manager: User
) -> None:  # type: ignore[no-untyped-def]
    paused = BulkJob.objects.create(
        created_by=manager, account=default_account("chargebee"), kind=BulkKind.CHARGEBEE_FULL,
        criteria={}, state=BulkState.PAUSED,
    )  # fmt: skip
    orders = resendable(sandbox, 2)
    held = bulk_calls(orders[:1], manager, job=paused)
    capped = bulk_calls(orders[1:], manager)
    Order.objects.filter(pk=orders[1].pk).update(resend_count=5)  # a sync found 5 meanwhile
    process_batch(held + capped, worker="batch-test")
    held_call = ProviderCall.objects.get(pk=held[0])
    assert held_call.state == CallState.PENDING and held_call.next_attempt_at
    capped_call = ProviderCall.objects.get(pk=capped[0])
    assert capped_call.state == CallState.FAILED and "Not sent" in capped_call.failure_reason
    assert not held_call.attempt_rows.exists() and not capped_call.attempt_rows.exists()
    assert held_call.attempts == capped_call.attempts == 0  # the claim's count given back
    assert ledger(sandbox, "chargebee") == []
