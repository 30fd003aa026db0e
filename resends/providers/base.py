"""The one small interface between the rest of the app and the providers.

The engine knows nothing of HTTP: it hands an adapter a call's operation, payload and
idempotency key, and gets back a CallResult or a ProviderError whose `error_class` decides what
happens next: permanent (the provider refused: stop), transient (nothing was applied: retry
later), unknown (it may have been applied: reconcile before anything else).

The sync, the reference-data selectors and the webhooks get provider-neutral records from here
(OrderRecord, InventoryRecord, ResendStatusUpdate, ...): what our mirrors hold, never a
provider's wire shape. A provider that cannot do something raises Unsupported.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

JsonDict = dict[str, Any]


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
    """What the provider's answer says about an unknown outcome. A provider that could not be
    asked at all (a 503, a 429, a dropped connection) is not a verdict: reconcile raises a
    non-permanent ProviderError and the engine asks again later."""

    APPLIED = "applied"  # the effect exists at the provider: the call succeeded
    ABSENT = "absent"  # clearly not applied: safe to send again
    # The provider cannot tell, and sending again is harmless (it ships and creates nothing):
    # send again, recorded as a repeat.
    REPEAT = "repeat"
    UNDECIDED = "undecided"  # the provider answered, and its answer cannot tell: a manager looks


@dataclass(frozen=True)
class Reconciliation:
    verdict: Verdict
    explanation: str
    result: CallResult | None = None
    asked: tuple[str, ...] = ()  # the reads made to decide ("GET https://…/orders/ord_1"), if any


@dataclass(frozen=True)
class ProviderRecord:
    """One thing at the provider, as a person checking a call needs to see it."""

    title: str  # "Order ord_123 (the original)", "Resend 5001 (RSD-5001)"
    facts: tuple[tuple[str, str], ...] = ()  # (label, value) rows, in the order shown
    reference: str = ""  # set when this could be the call's effect: its reference for "applied"
    matches: bool = False  # the adapter finds it looks like the call's effect


@dataclass(frozen=True)
class ProviderState:
    """A fresh, read-only look at the provider's current state of what a call acted on."""

    summary: str
    records: tuple[ProviderRecord, ...] = ()


class Unsupported(Exception):
    """The provider has no such thing (Return Helper lists no orders, Junction has no warehouses)."""


# --- provider-neutral records: what our mirrors hold --------------------------------------------


@dataclass(frozen=True)
class LineRecord:
    external_id: str
    description: str = ""
    sku: str = ""
    quantity: int = 0
    status: str = ""


@dataclass(frozen=True)
class ResendFacts:
    """How the provider itself counts an order's resends (Chargebee's cap of five)."""

    resent_status: str = ""  # "", "partially_resent", "fully_resent"
    is_resent: bool = False  # this order is itself a resend
    original_order_id: str = ""
    resent_order_ids: tuple[str, ...] = ()  # the resend orders made from this one


@dataclass(frozen=True)
class OrderRecord:
    external_id: str
    customer_name: str
    customer_email: str
    status: str  # raw: providers add values without notice
    created_at: datetime | None
    updated_at: datetime | None  # an older copy never overwrites a newer one
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)
    lines: tuple[LineRecord, ...] | None = None  # None: this provider's orders have no lines
    resends: ResendFacts | None = None  # None: this provider keeps no resend facts


@dataclass(frozen=True)
class OrderPage:
    """One page of a provider's order list, as the sync reads it (progress is per page)."""

    orders: tuple[OrderRecord, ...]
    total: int | None = None  # every order the whole listing holds, when the provider says


@dataclass(frozen=True)
class InventoryRecord:
    """A returned item held at a warehouse, eligible for a resend while it is on hold."""

    external_id: str
    warehouse_id: str
    handling_code: str
    handling_status_code: str
    rma: str = ""
    sku: str = ""
    description: str = ""
    quantity: int = 1
    in_stock: bool = True
    pending_vas: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class HandlingUpdate:
    """A new handling code and status for an inventory we mirror."""

    external_id: str
    handling_code: str
    handling_status_code: str


@dataclass(frozen=True)
class ResendStatusUpdate:
    """The provider moved one of our resends on (a label made, a tracking number, a failure)."""

    operation: str  # the operation of our call whose provider_reference is `reference`
    reference: str
    status: str
    # Stored statuses this update must not overwrite (updates arrive out of order).
    stale_after: frozenset[str] = frozenset()
    tracking_number: str = ""
    failure: str = ""  # set when the provider could not do it: why, in plain words
    handling: tuple[HandlingUpdate, ...] = ()
    label_id: str = ""  # the shipping label the provider made for it


