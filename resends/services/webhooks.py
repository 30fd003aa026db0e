"""What a provider's webhook means for us, applied exactly once.

The provider package has verified the request and read the event into provider-neutral terms
(providers/base.py InboundEvent); here each event runs inside one transaction with its WebhookEvent
row, so it is either fully applied once or not recorded at all.
"""

from __future__ import annotations

from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from ..engine.outcome import refresh_request_state
from ..models import ProviderAccount, ProviderCall, WebhookEvent
from ..models.audit import CallState
from ..providers.base import (
    Effect,
    Ignored,
    InboundEvent,
    InventoryRecord,
    OrderRecord,
    ResendStatusUpdate,
)
from .mirrors import update_handling, upsert_inventory, upsert_order

DUPLICATE = "duplicate: already applied"


class EventNotApplied(Exception):
    """The database refused the event as it is (a value a table cannot hold): nothing is recorded
    and the provider is asked to send it again (4xx), so it is not lost."""


def receive_event(*, account: ProviderAccount, event: InboundEvent) -> str:
    """Apply the event once per (provider, dedupe key); returns what it did, in a few words."""
    key = event.dedupe_key[:128]
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row = WebhookEvent.objects.create(
                        provider=account.provider,
                        account=account,
                        dedupe_key=key,
                        event_type=event.event_type[:60],
                        payload=event.payload,
                    )
            except IntegrityError:
                # Only the (provider, dedupe_key) constraint makes it a duplicate.
                if WebhookEvent.objects.filter(provider=account.provider, dedupe_key=key).exists():
                    return DUPLICATE
                raise
            row.outcome = apply_effect(account, event.effect)[:200]
            row.save(update_fields=["outcome"])
            return row.outcome
    except (IntegrityError, DataError) as exc:
        raise EventNotApplied(str(exc)) from exc


def apply_effect(account: ProviderAccount, effect: Effect) -> str:
    match effect:
        case OrderRecord():
            return _mirrored(upsert_order(account, effect)[1])
        case InventoryRecord():
            return _mirrored(upsert_inventory(account, effect)[1])
        case ResendStatusUpdate():
            return apply_resend_status(account, effect)
        case Ignored(what=what):
            return f"ignored: {what}"


def _mirrored(changed: bool) -> str:
    return "mirror updated" if changed else "older than our copy; kept ours"


def apply_resend_status(account: ProviderAccount, update: ResendStatusUpdate) -> str:
    call = (
        ProviderCall.objects.select_for_update()
        .filter(account=account, operation=update.operation, provider_reference=update.reference)
        .first()
    )
    if call is None:
        return f"no resend {update.reference} of ours"
    current = call.provider_status
    if current in update.stale_after:
        return f"ignored {update.status}: already {current}"
    call.provider_status = update.status
    call.tracking_number = (update.tracking_number or call.tracking_number)[:100]
    call.label_id = (update.label_id or call.label_id)[:40]
    fields = ["provider_status", "tracking_number", "label_id", "updated_at"]
    if update.failure:
        call.state = CallState.FAILED
        call.error_class = "permanent"
        call.failure_reason = update.failure
        call.finished_at = call.finished_at or timezone.now()
        fields += ["state", "error_class", "failure_reason", "finished_at"]
    call.save(update_fields=fields)
    update_handling(account, update.handling)
    refresh_request_state(call.request_id)
    return f"resend {update.reference} is {update.status}"
