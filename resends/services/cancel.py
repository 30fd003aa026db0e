"""Cancelling an accepted Return Helper resend before it is dispatched (a call of its own)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from .. import doorbell
from ..checks import accepted_create, actor_problems, cancel_problems
from ..models import ProviderCall, ResendRequest
from ..models.audit import CallState, lane_of
from ..rules import RuleViolation

Op = ProviderCall.Operation


def cancel_returnhelper_resend(*, actor: User, request: ResendRequest) -> ProviderCall:
    """Queue a cancel of an accepted Return Helper resend that has not started; idempotent.
    `actor` is recorded on the cancel call (checks.actor_problems says who may cancel what)."""
    with transaction.atomic():
        request = ResendRequest.objects.select_for_update().get(pk=request.pk)
        calls = list(request.calls.all())
        problems = actor_problems(actor, request, "cancel") or cancel_problems(calls)
        if problems:
            raise RuleViolation(problems)
        create = accepted_create(calls)
        assert create is not None
        existing = (
            request.calls.filter(operation=Op.RETURNHELPER_CANCEL_RESEND)
            .exclude(state=CallState.FAILED)
            .first()
        )
        if existing is not None:
            return existing
        tries = request.calls.filter(operation=Op.RETURNHELPER_CANCEL_RESEND).count()
        call = ProviderCall.objects.create(
            request=request,
            account=request.account,
            subject=create.provider_reference,
            intent_key=f"{request.intent_key}:cancel:{tries}",
            operation=Op.RETURNHELPER_CANCEL_RESEND,
            payload={"resend_id": int(create.provider_reference)},
            requested_by=actor,
        )
        doorbell.ring_call(call.pk, lane_of(request.channel))
        return call
