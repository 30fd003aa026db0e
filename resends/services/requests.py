"""Writing one resend request: the request, its targets and its provider-call rows in one
transaction (each call with a stable idempotency key), rung for a worker only after commit.

A repeated submit of the same intent returns the first request instead of making another:
- the same form token (double click, browser retry) hits the unique `intent_key`;
- the same content from another tab or agent matches `fingerprint` while the first is still in
  progress or succeeded recently (rules.DUPLICATE_WINDOW).
Every kind of resend (submit.py), a retry (retry.py) and a bulk job's items go through here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .. import doorbell, rules
from ..models import ProviderAccount, ProviderCall, ResendRequest, ResendTarget
from ..models.audit import RequestState, lane_of
from ..rules import RuleViolation


@dataclass
class Submitted:
    request: ResendRequest
    created: bool
    warnings: list[rules.Problem] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedCall:
    operation: str
    subject: str
    payload: dict[str, Any]


def fingerprint(account: ProviderAccount, kind: str, content: Any) -> str:
    canonical = json.dumps([account.pk, kind, content], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def already_submitted(intent_key: str) -> Submitted | None:
    existing = ResendRequest.objects.filter(intent_key=intent_key).first()
    return Submitted(existing, created=False) if existing else None


def _existing_duplicate(account: ProviderAccount, print_: str) -> ResendRequest | None:
    """The same content, still in progress or succeeded moments ago."""
    recent = timezone.now() - rules.DUPLICATE_WINDOW
    return (
        ResendRequest.objects.filter(account=account, fingerprint=print_)
        .filter(
            ~Q(state__in=ResendRequest.FINAL_STATES)
            | Q(state=RequestState.SUCCEEDED, submitted_at__gte=recent)
        )
        .order_by("-submitted_at")
        .first()
    )


def create_request(
    *,
    actor: User,
    account: ProviderAccount,
    kind: str,
    intent_key: str,
    channel: str,
    selection: dict[str, Any],
    same_as: Any,
    targets: Sequence[ResendTarget],
    calls: Sequence[PlannedCall],
    check: Callable[[], list[rules.Problem]],
    print_: str = "",
    **fields: Any,
) -> Submitted:
    """`same_as` is what makes two submits the same intent (what is resent, not why or how);
    `print_` instead gives that fingerprint directly (a retry reuses its original's).
    The same intent in progress (or done moments ago) is found before `check` runs the rules:
    the first submit may itself have used the order's last resend or taken the items off hold.
    Blocking problems from `check` refuse the resend; the others come back as warnings."""
    print_ = print_ or fingerprint(account, kind, same_as)
    duplicate = _existing_duplicate(account, print_)
    if duplicate is not None:
        return Submitted(duplicate, created=False)
    warnings = check()
    if rules.blocking(warnings):
        raise RuleViolation(rules.blocking(warnings))
    try:
        with transaction.atomic():
            request = ResendRequest.objects.create(
                intent_key=intent_key,
                fingerprint=print_,
                submitted_by=actor,
                channel=channel,
                account=account,
                kind=kind,
                selection=selection,
                state=RequestState.QUEUED,
                **fields,
            )
    except IntegrityError:
        return Submitted(ResendRequest.objects.get(intent_key=intent_key), created=False)
    for target in targets:
        target.request = request
    ResendTarget.objects.bulk_create(targets)
    rows = ProviderCall.objects.bulk_create(
        ProviderCall(
            request=request,
            account=account,
            subject=planned.subject,
            intent_key=f"{intent_key}:{index}",
            operation=planned.operation,
            payload=planned.payload,
        )
        for index, planned in enumerate(calls)
    )
    for row in rows:
        doorbell.ring_call(row.pk, lane_of(channel))
    return Submitted(request, created=True, warnings=warnings)
