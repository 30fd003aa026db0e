"""Junction webhooks: Svix signatures, and `labtest.order.*` events carrying a whole order
(`ClientFacingOrder`, providers.md §1.4), checked against the schema below before anything is
applied."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import Field, StrictInt, StrictStr
from svix.webhooks import Webhook, WebhookVerificationError

from ..base import Effect, Ignored, InboundEvent, InboundRequest
from ..parsing import Schema, Text, check, content_key, decoded_secret, read_json
from .mirror import order_record_from_json

if TYPE_CHECKING:
    from resends.accounts import AccountConfig

ORDER_EVENTS = "labtest.order."  # created, updated
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
        if not decoded_secret(self._secret.removeprefix("whsec_")):
            return "no webhook secret configured"  # start-up refuses it too; never trust it
        headers = {
            name: request.headers.get(name, "")
            for name in ("svix-id", "svix-timestamp", "svix-signature")
        }
        if not all(headers.values()):
            return "missing svix headers"
        try:
            Webhook(self._secret).verify(request.body, headers)
        except WebhookVerificationError:
            return "svix signature does not match"
        except (ValueError, RecursionError):
            pass  # svix reads the body as JSON once the signature matched; parse() judges it
        return None

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
