"""What each provider's webhook means for us. Every handler runs inside one transaction with the
WebhookEvent row, so an event is either fully applied once or not recorded at all."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..engine.outcome import refresh_request_state
from ..models import ProviderAccount, ProviderCall, ReturnInventory, WebhookEvent
from ..models.audit import CallState
from ..services.mirrors import (
    handling_fields,
    upsert_chargebee_order,
    upsert_inventory,
    upsert_junction_order,
)


class MalformedEvent(ValueError):
    """The body is not an event we can read: answer 400 and record nothing."""


RESEND_STATUSES = {0: "pending", 1: "canceled", 2: "inProgress", 3: "completed", 4: "failed"}
# Later stages never give way to earlier ones (webhooks arrive out of order).
RESEND_STATUS_RANK = {"pending": 0, "inProgress": 1, "completed": 2, "failed": 2, "canceled": 2}


def content_key(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def record_once(
    *,
    account: ProviderAccount,
    dedupe_key: str,
    event_type: str,
    payload: dict[str, Any],
    apply: Any,
) -> str:
    """Apply `apply()` exactly once per (provider, dedupe_key)."""
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                provider=account.provider,
                account=account,
                dedupe_key=dedupe_key[:128],
                event_type=event_type[:60],
                payload=payload,
            )
            event.outcome = str(apply())[:200]
            event.save(update_fields=["outcome"])
            return event.outcome
    except IntegrityError:
        return "duplicate: already applied"


def _mirror(
    upsert: Callable[..., tuple[Any, bool]], account: ProviderAccount, raw: dict[str, Any]
) -> str:
    _, changed = upsert(account, raw)
    return "mirror updated" if changed else "older than our copy; kept ours"


def _require(payload: Any, *keys: str) -> None:
    if not isinstance(payload, dict) or any(key not in payload for key in keys):
        raise MalformedEvent(f"expected the fields {', '.join(keys)}")


# --- Return Helper --------------------------------------------------------------------------
def handle_returnhelper(account: ProviderAccount, payload: dict[str, Any]) -> str:
    _require(payload, "action")
    action = str(payload["action"])
    if action == "updateResendStatus":
        _require(payload, "resend")
        _require(payload["resend"], "resendId", "resendStatusCode")
        apply = lambda: apply_resend_status(account, payload)  # noqa: E731
    elif action == "newInventoryCreated":
        _require(payload, "returnInventory")
        _require(payload["returnInventory"], "returnInventoryId", "warehouseId")
        apply = partial(_mirror, upsert_inventory, account, payload["returnInventory"])
    else:
        apply = lambda: f"ignored: {action}"  # noqa: E731
    key = str(payload.get("notificationId") or content_key(payload))
    return record_once(
        account=account, dedupe_key=key, event_type=action, payload=payload, apply=apply
    )


def apply_resend_status(account: ProviderAccount, payload: dict[str, Any]) -> str:
    resend = payload["resend"]
    try:
        code = int(str(resend["resendStatusCode"]).strip())
    except ValueError:
        raise MalformedEvent("resendStatusCode is not a number") from None
    status = RESEND_STATUSES.get(code, str(code))
    call = (
        ProviderCall.objects.select_for_update()
        .filter(
            account=account,
            operation=ProviderCall.Operation.RETURNHELPER_CREATE_RESEND,
            provider_reference=str(resend["resendId"]).strip(),
        )
        .first()
    )
    if call is None:
        return f"no resend {resend['resendId']} of ours"
    current = call.provider_status
    if current in RESEND_STATUS_RANK and (
        RESEND_STATUS_RANK.get(status, 0) < RESEND_STATUS_RANK[current]
        or (RESEND_STATUS_RANK[current] == 2 and status != current)
    ):
        return f"ignored {status}: already {current}"
    shipments = payload.get("resendShipmentList") or []
    shipment = shipments[0] if shipments and isinstance(shipments[0], dict) else {}
    call.provider_status = status
    call.tracking_number = str(shipment.get("trackingNumber") or call.tracking_number)[:100]
    fields = ["provider_status", "tracking_number", "updated_at"]
    if status == "failed":
        error = shipment.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        call.state = CallState.FAILED
        call.error_class = "permanent"
        call.failure_reason = f"Return Helper could not ship it: {message or 'no reason given'}"
        call.finished_at = call.finished_at or timezone.now()
        fields += ["state", "error_class", "failure_reason", "finished_at"]
    call.save(update_fields=fields)
    for item in payload.get("returnInventoryList") or []:
        if isinstance(item, dict) and "returnInventoryId" in item:
            ReturnInventory.objects.filter(
                account=account, external_id=str(item["returnInventoryId"]).strip()
            ).update(**handling_fields(item))
    refresh_request_state(call.request_id)
    return f"resend {resend['resendId']} is {status}"


# --- Chargebee ------------------------------------------------------------------------------
def handle_chargebee(account: ProviderAccount, payload: dict[str, Any]) -> str:
    _require(payload, "id", "event_type", "content")
    order = payload["content"].get("order") if isinstance(payload["content"], dict) else None
    if order is None:
        apply = lambda: f"ignored: {payload['event_type']}"  # noqa: E731
    else:
        _require(order, "id")
        apply = partial(_mirror, upsert_chargebee_order, account, order)
    return record_once(
        account=account,
        dedupe_key=str(payload["id"]),
        event_type=str(payload["event_type"]),
        payload=payload,
        apply=apply,
    )


# --- Junction -------------------------------------------------------------------------------
def handle_junction(account: ProviderAccount, payload: dict[str, Any]) -> str:
    _require(payload, "event_type", "data")
    order = payload["data"]
    if not str(payload["event_type"]).startswith("labtest.order."):
        apply = lambda: f"ignored: {payload['event_type']}"  # noqa: E731
        key = content_key(payload)
    else:
        _require(order, "id")
        last_event = order.get("last_event") or {}
        # A replay is a new Svix message with a new svix-id: dedupe on the content instead.
        key = f"{order['id']}:{last_event.get('id', '')}:{order.get('updated_at', '')}"
        apply = partial(_mirror, upsert_junction_order, account, order)
    return record_once(
        account=account,
        dedupe_key=key,
        event_type=str(payload["event_type"]),
        payload=payload,
        apply=apply,
    )
