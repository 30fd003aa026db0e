"""Chargebee webhooks: HTTP Basic credentials (Chargebee signs nothing), and order events."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING, Self

from ..base import Effect, Ignored, InboundEvent, InboundRequest
from ..parsing import read_json, require
from .mirror import order_record_from_json

if TYPE_CHECKING:
    from resends.accounts import AccountConfig


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
        require(payload, "id", "event_type", "content")
        content = payload["content"]
        order = content.get("order") if isinstance(content, dict) else None
        effect: Effect
        if order is None:
            effect = Ignored(str(payload["event_type"]))
        else:
            require(order, "id")
            effect = order_record_from_json(order)
        return InboundEvent(
            dedupe_key=str(payload["id"]),
            event_type=str(payload["event_type"]),
            payload=payload,
            effect=effect,
        )
