"""Return Helper webhooks: the HMAC signature, and what `updateResendStatus` and
`newInventoryCreated` say in our terms, each checked against its schema below (providers.md §3.7)
before anything is applied. Ids arrive as numbers and as text, codes as numbers and as names.

Signature (providers.md §3.7): base64(HMAC-SHA256(base64decode(signing key),
"POST" + the endpoint URL + the `timestamp` header + the raw body)), within 15 minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import Field, StrictBool, StrictInt, StrictStr

from resends.times import parse_time

from ..base import Effect, Ignored, InboundEvent, InboundRequest, ResendStatusUpdate
from ..parsing import (
    Count,
    Schema,
    Text,
    as_int,
    as_str,
    check,
    content_key,
    decoded_secret,
    items,
    read_json,
)
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


# Ids arrive as numbers and as text; as text they must fit the column they are kept in.
InventoryId = (  # ReturnInventory.external_id and warehouse_id
    Annotated[StrictInt, Field(ge=0, lt=10**32)]
    | Annotated[StrictStr, Field(max_length=32, pattern=r"\S")]
)
ResendId = (  # ProviderCall.provider_reference
    Annotated[StrictInt, Field(ge=0, lt=10**100)]
    | Annotated[StrictStr, Field(max_length=100, pattern=r"\S")]
)
NotificationId = (  # WebhookEvent.dedupe_key
    Annotated[StrictInt, Field(ge=0, lt=10**128)]
    | Annotated[StrictStr, Field(max_length=128, pattern=r"\S")]
)
# Codes arrive as numbers and as names; a name must fit its column.
Number = Annotated[StrictInt, Field(ge=0, le=9_999)]
HandlingCode = Number | Annotated[StrictStr, Field(max_length=10)]
HandlingStatusCode = Number | Annotated[StrictStr, Field(max_length=20)]


class _Envelope(Schema):
    action: Annotated[StrictStr, Field(min_length=1)]
    notificationId: NotificationId | None = None


class _Handling(Schema):
    returnInventoryId: InventoryId | None = None
    handlingCode: HandlingCode | None = None
    handlingStatusCode: HandlingStatusCode | None = None


class _ShipmentError(Schema):
    message: Text | None = None


class _Shipment(Schema):
    trackingNumber: Text | None = None
    shipmentLabelId: Text | None = None
    error: _ShipmentError | Text | None = None


class _Resend(Schema):
    resendId: ResendId
    resendStatusCode: Number | Annotated[StrictStr, Field(pattern=r"^\s*[0-9]{1,4}\s*$")]


class StatusEvent(_Envelope):
    resend: _Resend
    resendShipmentList: list[_Shipment] | None = None
    returnInventoryList: list[_Handling] | None = None


class _Inventory(_Handling):
    returnInventoryId: InventoryId
    warehouseId: InventoryId
    rma: Text | None = None
    sku: Text | None = None
    description: Text | None = None
    quantity: Count | Annotated[StrictStr, Field(pattern=r"^\s*[0-9]{1,9}\s*$")] | None = None
    inStock: StrictBool | None = None
    pendingVas: StrictBool | None = None
    createOn: StrictStr | None = None
    modifyOn: StrictStr | None = None


class InventoryEvent(_Envelope):
    returnInventory: _Inventory


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
        try:
            sent_at = parse_time(timestamp)
        except (ValueError, OverflowError):  # a well-formed but impossible date (month 13)
            sent_at = None
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
        check(_Envelope, payload)
        action = payload["action"]
        effect: Effect
        if action == "updateResendStatus":
            check(StatusEvent, payload)
            effect = self._status_update(payload)
        elif action == "newInventoryCreated":
            check(InventoryEvent, payload)
            effect = inventory_record_from_json(payload["returnInventory"])
        else:
            effect = Ignored(action)
        key = str(payload.get("notificationId") or content_key(payload))
        return InboundEvent(dedupe_key=key, event_type=action, payload=payload, effect=effect)

    @staticmethod
    def _status_update(payload: dict[str, Any]) -> ResendStatusUpdate:
        """From a payload StatusEvent has checked."""
        resend = payload["resend"]
        code = as_int(resend["resendStatusCode"])
        status = RESEND_STATUS_NAMES.get(code, str(code)) if code is not None else ""
        shipments = items(payload.get("resendShipmentList"))
        shipment = parse_shipment(shipments[0] if shipments else None)
        failure = ""
        if status == FAILED:
            failure = f"Return Helper could not ship it: {shipment.error or 'no reason given'}"
        handling = tuple(
            handling_update(parse_inventory(item))
            for item in items(payload.get("returnInventoryList"))
            if item.get("returnInventoryId") is not None
        )
        return ResendStatusUpdate(
            operation=CREATE_RESEND,
            reference=as_str(resend["resendId"]).strip(),
            status=status,
            stale_after=stale_after(status),
            tracking_number=shipment.tracking_number,
            label_id="" if shipment.label_id is None else str(shipment.label_id),
            failure=failure,
            handling=handling,
        )
