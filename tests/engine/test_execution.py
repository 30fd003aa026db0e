"""The engine against the sandbox over real HTTP: one effect per intent, whatever goes wrong."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from resends.accounts import default_account
from resends.engine.execution import process_call
from resends.models import CallAttempt, ProviderCall, ResendRequest
from resends.models.audit import CallState, RequestState
from resends.rules import RuleViolation
from resends.services.cancel import cancel_returnhelper_resend
from resends.services.submit import (
    submit_chargebee_resend,
    submit_junction_window,
    submit_returnhelper_resend,
)

from .helpers import clear_faults, faults, ledger, mirror_chargebee_order, mirror_inventories, reset

pytestmark = pytest.mark.django_db


def run(call: ProviderCall) -> ProviderCall:
    process_call(call.pk, worker="test-worker", task_id="task-1")
    call.refresh_from_db()
    return call


def partial(order, agent, key="intent-1", reason="Damaged"):  # type: ignore[no-untyped-def]
    line = order.line_items.first()
    return submit_chargebee_resend(
        actor=agent,
        order=order,
        lines=[(line, 1)],
        reason=reason,
        note="box crushed",
        intent_key=key,
    )


def test_a_partial_chargebee_resend_is_applied_once_and_recorded(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox)
    before = order.resend_count
    submitted = partial(order, agent)
    call = run(submitted.request.calls.get())

    assert call.state == CallState.SUCCEEDED and call.provider_reference
    entries = ledger(sandbox, "chargebee")
    assert len(entries) == 1 and entries[0]["idempotency_key"] == str(call.idempotency_key)
    attempt = call.attempt_rows.get()
    assert (
        attempt.response_status == 200 and attempt.finished_at and attempt.duration_ms is not None
    )
    assert attempt.request_redacted["url"].endswith(f"/orders/{order.external_id}/resend")
    assert "test_sandbox_key" not in str(attempt.request_redacted)
    order.refresh_from_db()
    assert order.resend_count == before + 1 and order.resent_status == "partially_resent"
    submitted.request.refresh_from_db()
    assert submitted.request.state == RequestState.SUCCEEDED and submitted.request.finished_at


def test_the_same_intent_twice_makes_one_resend(sandbox, agent: User, second_manager: User) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox)
    first = partial(order, agent, key="tab-1")
    again = partial(order, agent, key="tab-1")  # double click: same form token
    # The same lines from another person, who picked another reason: still the same resend.
    other_agent = partial(order, second_manager, key="tab-2", reason="Wrong Item")
    assert first.created and not again.created and not other_agent.created
    assert again.request == first.request == other_agent.request
    for call in ProviderCall.objects.all():
        run(call)
    assert len(ledger(sandbox, "chargebee")) == 1


def test_the_cap_counts_resends_in_flight(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox, resends=4)
    partial(order, agent, key="fifth")  # queued, not yet sent
    last = order.line_items.last()
    assert last is not None
    lines = [(last, 1)]
    with pytest.raises(RuleViolation, match="5 of the 5 resends"):
        submit_chargebee_resend(
            actor=agent, order=order, lines=lines, reason="Damaged", intent_key="sixth"
        )
    assert ResendRequest.objects.count() == 1


def test_a_5xx_on_the_resend_is_reconciled_with_the_same_key_not_retried_blind(
    sandbox, agent: User
) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox)
    call = partial(order, agent).request.calls.get()
    faults(sandbox, provider="chargebee", error_rate=1.0, error_status=503)
    call = run(call)
    assert call.state == CallState.UNKNOWN and call.next_attempt_at
    assert call.error_class == "unknown" and "nothing was applied" not in call.failure_reason
    clear_faults(sandbox)
    ProviderCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    call = run(call)
    assert call.state == CallState.SUCCEEDED and call.attempts == 2
    assert list(call.attempt_rows.values_list("outcome", flat=True)) == [
        "unknown",
        "reconciled_applied",
    ]
    assert len(ledger(sandbox, "chargebee")) == 1


def test_429s_until_the_limit_fail_saying_nothing_was_applied(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox)
    call = partial(order, agent).request.calls.get()
    faults(sandbox, provider="chargebee", rate_limit_burst=100, retry_after=0)
    for _ in range(8):
        ProviderCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
        call = run(call)
    assert call.state == CallState.FAILED and call.attempts == 8
    assert call.failure_reason.startswith(
        "Gave up after 8 attempts; the provider took none of them, so nothing was applied."
    )
    assert ledger(sandbox, "chargebee") == []


def test_a_429_honours_retry_after(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox)
    call = partial(order, agent).request.calls.get()
    faults(sandbox, provider="chargebee", rate_limit_burst=1, retry_after=30)
    started = timezone.now()
    call = run(call)
    assert call.state == CallState.PENDING
    assert call.next_attempt_at and call.next_attempt_at >= started + timedelta(seconds=29)


@pytest.mark.parametrize("fault", [{"drop_after_apply": 1}, {"hang_seconds": 3}])
def test_chargebee_effect_applied_reply_lost_ends_with_one_effect(
    sandbox, agent: User, settings, fault
) -> None:  # type: ignore[no-untyped-def]
    settings.PROVIDER_HTTP_READ_TIMEOUT = 1.0
    order = mirror_chargebee_order(sandbox)
    call = partial(order, agent).request.calls.get()
    faults(sandbox, provider="chargebee", **fault)
    call = run(call)
    assert call.state == CallState.UNKNOWN and call.error_class == "unknown"
    clear_faults(sandbox)
    ProviderCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    call = run(call)
    assert call.state == CallState.SUCCEEDED, call.failure_reason
    assert len(ledger(sandbox, "chargebee")) == 1
    outcomes = list(call.attempt_rows.values_list("outcome", flat=True))
    assert outcomes[0] == "unknown" and outcomes[-1].startswith("reconciled_applied")


def rh_shipment() -> dict[str, str]:
    return {
        "shipmentServiceType": "usps",
        "shipmentCountryCode": "usa",
        "shipmentName": "Ada Lovelace",
        "shipmentStreet1": "1 Main St",
        "shipmentCity": "Newark",
        "shipmentState": "NJ",
        "shipmentPostalCode": "07102",
        "shipmentPhone": "+1 555 0100",
    }


def rh_submit(agent: User, inventories, key: str = "rh-1"):  # type: ignore[no-untyped-def]
    return submit_returnhelper_resend(
        actor=agent,
        inventories=inventories,
        shipment=rh_shipment(),
        countries=["usa", "can"],
        service_types=["usps"],
        intent_key=key,
    )


def test_return_helper_reply_lost_ends_with_one_shipment(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    inventories = mirror_inventories(sandbox, 2)
    call = rh_submit(agent, inventories).request.calls.get()
    faults(sandbox, provider="returnhelper", drop_after_apply=1)
    call = run(call)
    assert call.state == CallState.UNKNOWN
    clear_faults(sandbox)
    ProviderCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    call = run(call)
    assert call.state == CallState.SUCCEEDED and call.provider_reference
    assert len(ledger(sandbox, "returnhelper")) == 1
    assert {
        inv.handling_code
        for inv in type(inventories[0]).objects.filter(pk__in=[i.pk for i in inventories])
    } == {"rsd"}


def test_a_provider_refusal_fails_with_its_message(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    reset(sandbox, group_max=1)  # the provider's limit is lower than ours
    call = rh_submit(agent, mirror_inventories(sandbox, 2)).request.calls.get()
    call = run(call)
    assert call.state == CallState.FAILED and call.error_class == "permanent"
    assert call.failure_reason
    assert ledger(sandbox, "returnhelper") == []
    assert ResendRequest.objects.get().state == RequestState.FAILED


def test_a_worker_that_died_mid_call_is_reconciled_not_resent(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    inventories = mirror_inventories(sandbox, 1)
    call = rh_submit(agent, inventories).request.calls.get()
    call = run(call)  # applied once
    # Simulate a second delivery whose worker died after sending: in flight, lease expired,
    # an attempt (counted by its claim) with no finish.
    long_ago = timezone.now() - timedelta(minutes=10)
    ProviderCall.objects.filter(pk=call.pk).update(
        state=CallState.IN_FLIGHT, locked_at=long_ago, finished_at=None, attempts=2
    )
    CallAttempt.objects.create(call=call, number=2, outcome="started")
    call = run(call)
    assert call.state == CallState.SUCCEEDED
    assert len(ledger(sandbox, "returnhelper")) == 1


def test_a_long_junction_window_is_split_into_60_day_requests(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    end = datetime.now(UTC)
    submitted = submit_junction_window(
        actor=agent,
        account=default_account("junction"),
        start=end - timedelta(days=130),
        end=end,
        intent_key="w",
    )
    calls = list(submitted.request.calls.order_by("id"))
    assert len(calls) == 3
    for call in calls:
        assert run(call).state == CallState.SUCCEEDED
    assert len(ledger(sandbox, "junction")) == 3
    submitted.request.refresh_from_db()
    assert submitted.request.state == RequestState.SUCCEEDED


def test_a_planted_secret_never_reaches_the_audit_or_logs(
    sandbox, agent: User, settings, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    order = mirror_chargebee_order(sandbox)
    faults(sandbox, provider="chargebee", error_rate=1.0, error_status=503)
    call = run(partial(order, agent).request.calls.get())
    secret = settings.CHARGEBEE["api_key"]
    recorded = str(list(CallAttempt.objects.values())) + str(list(ProviderCall.objects.values()))
    assert secret not in recorded and secret not in caplog.text
    assert call.attempt_rows.get().request_redacted["headers"]


def test_the_rules_are_checked_again_just_before_sending(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox)
    call = partial(order, agent).request.calls.get()
    type(order).objects.filter(pk=order.pk).update(resend_count=5)  # a sync found dashboard resends
    inventories = mirror_inventories(sandbox, 2)
    rh_call = rh_submit(agent, inventories).request.calls.get()
    type(inventories[0]).objects.filter(pk=inventories[1].pk).update(pending_vas=True)

    call, rh_call = run(call), run(rh_call)

    assert call.state == CallState.FAILED and "5 of the 5 resends" in call.failure_reason
    assert rh_call.state == CallState.FAILED and "value-added service" in rh_call.failure_reason
    assert not CallAttempt.objects.exists()
    assert ledger(sandbox, "chargebee") == [] and ledger(sandbox, "returnhelper") == []


def test_a_pending_return_helper_resend_can_be_cancelled_once(
    sandbox, agent: User, manager: User
) -> None:  # type: ignore[no-untyped-def]
    reset(sandbox, rh_auto_progress=False)  # the warehouse has not started on it
    inventories = mirror_inventories(sandbox, 2)
    submitted = rh_submit(agent, inventories)
    run(submitted.request.calls.get())

    cancel = cancel_returnhelper_resend(actor=manager, request=submitted.request)
    assert (
        cancel_returnhelper_resend(actor=manager, request=submitted.request) == cancel
    )  # double click
    cancel = run(cancel)

    assert cancel.state == CallState.SUCCEEDED and cancel.requested_by == manager
    assert [e["operation"] for e in ledger(sandbox, "returnhelper")] == [
        "createResend",
        "cancelResend",
    ]
    submitted.request.refresh_from_db()
    assert submitted.request.state == RequestState.CANCELLED
    assert {
        i.handling_code
        for i in type(inventories[0]).objects.filter(pk__in=[i.pk for i in inventories])
    } == {"ohd"}


def test_a_resend_the_warehouse_started_cannot_be_cancelled(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    submitted = rh_submit(agent, mirror_inventories(sandbox, 1))
    call = run(submitted.request.calls.get())
    ProviderCall.objects.filter(pk=call.pk).update(
        provider_status="inProgress"
    )  # as a webhook reports
    with pytest.raises(RuleViolation, match="only while it is pending"):
        cancel_returnhelper_resend(actor=agent, request=submitted.request)
    assert [e["operation"] for e in ledger(sandbox, "returnhelper")] == ["createResend"]


def test_the_audit_records_who_chargebee_was_told_asked_and_the_switches(  # type: ignore[no-untyped-def]
    sandbox, agent: User
) -> None:
    order = mirror_chargebee_order(sandbox)
    line = order.line_items.first()
    assert line is not None
    submitted = submit_chargebee_resend(
        actor=agent,
        order=order,
        lines=[(line, 1)],
        intent_key="quiet-1",
        customer_email=False,
        webhooks=False,
    )
    call = run(submitted.request.calls.get())

    assert call.state == CallState.SUCCEEDED
    headers = {k.lower(): v for k, v in call.attempt_rows.get().request_redacted["headers"].items()}
    assert headers["chargebee-request-origin-user"] == agent.email
    assert headers["chargebee-event-email"] == headers["chargebee-event-webhook"] == "all-disabled"
    assert headers["authorization"] == "***"
    [entry] = ledger(sandbox, "chargebee")
    assert entry["details"]["origin_user"] == agent.email
    assert (entry["details"]["customer_email"], entry["details"]["webhooks"]) == (False, False)
