"""Junction webhooks: Svix signatures, and `labtest.order.*` events carrying a whole order
(`ClientFacingOrder`, providers.md §1.4), checked against the schema below before anything is
applied.

Svix signs "{svix-id}.{svix-timestamp}.{raw body}" with HMAC-SHA256, keyed with the base64 after
`whsec_`; `svix-signature` lists space-separated "v1,<base64>" entries, and a timestamp more than
five minutes away is refused (docs.svix.com/receiving/verifying-payloads/how-manual). Checked by
hand rather than with the svix library, whose verify() raises the same ValueError for a header
without a comma as for a matched body that is not JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import Field, StrictInt, StrictStr

from ..base import Effect, Ignored, InboundEvent, InboundRequest
from ..parsing import Schema, Text, check, content_key, decoded_secret, read_json
from .mirror import order_record_from_json

if TYPE_CHECKING:
    from resends.accounts import AccountConfig

ORDER_EVENTS = "labtest.order."  # created, updated
TOLERANCE_SECONDS = 5 * 60  # Svix's
OrderId = Annotated[StrictStr, Field(min_length=1, max_length=64)]  # Order.external_id


class _OrderEvent(Schema):
    id: StrictInt | StrictStr | None = None
    status: Text | None = None


class _Patient(Schema):
    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = None


class _Address(Schema):
    receiver_name: Text | None = None


class _LabTest(Schema):
    name: Text | None = None
    method: Text | None = None


class _Details(Schema):
    type: Text | None = None


class _Order(Schema):
    id: OrderId
    created_at: StrictStr | None = None
    updated_at: Annotated[StrictStr, Field(max_length=40)] | None = None  # in the dedupe key
    status: Text | None = None
    last_event: _OrderEvent | None = None
    events: list[_OrderEvent] | None = None
    patient_details: _Patient | None = None
    patient_address: _Address | None = None
    lab_test: _LabTest | None = None
    details: _Details | None = None


class AnyEvent(Schema):
    event_type: Annotated[StrictStr, Field(min_length=1)]
    data: Any


class OrderEvent(AnyEvent):
    data: _Order


class JunctionWebhooks:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    @classmethod
    def from_config(cls, config: AccountConfig) -> Self:
        return cls(config["webhook_secret"])

    def __repr__(self) -> str:
        return "JunctionWebhooks()"

    def verify(self, request: InboundRequest) -> str | None:
        key = decoded_secret(self._secret.removeprefix("whsec_"))
        if not key:
            return "no webhook secret configured"  # start-up refuses it too; never trust it
        message_id, timestamp, signatures = (
            request.headers.get(name, "")
            for name in ("svix-id", "svix-timestamp", "svix-signature")
        )
        if not (message_id and timestamp and signatures):
            return "missing svix headers"
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return "unreadable svix-timestamp header"
        if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
            return "svix-timestamp outside the 5-minute tolerance"
        signed = f"{message_id}.{timestamp}.".encode() + request.body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
        for entry in signatures.split():
            version, _, given = entry.partition(",")
            if version == "v1" and hmac.compare_digest(expected, given.encode()):
                return None
        return "svix signature does not match"

    def parse(self, body: bytes) -> InboundEvent:
        payload = read_json(body)
        check(AnyEvent, payload)
        event_type = payload["event_type"]
        effect: Effect
        if not event_type.startswith(ORDER_EVENTS):
            key = content_key(payload)
            effect = Ignored(event_type)
        else:
            check(OrderEvent, payload)
            order = payload["data"]
            last_event = order.get("last_event") or {}
            # A replay is a new Svix message with a new svix-id: dedupe on the content instead.
            key = f"{order['id']}:{last_event.get('id', '')}:{order.get('updated_at', '')}"
            effect = order_record_from_json(order)
        return InboundEvent(dedupe_key=key, event_type=event_type, payload=payload, effect=effect)
