"""Plain-words descriptions of calls and requests for the console (no provider jargon)."""

from __future__ import annotations

from django.utils import timezone

from .models import ProviderCall, ResendRequest
from .models.audit import CallState

Op = ProviderCall.Operation

# A Return Helper label arrives by webhook after the resend is accepted; keep watching this long.
LABEL_WAIT_SECONDS = 15 * 60


def call_summary(call: ProviderCall) -> str:
    state = call.state
    if state == CallState.PENDING:
        if call.next_attempt_at and call.attempts:
            return (
                f"The provider was busy; trying again at {timezone.localtime(call.next_attempt_at):%H:%M:%S} "
                f"(attempt {call.attempts + 1})."
            )
        return "Waiting to be sent."
    if state == CallState.IN_FLIGHT:
        return "Being sent to the provider now."
    if state == CallState.UNKNOWN:
        return (
            "We could not tell whether the provider received it; checking with the provider "
            "before trying again, so it cannot happen twice."
        )
    if state == CallState.NEEDS_REVIEW:
        return (
            "The provider could not tell whether it was applied, so nothing is sent again until "
            f"a manager settles it (Needs review). {call.failure_reason}".strip()
        )
    if state == CallState.FAILED:
        return f"The provider refused: {call.failure_reason or 'no reason given'}."
    if state == CallState.CANCELLED:
        return "Cancelled before it was sent."
    return _success(call)


def _success(call: ProviderCall) -> str:
    if call.operation == Op.CHARGEBEE_RESEND_ORDER:
        return f"Chargebee created the resend order {call.provider_reference}.".replace(" .", ".")
    if call.operation == Op.JUNCTION_RESEND_EVENTS:
        if call.provider_status == "superseded":
            return "Junction has sent newer webhooks for these orders since; no replay was needed."
        repeated = (
            f" It was sent {call.repeats + 1} times: Junction keeps no record of replays and "
            "the first answer was lost, so its webhooks may go out twice (nothing is shipped)."
            if call.repeats
            else ""
        )
        return f"Junction accepted the replay; the webhooks go out from Junction.{repeated}"
    if call.operation == Op.RETURNHELPER_CANCEL_RESEND:
        return "Return Helper cancelled the resend."
    number = call.provider_reference_2 or call.provider_reference
    status = f" Status: {call.provider_status}." if call.provider_status else ""
    waiting = "" if call.label_url or call.tracking_number else " The label follows by webhook."
    return f"Return Helper accepted resend {number}.{status}{waiting}"


def is_settled(request: ResendRequest, calls: list[ProviderCall]) -> bool:
    """Nothing more will change without someone acting: stop polling."""
    if any(c.state in (CallState.PENDING, CallState.IN_FLIGHT, CallState.UNKNOWN) for c in calls):
        return False
    if not request.is_final:
        return False
    for call in calls:
        awaiting_label = (
            call.operation == Op.RETURNHELPER_CREATE_RESEND
            and call.state == CallState.SUCCEEDED
            and not call.tracking_number
            and call.provider_status not in ("canceled", "cancelled")
            and call.finished_at is not None
            and (timezone.now() - call.finished_at).total_seconds() < LABEL_WAIT_SECONDS
        )
        if awaiting_label:
            return False
    return True


STATE_TONES = {
    "succeeded": "ok",
    "failed": "bad",
    "partly_failed": "bad",
    "needs_review": "warn",
    "cancelled": "muted",
    "unknown": "warn",
}


def chargebee_told(calls: list[ProviderCall]) -> str:
    """What a Chargebee resend told Chargebee besides the resend: who asked, and whether it
    emails the customer and sends webhooks ("" for other resends)."""
    payload = next(
        (c.payload for c in calls if c.operation == Op.CHARGEBEE_RESEND_ORDER and c.payload), None
    )
    if not isinstance(payload, dict):
        return ""
    who = payload.get("origin_user") or "nobody (no email address)"
    email = "yes" if payload.get("customer_email", True) is not False else "no"
    hooks = "yes" if payload.get("webhooks", True) is not False else "no"
    return f"named {who} as who resent; customer email: {email}; webhooks: {hooks}"
