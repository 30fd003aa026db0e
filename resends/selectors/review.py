"""Reads for the needs-review queue: the calls waiting for a manager, everything we know about
one (what we sent, every attempt and what reconcile asked and got), and a fresh, read-only look
at the provider's current state through the call's adapter."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from ..models import CallAttempt, ProviderCall, ReviewDecision
from ..models.audit import CallState
from ..providers.base import ProviderError, ProviderState, Unsupported
from ..providers.registry import adapter_for
from ..redaction import redact_text, redact_value

log = logging.getLogger(__name__)

QUEUE_LIMIT = 200
EXCERPT_SHOWN = 1500  # characters of a recorded response shown per attempt


def review_queue(limit: int = QUEUE_LIMIT) -> list[ProviderCall]:
    """The calls in needs review, longest waiting first."""
    return list(
        ProviderCall.objects.filter(state=CallState.NEEDS_REVIEW)
        .select_related("account", "request", "request__submitted_by")
        .order_by("review_since", "id")[:limit]
    )


def waiting_count() -> int:
    return ProviderCall.objects.filter(state=CallState.NEEDS_REVIEW).count()


def call_under_review(call_id: int) -> ProviderCall | None:
    """Any call (in review or settled: its page then shows the decisions made on it)."""
    decisions = Prefetch(
        "review_decisions",
        queryset=ReviewDecision.objects.select_related("decided_by").order_by("decided_at"),
    )
    return (
        ProviderCall.objects.select_related("account", "request", "request__submitted_by")
        .prefetch_related(
            "request__targets__line_item",
            "request__targets__inventory",
            "request__targets__order",
            decisions,
        )
        .filter(pk=call_id)
        .first()
    )


def recent_decisions(limit: int = 20) -> QuerySet[ReviewDecision]:
    return ReviewDecision.objects.select_related("decided_by", "call", "call__account").order_by(
        "-decided_at", "-id"
    )[:limit]


@dataclass(frozen=True)
class AttemptView:
    """One recorded exchange, as the review page shows it."""

    number: int
    purpose: str  # send, reconcile, repeat
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    asked: str  # "POST https://…/resend" (redacted), or "" when nothing was recorded
    body: str
    status: int | None
    outcome: str
    error_class: str
    message: str  # the error, or what reconcile concluded
    response: str

    @property
    def reconciling(self) -> bool:
        return self.purpose == "reconcile"


def attempts_of(call: ProviderCall) -> list[AttemptView]:
    rows: QuerySet[CallAttempt] = call.attempt_rows.order_by("number")
    views = []
    for row in rows:
        sent = row.request_redacted or {}
        method, url = sent.get("method", ""), sent.get("url", "")
        reads = sent.get("asked") or []
        asked = f"{method} {url}".strip() or "; ".join(str(read) for read in reads)
        views.append(
            AttemptView(
                number=row.number,
                purpose=str(sent.get("purpose") or "send"),
                started_at=row.started_at,
                finished_at=row.finished_at,
                duration_ms=row.duration_ms,
                asked=redact_text(asked),
                body=redact_text(str(sent.get("body") or ""))[:EXCERPT_SHOWN],
                status=row.response_status,
                outcome=row.outcome,
                error_class=row.error_class,
                message=row.error_message,
                response=redact_text(row.response_excerpt)[:EXCERPT_SHOWN],
            )
        )
    return views


def first_sent_at(call: ProviderCall) -> datetime:
    first = call.attempt_rows.order_by("number").values_list("started_at", flat=True).first()
    return first or call.created_at


def reference_label(call: ProviderCall) -> str:
    """What the provider calls the effect ("" when it names none: then none is asked for)."""
    return adapter_for(call.account).reference_label


def sent_payload(call: ProviderCall) -> Any:
    return redact_value(call.payload)


@dataclass(frozen=True)
class Evidence:
    """The provider's current state of what a call acted on, as fetched at `fetched_at` (or why
    it could not be fetched). Kept with a decision as the evidence the manager saw."""

    fetched_at: datetime
    state: ProviderState | None
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"fetched_at": self.fetched_at.isoformat()}
        if self.state is not None:
            state = asdict(self.state)
            body["summary"] = state["summary"]
            body["records"] = [
                {**record, "facts": [list(fact) for fact in record["facts"]]}
                for record in state["records"]
            ]
        if self.error:
            body["error"] = self.error
        return redact_value(body)


def provider_state(call: ProviderCall) -> Evidence:
    """A fresh read-only look through the adapter; a provider that cannot be reached now is
    reported, not raised (the manager may have checked its dashboard)."""
    now = timezone.now()
    try:
        state = adapter_for(call.account).current_state(
            call.operation,
            call.payload,
            reference=call.provider_reference,
            first_sent_at=first_sent_at(call),
        )
    except ProviderError as error:
        return Evidence(now, None, f"Could not read the provider's state now: {error.message}")
    except Unsupported as error:
        return Evidence(now, None, str(error))
    except Exception:  # a bug or an answer we cannot read: the page still shows the rest
        log.exception("call %s: reading the provider's state failed", call.pk)
        return Evidence(now, None, "Could not read the provider's state now (an unexpected error).")
    return Evidence(now, state)
