"""Return Helper webhooks: the HMAC signature, and what `updateResendStatus` and
`newInventoryCreated` say in our terms.

Signature (providers.md §3.7): base64(HMAC-SHA256(base64decode(signing key),
"POST" + the endpoint URL + the `timestamp` header + the raw body)), within 15 minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Self

from resends.times import parse_time

from ..base import (
    Effect,
    Ignored,
    InboundEvent,
    InboundRequest,
    MalformedEvent,
    ResendStatusUpdate,
)
from ..parsing import as_str, content_key, decoded_secret, items, read_json, require
from .client import RESEND_STATUS_NAMES, parse_inventory, parse_shipment
from .mirror import handling_update, inventory_record_from_json
from .provider import CREATE_RESEND

if TYPE_CHECKING:
    from resends.accounts import AccountConfig

TOLERANCE = timedelta(minutes=15)
# Later stages never give way to earlier ones (webhooks arrive out of order); the final ones
# (rank 2) never give way to each other either.
RESEND_STATUS_RANK = {"pending": 0, "inProgress": 1, "completed": 2, "failed": 2, "canceled": 2}
FINAL_RANK = 2
FAILED = "failed"


def signature(signing_key_b64: str, url: str, timestamp: str, body: bytes) -> str:
    message = b"POST" + url.encode() + timestamp.encode() + body
    digest = hmac.new(base64.b64decode(signing_key_b64), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def stale_after(status: str) -> frozenset[str]:
    """The stored statuses a new `status` must not overwrite."""
    rank = RESEND_STATUS_RANK.get(status, 0)
    return frozenset(
        current
        for current, current_rank in RESEND_STATUS_RANK.items()
        if rank < current_rank or (current_rank == FINAL_RANK and status != current)
    )


class ReturnHelperWebhooks:
    def __init__(self, signing_key_b64: str) -> None:
        self._signing_key = signing_key_b64

    @classmethod
    def from_config(cls, config: AccountConfig) -> Self:
        return cls(config["webhook_signing_key"])

    def __repr__(self) -> str:
        return "ReturnHelperWebhooks()"

    def verify(self, request: InboundRequest) -> str | None:
        if not decoded_secret(self._signing_key):
            return "no signing key configured"  # start-up refuses it too; never trust it
        given = request.headers.get("returnhelper-signature", "")
        timestamp = request.headers.get("timestamp", "")
        if not given or not timestamp:
            return "missing signature or timestamp header"
        sent_at = parse_time(timestamp)
        if sent_at is None:
            return "unreadable timestamp header"
        if abs(datetime.now(UTC) - sent_at) > TOLERANCE:
            return "timestamp outside the 15-minute tolerance"
        expected = signature(self._signing_key, request.url, timestamp, request.body)
        if not hmac.compare_digest(expected.encode(), given.strip().encode()):
            return "signature does not match"
        return None

    def parse(self, body: bytes) -> InboundEvent:
        payload = read_json(body)
        require(payload, "action")
        action = str(payload["action"])
        effect: Effect
        if action == "updateResendStatus":
            require(payload, "resend")
            require(payload["resend"], "resendId", "resendStatusCode")
            effect = self._status_update(payload)
        elif action == "newInventoryCreated":
            require(payload, "returnInventory")
            require(payload["returnInventory"], "returnInventoryId", "warehouseId")
            effect = inventory_record_from_json(payload["returnInventory"])
        else:
            effect = Ignored(action)
        key = str(payload.get("notificationId") or content_key(payload))
        return InboundEvent(dedupe_key=key, event_type=action, payload=payload, effect=effect)

    @staticmethod
    def _status_update(payload: dict[str, object]) -> ResendStatusUpdate:
        resend = payload["resend"]
        assert isinstance(resend, dict)
        try:
            code = int(str(resend["resendStatusCode"]).strip())
        except ValueError:
            raise MalformedEvent("resendStatusCode is not a number") from None
        status = RESEND_STATUS_NAMES.get(code, str(code))
        shipments = items(payload.get("resendShipmentList"))
        shipment = parse_shipment(shipments[0] if shipments else None)
        failure = ""
        if status == FAILED:
            failure = f"Return Helper could not ship it: {shipment.error or 'no reason given'}"
        handling = tuple(
            handling_update(parse_inventory(item))
            for item in items(payload.get("returnInventoryList"))
            if isinstance(item, dict) and "returnInventoryId" in item
        )
        return ResendStatusUpdate(
            operation=CREATE_RESEND,
            reference=as_str(resend["resendId"]).strip(),
            status=status,
            stale_after=stale_after(status),
            tracking_number=shipment.tracking_number,
            failure=failure,
            handling=handling,
        )
