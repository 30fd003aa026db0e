"""Junction webhooks: Svix signatures, and `labtest.order.*` events carrying a whole order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from svix.webhooks import Webhook, WebhookVerificationError

from ..base import Effect, Ignored, InboundEvent, InboundRequest
from ..parsing import content_key, decoded_secret, read_json, require
from .mirror import order_record_from_json

if TYPE_CHECKING:
    from resends.accounts import AccountConfig

ORDER_EVENTS = "labtest.order."  # created, updated


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
        require(payload, "event_type", "data")
        event_type = str(payload["event_type"])
        effect: Effect
        if not event_type.startswith(ORDER_EVENTS):
            key = content_key(payload)
            effect = Ignored(event_type)
        else:
            order = payload["data"]
            require(order, "id")
            last_event = order.get("last_event") or {}
            # A replay is a new Svix message with a new svix-id: dedupe on the content instead.
            key = f"{order['id']}:{last_event.get('id', '')}:{order.get('updated_at', '')}"
            effect = order_record_from_json(order)
        return InboundEvent(dedupe_key=key, event_type=event_type, payload=payload, effect=effect)
