""" "N of 5 resends used" counts each Chargebee resend once, whichever of our success and
Chargebee's webhook lands first, and never fewer than have left (the sandbox over real HTTP, its
webhooks to the live server)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from resends import rules
from resends.models import Order, ProviderCall, ResendRequest, WebhookEvent
from resends.models.audit import CallState
from resends.rules import RuleViolation
from resends.selectors.order_facts import chargebee_cap
from resends.services.submit import submit_chargebee_resend
from tests.sandbox.helpers import wait_until
from tests.test_webhooks import send_signed

from .helpers import clear_faults, faults, ledger, mirror_chargebee_order
from .test_execution import partial, run


def test_chargebees_webhook_landing_before_our_success_does_not_count_the_resend_twice(
    app_webhooks: Any, agent: User
) -> None:
    order = mirror_chargebee_order(app_webhooks)
    call = partial(order, agent).request.calls.get()
    faults(app_webhooks, provider="chargebee", drop_after_apply=1)  # applied, the answer lost
    call = run(call)
    assert call.state == CallState.UNKNOWN
    # Meanwhile Chargebee tells us about the resend: the original now lists it.
    wait_until(lambda: WebhookEvent.objects.filter(event_type="order_updated").exists(), 15)
    order.refresh_from_db()
    assert order.resend_count == 1
    clear_faults(app_webhooks)
    ProviderCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())

    call = run(call)  # reconciled: the same key again, Chargebee replays its answer

    assert call.state == CallState.SUCCEEDED and call.provider_reference
    assert len(ledger(app_webhooks, "chargebee")) == 1
    order.refresh_from_db()
    assert order.resend_count == 1
    cap = chargebee_cap(order)
    assert (cap.used, cap.in_flight, cap.left) == (1, 0, 4)  # the order page: 1 of 5


def test_a_late_copy_that_does_not_list_our_resend_yet_still_counts_it(
    app_webhooks: Any, agent: User
) -> None:
    """Four resends at Chargebee, our fifth succeeds, then a copy of the order stamped later but
    made before our resend arrives (listing four): the count stays five and a sixth never
    leaves, not from the form, not from a bulk job."""
    order = mirror_chargebee_order(app_webhooks, resends=4)
    four_listed = dict(order.raw)
    call = run(partial(order, agent).request.calls.get())
    assert call.state == CallState.SUCCEEDED
    late = {**four_listed, "updated_at": int(time.time()) + 60}
    event = {"id": "ev_late", "event_type": "order_updated", "content": {"order": late}}

    sent = send_signed(app_webhooks, "chargebee", json.dumps(event))

    assert json.loads(sent["response_body"])["outcome"] == "mirror updated"
    order.refresh_from_db()
    assert len(order.raw["resent_orders"]) == 4 and order.resend_count == 5
    last = order.line_items.last()
    assert last is not None
    with pytest.raises(RuleViolation, match="5 of the 5 resends"):
        submit_chargebee_resend(
            actor=agent, order=order, lines=[(last, 1)], reason="Damaged", intent_key="sixth"
        )
    assert ResendRequest.objects.count() == 1
    capped = dict(rules.chargebee_bulk_skip_filters())[rules.SKIP_CAP_USED]
    assert Order.objects.filter(capped, pk=order.pk).exists()  # a bulk preview skips it