@dataclass(frozen=True)
class Country:
    code: str  # as the provider wants it (Return Helper: ISO3 lower-case)
    name: str


@dataclass(frozen=True)
class ServiceRoute:
    warehouse_id: str  # "" when the route is offered from any warehouse
    to_country: str


@dataclass(frozen=True)
class ServiceType:
    """A shipping service the provider offers for a resend, and where it goes."""

    code: str
    name: str
    routes: tuple[ServiceRoute, ...]

    def serves(self, warehouse_id: str, to_country: str) -> bool:
        return any(
            route.warehouse_id in ("", warehouse_id) and route.to_country == to_country.lower()
            for route in self.routes
        )

    def ships_from(self, warehouse_id: str) -> bool:
        return any(route.warehouse_id in ("", warehouse_id) for route in self.routes)


# --- inbound webhooks ---------------------------------------------------------------------------


class MalformedEvent(ValueError):
    """A signed webhook body we cannot use: answer 400 and record nothing."""


@dataclass(frozen=True)
class InboundRequest:
    """A webhook as it reached us: the URL the provider posted to, its headers, its raw body."""

    url: str
    headers: Mapping[str, str]  # case-insensitive lookups (Django's request.headers)
    body: bytes


@dataclass(frozen=True)
class Ignored:
    """An event that changes nothing we keep."""

    what: str


Effect = OrderRecord | InventoryRecord | ResendStatusUpdate | Ignored


@dataclass(frozen=True)
class InboundEvent:
    """A verified, parsed webhook: applied once per (provider, dedupe_key)."""

    dedupe_key: str
    event_type: str
    payload: JsonDict  # kept on the WebhookEvent row
    effect: Effect


class WebhookReceiver(Protocol):
    def verify(self, request: InboundRequest) -> str | None:
        """None when the request is genuine, else a short reason (never echoing a secret)."""
        ...

    def parse(self, body: bytes) -> InboundEvent:
        """The event in provider-neutral terms. Raises MalformedEvent."""
        ...


# --- the adapter --------------------------------------------------------------------------------


class ProviderAdapter(ABC):
    """What the engine, the sync and the reference-data selectors need from a provider.

    Payloads are the JSON stored on ProviderCall. Every adapter sends and reconciles; the other
    methods raise Unsupported unless the provider's API has the thing.
    """

    provider: str
    label: str
    # What the provider calls the effect a call makes (a manager who finds it records this);
    # "" when the provider names none (Junction's replay).
    reference_label: str = "Provider reference"

    @abstractmethod
    def execute(
        self, operation: str, payload: dict[str, Any], *, idempotency_key: str
    ) -> CallResult:
        """Perform the operation once. Raises ProviderError."""

    @abstractmethod
    def reconcile(
        self,
        operation: str,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        first_sent_at: datetime,
    ) -> Reconciliation:
        """After an unknown outcome: find out from the provider whether the effect exists.

        Returns a verdict only from the provider's own answer. Raises ProviderError: permanent
        when the provider refused a same-key repeat (nothing was applied), otherwise (transient
        or unknown) when it could not be asked, so the engine asks again later."""

    @abstractmethod
    def current_state(
        self,
        operation: str,
        payload: dict[str, Any],
        *,
        reference: str,
        first_sent_at: datetime,
    ) -> ProviderState:
        """Read-only: what the provider shows now about what the call acted on, for a manager
        settling a call in review (`reference` is the call's provider reference, often "").
        Raises ProviderError."""

    def changed_order_pages(self, since: datetime | None) -> Iterator[OrderPage]:
        """Every order changed since `since` (all of them for None), a page at a time, oldest
        change first where the provider can sort. Raises ProviderError."""
        raise Unsupported(f"{self.label} has no order list.")

    def changed_orders(self, since: datetime | None) -> Iterator[OrderRecord]:
        for page in self.changed_order_pages(since):
            yield from page.orders

    def countries(self) -> tuple[Country, ...]:
        """The destinations a resend can ship to. Raises ProviderError."""
        raise Unsupported(f"{self.label} has no list of destination countries.")

    def service_types(self, warehouse_id: str) -> tuple[ServiceType, ...]:
        """The shipping services offered from a warehouse. Raises ProviderError."""
        raise Unsupported(f"{self.label} has no warehouses.")
