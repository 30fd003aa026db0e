"""Chargebee webhooks: HTTP Basic credentials (Chargebee signs nothing), and order events,
checked against the schema below (providers.md §2.3) before anything is applied."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import Field, StrictBool, StrictInt, StrictStr

from ..base import Effect, Ignored, InboundEvent, InboundRequest
from ..parsing import Count, Schema, Text, check, read_json
from .mirror import order_record_from_json

if TYPE_CHECKING:
    from resends.accounts import AccountConfig


UnixSeconds = Annotated[StrictInt, Field(ge=0, le=253_402_300_799)]  # up to 9999-12-31
Id = Annotated[StrictStr, Field(min_length=1, max_length=64)]  # Order's and LineItem's external_id
EventId = Annotated[StrictStr, Field(min_length=1, max_length=128)]  # WebhookEvent.dedupe_key


class _Address(Schema):
    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = None


class _Line(Schema):
    id: Id
    description: Text | None = None
    sku: Text | None = None
    status: Text | None = None
    fulfillment_quantity: Count | None = None


class _ResentOrder(Schema):
    order_id: Id | None = None


class _Order(Schema):
    id: Id
    status: Text | None = None
    created_at: UnixSeconds | None = None
    updated_at: UnixSeconds | None = None
    shipping_address: _Address | None = None
    billing_address: _Address | None = None
    resent_status: Text | None = None
    is_resent: StrictBool | None = None
    original_order_id: Text | None = None
    resent_orders: Annotated[list[_ResentOrder], Field(max_length=1000)] | None = None
    order_line_items: list[_Line] | None = None


class _Content(Schema):
    order: _Order | None = None


class Event(Schema):
    id: EventId
    event_type: Annotated[StrictStr, Field(min_length=1)]
    content: _Content


class ChargebeeWebhooks:
    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password

    @classmethod
    def from_config(cls, config: AccountConfig) -> Self:
        return cls(config["webhook_username"], config["webhook_password"])

    def __repr__(self) -> str:
        return "ChargebeeWebhooks()"

    def verify(self, request: InboundRequest) -> str | None:
        if not self._username or not self._password:
            return "no webhook credentials configured"  # start-up refuses it too; never trust it
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return "missing HTTP Basic credentials"
        try:
            given_user, _, given_password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "malformed HTTP Basic credentials"
        user_ok = hmac.compare_digest(given_user.encode(), self._username.encode())
        password_ok = hmac.compare_digest(given_password.encode(), self._password.encode())
        return None if user_ok and password_ok else "wrong HTTP Basic credentials"

    def parse(self, body: bytes) -> InboundEvent:
        payload = read_json(body)
        check(Event, payload)
        order = payload["content"].get("order")
        effect: Effect = (
            Ignored(payload["event_type"]) if order is None else order_record_from_json(order)
        )
        return InboundEvent(
            dedupe_key=payload["id"],
            event_type=payload["event_type"],
            payload=payload,
            effect=effect,
        )
