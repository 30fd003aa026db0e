"""Reconciling an unknown outcome against the sandbox over real HTTP: a provider that cannot be
asked is asked again later; only an answer that cannot tell, or a provider unreachable past the
policy's patience, leaves a call for a manager."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.utils import timezone

from resends.accounts import default_account
from resends.engine import policy
from resends.models import CallAttempt, ProviderCall
from resends.models.audit import CallState
from resends.presentation import call_summary
from resends.services.submit import submit_junction_orders

from .helpers import (
    clear_faults,
    configure,
    faults,
    ledger,
    mirror_chargebee_order,
    mirror_inventories,
)
from .test_execution import partial, rh_submit, run

pytestmark = pytest.mark.django_db


def due_now(call: ProviderCall) -> None:
    ProviderCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())


def junction_submit(sandbox: Any, agent: User) -> ProviderCall:
    answer = requests.get(
        f"{sandbox.junction_url}/v3/orders",
        params={"size": 2},
        headers={"x-vital-api-key": "sk_us_sandbox_key"},
        timeout=10,
    )
    order_ids = [order["id"] for order in answer.json()["orders"]]
    submitted = submit_junction_orders(
        actor=agent,
        account=default_account("junction"),
        order_ids=order_ids,
        intent_key="junction-1",
    )
    return submitted.request.calls.get()


def submit_for(provider: str, sandbox: Any, agent: User) -> ProviderCall:
    if provider == "chargebee":
        return partial(mirror_chargebee_order(sandbox), agent).request.calls.get()
    if provider == "returnhelper":
        return rh_submit(agent, mirror_inventories(sandbox, 1)).request.calls.get()
    return junction_submit(sandbox, agent)


@pytest.mark.parametrize("provider", ["chargebee", "returnhelper", "junction"])
def test_a_503_while_reconciling_then_an_answer_settles_without_review(
    sandbox, agent: User, provider: str
) -> None:  # type: ignore[no-untyped-def]
    call = submit_for(provider, sandbox, agent)
    faults(sandbox, provider=provider, drop_after_apply=1)
    call = run(call)
    assert call.state == CallState.UNKNOWN
    assert len(ledger(sandbox, provider)) == 1

    faults(sandbox, provider=provider, error_rate=1.0, error_status=503)
    due_now(call)
    call = run(call)
    assert call.state == CallState.UNKNOWN, call.failure_reason  # asked again later, no review
    assert call.next_attempt_at is not None
    assert call.failure_reason.startswith("Could not ask ")
    failed = call.attempt_rows.order_by("number").last()
    assert failed is not None and failed.outcome == "reconcile_failed"
    assert failed.response_status == 503

    clear_faults(sandbox)
    due_now(call)
    call = run(call)
    assert call.state == CallState.SUCCEEDED, call.failure_reason
    if provider == "junction":
        # Junction cannot tell whether the first replay happened: sent again, as a repeat.
        assert call.repeats == 1 and len(ledger(sandbox, provider)) == 2
        repeat = call.attempt_rows.order_by("number").last()
        assert repeat is not None and repeat.request_redacted["purpose"] == "repeat"
        assert "A repeat" in repeat.error_message
        assert "It was sent 2 times" in call_summary(call)  # what the agent reads
    else:
        assert call.repeats == 0 and len(ledger(sandbox, provider)) == 1
        assert call.provider_reference


def test_a_429_while_reconciling_waits_for_retry_after(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    call = submit_for("returnhelper", sandbox, agent)
    faults(sandbox, provider="returnhelper", drop_after_apply=1)
    call = run(call)
    faults(sandbox, provider="returnhelper", rate_limit_burst=1, retry_after=40)
    due_now(call)
    started = timezone.now()
    call = run(call)
    assert call.state == CallState.UNKNOWN
    assert call.next_attempt_at and call.next_attempt_at >= started + timedelta(seconds=39)
    due_now(call)
    assert run(call).state == CallState.SUCCEEDED
    assert len(ledger(sandbox, "returnhelper")) == 1


def test_a_dropped_reply_to_the_same_key_repeat_is_asked_again(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    call = submit_for("chargebee", sandbox, agent)
    faults(sandbox, provider="chargebee", drop_after_apply=2)  # the send and the first reconcile
    call = run(call)
    due_now(call)
    call = run(call)
    assert call.state == CallState.UNKNOWN
    due_now(call)
    call = run(call)
    assert call.state == CallState.SUCCEEDED
    assert len(ledger(sandbox, "chargebee")) == 1


def test_an_unreachable_provider_goes_to_review_only_after_the_patience_and_tries(
    sandbox, agent: User
) -> None:  # type: ignore[no-untyped-def]
    call = submit_for("returnhelper", sandbox, agent)
    faults(sandbox, provider="returnhelper", drop_after_apply=1)
    call = run(call)
    faults(sandbox, provider="returnhelper", error_rate=1.0, error_status=503)
    for _ in range(policy.RECONCILE_MIN_TRIES - 1):
        due_now(call)
        call = run(call)
    # Enough tries, but not long enough: the provider may just be having a bad hour.
    assert call.state == CallState.UNKNOWN
    first = call.attempt_rows.order_by("number").first()
    assert first is not None
    CallAttempt.objects.filter(pk=first.pk).update(
        started_at=timezone.now() - policy.RECONCILE_PATIENCE - timedelta(minutes=1)
    )
    due_now(call)
    call = run(call)
    assert call.state == CallState.NEEDS_REVIEW and call.review_since
    assert f"asked {policy.RECONCILE_MIN_TRIES} times over 6.0 hours" in call.failure_reason
    assert "503" in call.failure_reason
    call.request.refresh_from_db()
    assert call.request.state == "needs_review"


def test_a_chargebee_502_after_the_effect_outside_the_window_is_read_not_sent_again(
    sandbox, agent: User
) -> None:  # type: ignore[no-untyped-def]
    call = submit_for("chargebee", sandbox, agent)
    faults(sandbox, provider="chargebee", error_after_apply=1, error_status=502, error_plain=True)
    call = run(call)
    assert call.state == CallState.UNKNOWN and call.error_class == "unknown"
    assert "502" in call.failure_reason and "nothing was applied" not in call.failure_reason
    [effect] = ledger(sandbox, "chargebee")
    # The next attempt comes after Chargebee's 30-minute idempotency window (a paused bulk job,
    # a long backoff): the key no longer protects a repeat, on either side.
    CallAttempt.objects.filter(call=call).update(started_at=timezone.now() - timedelta(minutes=40))
    configure(sandbox, idempotency_window_seconds=0)
    requests.delete(f"{sandbox.url}/_sandbox/requests", timeout=10).raise_for_status()
    due_now(call)
    call = run(call)

    assert call.state == CallState.SUCCEEDED, call.failure_reason
    assert call.provider_reference == effect["result"]["order_id"]
    assert len(ledger(sandbox, "chargebee")) == 1
    logged = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()["requests"]
    assert {entry["method"] for entry in logged} == {"GET"}  # read, never resent
    reconciled = call.attempt_rows.order_by("number").last()
    assert reconciled is not None and reconciled.outcome == "reconciled_applied"
    assert "past the idempotency window" in reconciled.error_message


def test_a_chargebee_5xx_before_the_effect_outside_the_window_is_sent_once(
    sandbox, agent: User
) -> None:  # type: ignore[no-untyped-def]
    call = submit_for("chargebee", sandbox, agent)
    faults(sandbox, provider="chargebee", error_rate=1.0, error_status=504, error_count=1)
    call = run(call)
    assert call.state == CallState.UNKNOWN and ledger(sandbox, "chargebee") == []
    CallAttempt.objects.filter(call=call).update(started_at=timezone.now() - timedelta(minutes=40))
    configure(sandbox, idempotency_window_seconds=0)
    due_now(call)
    call = run(call)
    assert call.state == CallState.SUCCEEDED
    assert list(call.attempt_rows.values_list("outcome", flat=True)) == [
        "unknown",
        "reconciled_absent",
        "succeeded",
    ]
    assert len(ledger(sandbox, "chargebee")) == 1


def test_a_junction_replay_superseded_by_a_newer_event_is_not_repeated(
    sandbox, agent: User
) -> None:  # type: ignore[no-untyped-def]
    call = submit_for("junction", sandbox, agent)
    faults(sandbox, provider="junction", drop_after_apply=1)
    call = run(call)
    assert call.state == CallState.UNKNOWN
    CallAttempt.objects.filter(call=call).update(started_at=timezone.now() - timedelta(minutes=30))
    for order_id in call.payload["order_ids"]:  # Junction moved each order on since then
        requests.post(
            f"{sandbox.url}/_sandbox/emit",
            json={"provider": "junction", "order_id": order_id, "status": "lost"},
            timeout=10,
        ).raise_for_status()
    due_now(call)
    call = run(call)
    assert call.state == CallState.SUCCEEDED and call.provider_status == "superseded"
    assert "no replay was needed" in call_summary(call)
    assert call.repeats == 0 and len(ledger(sandbox, "junction")) == 1


def test_a_junction_repeat_refused_until_the_limit_needs_review_not_failure(
    sandbox, agent: User
) -> None:  # type: ignore[no-untyped-def]
    """The first replay may have landed; failing the call would tell the agent it did not."""
    call = submit_for("junction", sandbox, agent)
    faults(sandbox, provider="junction", drop_after_apply=1)
    call = run(call)
    faults(sandbox, provider="junction", rate_limit_burst=100, retry_after=0, methods=["POST"])
    for _ in range(policy.MAX_ATTEMPTS):
        due_now(call)
        call = run(call)
    assert call.state == CallState.NEEDS_REVIEW, call.failure_reason
    assert call.failure_reason.startswith(
        "The provider could not tell whether an earlier attempt was applied, and the 8 repeats"
    )
    assert call.repeats == 1 and len(ledger(sandbox, "junction")) == 1
    outcomes = list(call.attempt_rows.values_list("outcome", flat=True))
    assert outcomes.count("transient") == policy.MAX_ATTEMPTS  # reads and unknowns not counted
