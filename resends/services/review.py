"""Settling a call that needs review: a manager's decision, recorded and acted on at once.

A decision is a new ReviewDecision row (who, when, why, the provider's state the manager was
shown), never an edit of an earlier one; the call's and the request's states follow from it:

- "it was applied": the call succeeds with the provider's reference the manager found, and our
  mirrors count it (the order's resends, the items' handling) as an engine success would.
- "it was not applied: send it again": the same call row goes back to pending and the normal
  engine sends it, with the same idempotency key, after the rules are checked again (here, so
  the manager sees a refusal at once, and by the engine just before it leaves). Reusing the key
  is the safe choice: where the provider still honours it (Return Helper runs a key once, with
  no TTL documented; Chargebee within 30 minutes of the first attempt), a manager who was wrong
  gets the provider's stored answer instead of a second shipment; where it no longer does, the
  key is no worse than a new one. A new call with a new key would throw that protection away,
  and would be a second intent for what is one. The engine's limits count the call's attempts
  from this decision on, and its reconcile still looks back to the first attempt, so an earlier
  effect that was missed shows up as a second match (review again) instead of passing as ours.
- "it was not applied: give up": the call fails, with the manager's words as the reason.

Managers are emailed when calls enter review, at most once per REVIEW_NOTICE_INTERVAL_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import doorbell
from ..checks import call_problems, is_held
from ..engine.outcome import apply_success, refresh_request_state
from ..models import ProviderCall, ReviewDecision, ReviewNotice
from ..models.audit import CallState, Channel, lane_of
from ..models.review import Decision
from ..providers.base import CallResult
from ..providers.registry import adapter_for
from ..redaction import redact_text, redact_value
from ..roles import MANAGERS
from ..rules import Problem, RuleViolation
from . import notify

DECIDE_PERMISSION = "resends.decide_reviewdecision"
WHY_MAX = 2000
REFERENCE_MAX = 100


@dataclass(frozen=True)
class Settled:
    decision: ReviewDecision
    call: ProviderCall


def can_decide(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm(DECIDE_PERMISSION))


def decide(
    *,
    actor: User,
    call_id: int,
    decision: str,
    why: str,
    evidence: dict[str, Any],
    evidence_fetched_at: datetime | None,
    reference: str = "",
    channel: str = Channel.WEB,
) -> Settled:
    """Record a manager's decision on a call in review and move the call on. Raises
    RuleViolation when it cannot be taken (not a manager, already settled, no reason given, the
    rules now refuse a resend, ...)."""
    why = why.strip()
    reference = reference.strip()
    problems = _input_problems(actor, decision, why, reference)
    if problems:
        raise RuleViolation(problems)
    with transaction.atomic():
        call = ProviderCall.objects.select_for_update().select_related("request").get(pk=call_id)
        if call.state != CallState.NEEDS_REVIEW:
            raise RuleViolation([Problem("call", _already_settled(call))])
        named = adapter_for(call.account).reference_label
        if decision == Decision.APPLIED and named and not reference:
            raise RuleViolation([Problem("reference", f"Give the {named} you found.")])
        review_reason = call.failure_reason
        if decision == Decision.APPLIED:
            _applied(call, reference)
        elif decision == Decision.SEND_AGAIN:
            _send_again(call)
        else:
            _give_up(call, actor, why)
        row = ReviewDecision.objects.create(
            call=call,
            request_id=call.request_id,
            decision=decision,
            decided_by=actor,
            channel=channel,
            why=redact_text(why),
            provider_reference=reference if decision == Decision.APPLIED else "",
            review_reason=review_reason,
            evidence=redact_value(evidence),
            evidence_fetched_at=evidence_fetched_at,
            call_state_after=call.state,
        )
        refresh_request_state(call.request_id)
    return Settled(row, call)


def _input_problems(actor: User, decision: str, why: str, reference: str) -> list[Problem]:
    problems = []
    if not can_decide(actor):
        problems.append(Problem("actor", "Only managers settle calls that need review."))
    if decision not in Decision.values:
        problems.append(Problem("decision", "Pick one of the three decisions."))
    if not why:
        problems.append(Problem("why", "Say what you found (it is kept with the decision)."))
    elif len(why) > WHY_MAX:
        problems.append(Problem("why", f"Keep it under {WHY_MAX} characters."))
    if len(reference) > REFERENCE_MAX or any(c.isspace() for c in reference):
        problems.append(Problem("reference", "That is not a provider reference."))
    return problems


def _already_settled(call: ProviderCall) -> str:
    last = call.review_decisions.select_related("decided_by").order_by("-decided_at").first()
    if last is None:
        return f"This call is no longer in review (it is {call.get_state_display().lower()})."
    return (
        f"{last.decided_by.get_username()} already decided at "
        f"{timezone.localtime(last.decided_at):%Y-%m-%d %H:%M %Z}: {last.get_decision_display()}."
    )


def _applied(call: ProviderCall, reference: str) -> None:
    if reference:
        taken = (
            ProviderCall.objects.filter(
                account=call.account, operation=call.operation, provider_reference=reference
            )
            .exclude(pk=call.pk)
            .values_list("pk", flat=True)
            .first()
        )
        if taken is not None:
            raise RuleViolation(
                [Problem("reference", f"{reference} is already the effect of our call #{taken}.")]
            )
    now = timezone.now()
    call.state = CallState.SUCCEEDED
    call.finished_at = now
    call.provider_reference = reference
    call.error_class = ""
    call.failure_reason = ""
    call.save(
        update_fields=[
            "state",
            "finished_at",
            "provider_reference",
            "error_class",
            "failure_reason",
            "updated_at",
        ]
    )
    apply_success(call, CallResult(reference=reference))


def _send_again(call: ProviderCall) -> None:
    if is_held(call) == "cancelled":
        raise RuleViolation([Problem("call", "Its bulk job was cancelled; it cannot be sent.")])
    problems = call_problems(call)
    if problems:
        raise RuleViolation(problems)
    call.state = CallState.PENDING
    call.next_attempt_at = None
    call.error_class = ""
    call.failure_reason = ""
    call.finished_at = None
    call.save(
        update_fields=[
            "state",
            "next_attempt_at",
            "error_class",
            "failure_reason",
            "finished_at",
            "updated_at",
        ]
    )
    doorbell.ring_call(call.pk, lane_of(call.request.channel))


def _give_up(call: ProviderCall, actor: User, why: str) -> None:
    call.state = CallState.FAILED
    call.finished_at = timezone.now()
    call.error_class = ""
    call.failure_reason = redact_text(
        f"Not applied, as {actor.get_username()} found in review; given up: {why}"
    )[:2000]
    call.save(update_fields=["state", "finished_at", "error_class", "failure_reason", "updated_at"])


# --- telling the managers ---------------------------------------------------------------------


def managers_to_tell() -> list[str]:
    group = Group.objects.filter(name=MANAGERS).first()
    if group is None:
        return []
    return sorted(
        set(
            User.objects.filter(Q(groups=group) & Q(is_active=True))
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def send_review_notice(now: datetime | None = None) -> ReviewNotice | None:
    """Email the managers about calls that entered review since the last notice, unless one
    went out less than REVIEW_NOTICE_INTERVAL_SECONDS ago (those calls are then in the next)."""
    now = now or timezone.now()
    interval = timedelta(seconds=settings.REVIEW_NOTICE_INTERVAL_SECONDS)
    with transaction.atomic():
        last = ReviewNotice.objects.select_for_update().order_by("-sent_at").first()
        if last is not None and now - last.sent_at < interval:
            return None
        entered = ProviderCall.objects.filter(state=CallState.NEEDS_REVIEW)
        if last is not None:
            entered = entered.filter(review_since__gt=last.sent_at)
        calls = list(entered.select_related("account").order_by("review_since", "id")[:51])
        if not calls:
            return None
        addresses = managers_to_tell()
        total = entered.count()
        notice = ReviewNotice.objects.create(calls=total, recipients=len(addresses))
        notify.calls_need_review(calls[:50], total, addresses)
    return notice
