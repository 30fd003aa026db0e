"""Plain-words descriptions of calls and requests for the console (no provider jargon)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.utils import timezone

from .models import ProviderCall, ResendRequest
from .models.audit import CallState, ErrorClass

Op = ProviderCall.Operation

# A Return Helper label arrives by webhook after the resend is accepted; keep watching this long.
LABEL_WAIT_SECONDS = 15 * 60


# --- the class of trouble, in plain words --------------------------------------------------------
class Trouble(StrEnum):
    """What kind of trouble an error was, as staff need to know it: the one mapping from what the
    engine records (an error class, and whether an HTTP answer came back) to a plain cause."""

    UNREACHABLE = "unreachable"  # no answer at all: refused connection, host not found, timeout
    REFUSED = "refused"  # the provider answered no (a 4xx, a validation failure)
    BUSY = "busy"  # the provider answered "not now" (429, 408, a 5xx on a read): nothing applied
    UNKNOWN = "unknown"  # it may have been applied: checked with the provider before anything else
    NOT_SENT = "not_sent"  # stopped before it left (a rule, a request we would not send)

    @property
    def words(self) -> str:
        return TROUBLE_WORDS[self]


TROUBLE_WORDS = {
    Trouble.UNREACHABLE: "Cannot reach the provider",
    Trouble.REFUSED: "The provider refused",
    Trouble.BUSY: "The provider is busy",
    Trouble.UNKNOWN: "Outcome unknown",
    Trouble.NOT_SENT: "Not sent",
}


def trouble_of(error_class: str, response_status: int | None) -> Trouble | None:
    """The class of trouble of an error (None for no error). `response_status`: the HTTP status
    that came back with it, None when none did."""
    if error_class == ErrorClass.UNKNOWN:
        return Trouble.UNKNOWN
    if error_class == ErrorClass.TRANSIENT:
        return Trouble.BUSY if response_status else Trouble.UNREACHABLE
    if error_class == ErrorClass.PERMANENT:
        return Trouble.REFUSED if response_status else Trouble.NOT_SENT
    return None


@dataclass(frozen=True)
class LastError:
    trouble: Trouble
    at: datetime

    @property
    def words(self) -> str:
        return self.trouble.words


# The attempt fields last_error reads (to prefetch only those for a list of calls).
LAST_ERROR_FIELDS = (
    "id",
    "call_id",
    "number",
    "error_class",
    "response_status",
    "started_at",
    "finished_at",
)


def last_error(call: ProviderCall) -> LastError | None:
    """The call's trouble and when it last happened; None when nothing went wrong, or it went
    right in the end. Reads the call's attempts (prefetch them for a list of calls)."""
    if call.state in (CallState.SUCCEEDED, CallState.CANCELLED) or not call.error_class:
        return None
    attempts = sorted(call.attempt_rows.all(), key=lambda a: a.number)
    latest = attempts[-1] if attempts else None
    if latest is not None and latest.error_class:  # the last exchange with the provider
        trouble = trouble_of(latest.error_class, latest.response_status)
        at = latest.finished_at or latest.started_at
    else:  # refused before anything left, or settled from what the call records
        trouble = trouble_of(call.error_class, None)
        at = call.finished_at or call.updated_at
    return LastError(trouble, at) if trouble is not None else None


def call_summary(call: ProviderCall) -> str:
    state = call.state
    if state == CallState.PENDING:
        if call.next_attempt_at and call.attempts:
            at = f"{timezone.localtime(call.next_attempt_at):%H:%M:%S %Z}"
            if last_error(call) is None:  # put back unsent: its turn in the rate budget was later
                return f"Waiting for its turn in the rate budget; sending at {at}."
            return f"Trying again at {at} (attempt {call.attempts + 1})."
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
        reason = call.failure_reason or "no reason given"
        error = last_error(call)
        if error is not None and error.trouble is not Trouble.REFUSED:
            return reason if reason.endswith(".") else f"{reason}."  # it says what happened
        return f"The provider refused: {reason}".rstrip(".") + "."
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
