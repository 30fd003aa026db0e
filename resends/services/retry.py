"""Retry the failed part of a finished resend as a new, linked resend (the original stays as it was).

Only calls that failed are sent again, each re-checked against the rules first, and the new
request points at the old one (`retry_of`) so the audit reads as one story. The retry is the
retrier's: submitted by `actor`, through `channel` (the console, the command line, or a bulk retry
job), whatever the original's were; checks.actor_problems says who may retry what.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from ..checks import RETRYABLE_OPERATIONS, actor_problems, failed_calls, retry_problems
from ..models import ProviderCall, ResendRequest, ResendTarget
from ..models.audit import ResendKind
from ..rules import RuleViolation
from .requests import Intent, PlannedCall, Submitted, already_submitted, create_request


def retry_failed(
    *, actor: User, request: ResendRequest, intent_key: str, channel: str
) -> Submitted:
    if found := already_submitted(intent_key):
        return found
    with transaction.atomic():
        request = ResendRequest.objects.select_for_update().get(pk=request.pk)
        if refused := actor_problems(actor, request, "retry"):
            raise RuleViolation(refused)
        failed = failed_calls(request)
        if not request.is_final or not failed:
            raise RuleViolation(retry_problems(request, failed))
        whole = len(failed) == request.calls.filter(operation__in=RETRYABLE_OPERATIONS).count()
        return create_request(
            Intent(
                actor=actor,
                account=request.account,
                kind=request.kind,
                intent_key=intent_key,
                channel=channel,
                selection={**request.selection, "retry_of": request.pk},
                same_as=["retry", [call.payload for call in failed]],
                # Retrying everything is the same intent as the original: a second agent's
                # resend of the same thing in the meantime is found instead of sent again.
                print_=request.fingerprint if whole else "",
                targets=_targets(request, failed),
                calls=[PlannedCall(call.operation, call.subject, call.payload) for call in failed],
                check=lambda: retry_problems(request, failed),
                fields={
                    "retry_of": request,
                    "reason_code": request.reason_code,
                    "note": request.note,
                    "ticket": request.ticket,
                    "shipping_date": request.shipping_date,
                    "destination": request.destination,
                    "window_start": request.window_start,
                    "window_end": request.window_end,
                },
            )
        )


def _targets(request: ResendRequest, failed: list[ProviderCall]) -> list[ResendTarget]:
    targets = list(request.targets.all())
    if request.kind == ResendKind.JUNCTION_ORDERS:
        ids = {order_id for call in failed for order_id in call.payload.get("order_ids", [])}
        targets = [t for t in targets if t.external_ref in ids]
    return [
        ResendTarget(
            order_id=t.order_id,
            line_item_id=t.line_item_id,
            inventory_id=t.inventory_id,
            external_ref=t.external_ref,
            quantity=t.quantity,
        )
        for t in targets
    ]
