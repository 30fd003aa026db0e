"""Re-ring the doorbell for calls whose message was lost, whose wait is over, or whose worker died."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from ..models import ProviderCall
from ..models.audit import CallState, Lane, lane_of
from . import policy


def due_calls(limit: int = 500) -> list[tuple[int, Lane]]:
    """(id, lane) of the calls whose doorbell should ring again now."""
    now = timezone.now()
    due = (
        Q(state__in=[CallState.PENDING, CallState.UNKNOWN], next_attempt_at__lte=now)
        | Q(
            state=CallState.PENDING,
            next_attempt_at__isnull=True,
            updated_at__lt=now - policy.sweep_grace(),
        )
        | Q(state=CallState.UNKNOWN, next_attempt_at__isnull=True)
        | Q(state=CallState.IN_FLIGHT, locked_at__lt=now - policy.lease())
    )
    rows = (
        ProviderCall.objects.filter(due)
        .exclude(request__state="awaiting_approval")
        .order_by("next_attempt_at", "id")
        .values_list("id", "request__channel")[:limit]
    )
    return [(call_id, lane_of(channel)) for call_id, channel in rows]
