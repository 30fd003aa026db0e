"""The one small interface between the engine and the providers.

The engine knows nothing of HTTP: it hands an adapter a call's operation, payload and
idempotency key, and gets back a CallResult or a ProviderError whose `error_class` decides what
happens next: permanent (the provider refused: stop), transient (nothing was applied: retry
later), unknown (it may have been applied: reconcile before anything else).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class ErrorClass(StrEnum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange as recorded in the audit, secrets already redacted."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_excerpt: str = ""
    duration_ms: int | None = None

    def as_request_record(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": self.request_headers,
            "body": self.request_body,
        }


class ProviderError(Exception):
    """Any failure talking to a provider, classified for the engine."""

    def __init__(
        self,
        message: str,
        *,
        error_class: ErrorClass,
        code: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message  # plain words an agent can read
        self.error_class = error_class
        self.code = code  # the provider's own error code, if any
        self.status = status
        self.retry_after = retry_after
        self.exchange = exchange

    @property
    def permanent(self) -> bool:
        return self.error_class is ErrorClass.PERMANENT


@dataclass(frozen=True)
class CallResult:
    """What a successful provider operation produced."""

    reference: str = ""  # new Chargebee order id, Return Helper resendId, ...
    reference_2: str = ""  # Return Helper resendNumber
    provider_status: str = ""
    replayed: bool = False  # the provider answered from its idempotency store
    data: dict[str, Any] = field(default_factory=dict)
    exchange: Exchange | None = None


class Verdict(StrEnum):
    APPLIED = "applied"  # the effect exists at the provider: the call succeeded
    ABSENT = "absent"  # clearly not applied: safe to send again
    UNDECIDED = "undecided"  # cannot tell: a manager must look


@dataclass(frozen=True)
class Reconciliation:
    verdict: Verdict
    explanation: str
    result: CallResult | None = None


class ProviderAdapter(Protocol):
    """What the engine needs from a provider. Payloads are the JSON stored on ProviderCall."""

    provider: str

    def execute(
        self, operation: str, payload: dict[str, Any], *, idempotency_key: str
    ) -> CallResult:
        """Perform the operation once. Raises ProviderError."""
        ...

    def reconcile(
        self,
        operation: str,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        first_sent_at: datetime,
    ) -> Reconciliation:
        """After an unknown outcome: find out from the provider whether the effect exists."""
        ...
