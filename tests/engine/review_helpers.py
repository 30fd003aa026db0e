"""Bring calls into needs review the honest way: through the engine, against the sandbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests
from django.contrib.auth.models import User
from django.utils import timezone

from resends.engine import policy
from resends.engine.execution import process_call
from resends.models import CallAttempt, ProviderCall
from resends.models.audit import CallState
from resends.services.submit import submit_chargebee_resend, submit_returnhelper_resend

from .helpers import clear_faults, configure, faults, ledger, mirror_chargebee_order
from .helpers import mirror_inventories as mirror_items


def run(call: ProviderCall) -> ProviderCall:
    ProviderCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    process_call(call.pk, worker="test-worker", task_id="task-review")
    call.refresh_from_db()
    return call


def chargebee_call_in_review(sandbox: Any, agent: User) -> tuple[ProviderCall, str, str]:
    """Our resend's reply was lost, and by the time it was reconciled (past Chargebee's
    idempotency window) someone had made the same resend by hand: two lookalikes, Chargebee's
    answer cannot tell which is ours. Returns the call, our resend's order id and the other."""
    order = mirror_chargebee_order(sandbox)
    line = order.line_items.first()
    assert line is not None
    call = submit_chargebee_resend(
        actor=agent, order=order, lines=[(line, 1)], reason="Damaged", intent_key="review-cb"
    ).request.calls.get()
    faults(sandbox, provider="chargebee", drop_after_apply=1)
    call = run(call)
    assert call.state == CallState.UNKNOWN
    clear_faults(sandbox)
    by_hand = requests.post(
        f"{sandbox.chargebee_url}/api/v2/orders/{order.external_id}/resend",
        data={
            "resend_reason": "Damaged",
            "order_line_items[id][0]": line.external_id,
            "order_line_items[fulfillment_quantity][0]": "1",
        },
        auth=("test_sandbox_key", ""),
        timeout=10,
    )
    by_hand.raise_for_status()
    CallAttempt.objects.filter(call=call).update(started_at=timezone.now() - timedelta(minutes=40))
    configure(sandbox, idempotency_window_seconds=0)
    call = run(call)
    assert call.state == CallState.NEEDS_REVIEW, call.failure_reason
    ours = next(
        e for e in ledger(sandbox, "chargebee") if e["idempotency_key"] == str(call.idempotency_key)
    )
    return call, ours["result"]["order_id"], by_hand.json()["order"]["id"]


def rh_shipment() -> dict[str, str]:
    return {
        "shipmentServiceType": "usps",
        "shipmentCountryCode": "usa",
        "shipmentName": "Ada Lovelace",
        "shipmentStreet1": "1 Main St",
        "shipmentCity": "Newark",
        "shipmentState": "NJ",
        "shipmentPostalCode": "07102",
    }


def returnhelper_call_in_review(sandbox: Any, agent: User, key: str = "review-rh") -> ProviderCall:
    """Return Helper answered 503 to our create (nothing applied) and then stayed unreachable
    past the engine's patience: the call waits for a manager."""
    inventories = mirror_items(sandbox, 1)
    call = submit_returnhelper_resend(
        actor=agent,
        inventories=inventories,
        shipment=rh_shipment(),
        countries=["usa"],
        service_types=["usps"],
        intent_key=key,
    ).request.calls.get()
    faults(sandbox, provider="returnhelper", error_rate=1.0, error_status=503)
    call = run(call)
    assert call.state == CallState.UNKNOWN
    CallAttempt.objects.filter(call=call).update(
        started_at=timezone.now() - policy.RECONCILE_PATIENCE - timedelta(minutes=5)
    )
    for _ in range(policy.RECONCILE_MIN_TRIES):
        call = run(call)
    clear_faults(sandbox)
    assert call.state == CallState.NEEDS_REVIEW, call.failure_reason
    assert ledger(sandbox, "returnhelper") == []
    return call
