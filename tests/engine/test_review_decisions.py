"""A manager settles a call in needs review: each of the three decisions ends the request in the
right state with a new audit record; the provider's side (the sandbox's ledger) agrees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from resends.models import Order, ProviderCall, ReturnInventory, ReviewDecision
from resends.models.audit import CallState, Channel, RequestState
from resends.models.review import Decision
from resends.rules import RuleViolation
from resends.selectors.review import provider_state
from resends.services.review import decide, send_review_notice

from ..factories import ProviderCallFactory
from .helpers import ledger
from .review_helpers import chargebee_call_in_review, returnhelper_call_in_review, run

pytestmark = pytest.mark.django_db


def settle(manager: User, call: ProviderCall, decision: str, **more: str) -> ProviderCall:
    evidence = provider_state(call)
    settled = decide(
        actor=manager,
        call_id=call.pk,
        decision=decision,
        why=more.pop("why", "Checked in the provider's dashboard."),
        evidence=evidence.as_json(),
        evidence_fetched_at=evidence.fetched_at,
        **more,
    )
    assert settled.call.pk == call.pk
    call.refresh_from_db()
    return call


def request_state(call: ProviderCall) -> str:
    call.request.refresh_from_db()
    return call.request.state


def test_it_was_applied_with_the_reference_the_manager_found(
    sandbox, agent: User, manager: User
) -> None:  # type: ignore[no-untyped-def]
    call, ours, other = chargebee_call_in_review(sandbox, agent)
    assert "cannot tell" in call.failure_reason and ours in call.failure_reason
    assert request_state(call) == RequestState.NEEDS_REVIEW
    order = Order.objects.get(external_id=call.subject)
    shown = provider_state(call)
    assert shown.state is not None
    assert sorted(r.reference for r in shown.state.records if r.matches) == sorted([ours, other])

    call = settle(manager, call, Decision.APPLIED, reference=ours, why="Ours has our key's time.")

    assert call.state == CallState.SUCCEEDED and call.provider_reference == ours
    assert request_state(call) == RequestState.SUCCEEDED
    record = ReviewDecision.objects.get(call=call)
    assert (record.decided_by, record.decision, record.provider_reference) == (
        manager,
        Decision.APPLIED,
        ours,
    )
    assert "cannot tell" in record.review_reason
    assert {r["reference"] for r in record.evidence["records"] if r["matches"]} == {ours, other}
    assert record.call_state_after == CallState.SUCCEEDED and record.channel == Channel.WEB
    order.refresh_from_db()
    assert order.resend_count == 1  # our mirror counts the resend, as an engine success would
    assert len(ledger(sandbox, "chargebee")) == 2  # nothing was sent for the decision


def test_it_was_not_applied_send_it_again_uses_the_same_call_and_the_normal_engine(
    sandbox, agent: User, manager: User
) -> None:  # type: ignore[no-untyped-def]
    call = returnhelper_call_in_review(sandbox, agent)
    key, attempts = call.idempotency_key, call.attempts
    shown = provider_state(call)
    assert shown.state is not None and shown.state.records == ()  # nothing at Return Helper

    call = settle(manager, call, Decision.SEND_AGAIN, why="No resend in Return Helper.")
    assert call.state == CallState.PENDING and call.error_class == "" and call.failure_reason == ""
    assert request_state(call) == RequestState.RUNNING
    call = run(call)

    assert call.state == CallState.SUCCEEDED, call.failure_reason
    assert call.idempotency_key == key and call.attempts == attempts + 1
    assert request_state(call) == RequestState.SUCCEEDED
    [effect] = ledger(sandbox, "returnhelper")
    assert effect["idempotency_key"] == str(key)
    assert call.provider_reference == str(effect["result"]["resendId"])
    assert ReviewDecision.objects.get(call=call).call_state_after == CallState.PENDING


def test_a_manager_who_wrongly_says_send_again_gets_the_stored_answer_not_a_second_shipment(
    sandbox, agent: User, manager: User
) -> None:  # type: ignore[no-untyped-def]
    """Why "send it again" keeps the call's idempotency key: where the provider still honours
    it, a wrong decision costs nothing."""
    from .helpers import faults

    call = returnhelper_call_in_review(sandbox, agent)
    # Behind our back the provider did apply an earlier attempt with our key.
    faults(sandbox, provider="returnhelper", drop_after_apply=1)
    settle(manager, call, Decision.SEND_AGAIN)
    call = run(call)  # the send's reply is lost: unknown, the reconcile repeats the same key
    call = run(call)
    assert call.state == CallState.SUCCEEDED
    assert len(ledger(sandbox, "returnhelper")) == 1


def test_it_was_not_applied_give_up(sandbox, agent: User, manager: User) -> None:  # type: ignore[no-untyped-def]
    call = returnhelper_call_in_review(sandbox, agent)
    inventory_ids = [str(i) for i in call.payload["inventory_ids"]]

    call = settle(manager, call, Decision.GIVE_UP, why="The customer got a refund instead.")

    assert call.state == CallState.FAILED and call.finished_at
    assert "given up: The customer got a refund instead." in call.failure_reason
    assert request_state(call) == RequestState.FAILED
    assert ReviewDecision.objects.get(call=call).decision == Decision.GIVE_UP
    assert set(
        ReturnInventory.objects.filter(external_id__in=inventory_ids).values_list(
            "handling_code", flat=True
        )
    ) == {"ohd"}
    assert ledger(sandbox, "returnhelper") == []


def test_a_decision_is_taken_once_and_needs_a_reason_a_reference_and_a_manager(
    sandbox, agent: User, manager: User, second_manager: User
) -> None:  # type: ignore[no-untyped-def]
    call, ours, other = chargebee_call_in_review(sandbox, agent)
    evidence = provider_state(call).as_json()

    def attempt(actor: User, **kwargs: str) -> None:
        decide(actor=actor, call_id=call.pk, evidence=evidence, evidence_fetched_at=None, **kwargs)

    with pytest.raises(RuleViolation, match="Only managers"):
        attempt(agent, decision=Decision.GIVE_UP, why="x")
    with pytest.raises(RuleViolation, match="Say what you found"):
        attempt(manager, decision=Decision.GIVE_UP, why="   ")
    with pytest.raises(RuleViolation, match="Chargebee order id of the resend"):
        attempt(manager, decision=Decision.APPLIED, why="found it")
    earlier = ProviderCallFactory.create(
        account=call.account,
        operation=call.operation,
        state=CallState.SUCCEEDED,
        provider_reference=other,
        finished_at=timezone.now(),
    )
    with pytest.raises(RuleViolation, match=f"already the effect of our call #{earlier.pk}"):
        attempt(manager, decision=Decision.APPLIED, why="that one", reference=other)
    attempt(manager, decision=Decision.APPLIED, why="found it", reference=ours)
    with pytest.raises(RuleViolation, match="mona already decided"):
        attempt(second_manager, decision=Decision.GIVE_UP, why="no")
    assert ReviewDecision.objects.count() == 1


def test_send_again_is_refused_when_the_rules_now_say_no(
    sandbox, agent: User, manager: User
) -> None:  # type: ignore[no-untyped-def]
    call = returnhelper_call_in_review(sandbox, agent)
    ReturnInventory.objects.filter(
        external_id__in=[str(i) for i in call.payload["inventory_ids"]]
    ).update(pending_vas=True)
    with pytest.raises(RuleViolation, match="value-added service"):
        settle(manager, call, Decision.SEND_AGAIN)
    call.refresh_from_db()
    assert call.state == CallState.NEEDS_REVIEW and not ReviewDecision.objects.exists()


def test_managers_are_emailed_at_most_once_per_interval(
    sandbox, agent: User, manager: User, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.REVIEW_NOTICE_INTERVAL_SECONDS = 3600
    assert send_review_notice() is None  # nothing in review: no email
    returnhelper_call_in_review(sandbox, agent, key="first")

    with django_capture_on_commit_callbacks(execute=True):
        first = send_review_notice()
    assert first is not None and first.calls == 1 and first.recipients == 1
    [email] = mail.outbox
    assert email.to == [manager.email] and "1 resend call(s) need review" in email.subject
    assert "/review/" in email.body and "asked 10 times" in email.body

    returnhelper_call_in_review(sandbox, agent, key="second")
    assert send_review_notice() is None  # within the interval: held back
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        second = send_review_notice(now=timezone.now() + timedelta(minutes=61))
    assert second is not None and second.calls == 1  # only the call that entered since
    assert len(mail.outbox) == 2
