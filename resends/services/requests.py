"""Writing resend requests: each request, its targets and its provider-call rows in one
transaction (each call with a stable idempotency key), rung for a worker only after commit;
a bulk job's window is written in a few statements whatever its size (create_requests).

A repeated submit of the same intent returns the first request instead of making another:
- the same form token (double click, browser retry) hits the unique `intent_key`;
- the same content from another tab or agent matches `fingerprint` while the first is still in
  progress or succeeded recently (checks.same_resends, which the preview asks too).
Every kind of resend (submit.py), a retry (retry.py) and a bulk job's items go through here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from .. import doorbell, rules
from ..checks import fingerprint, same_resends
from ..models import ProviderAccount, ProviderCall, ResendRequest, ResendTarget
from ..models.audit import Lane, RequestState, lane_of
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


def already_submitted(intent_key: str) -> Submitted | None:
    existing = ResendRequest.objects.filter(intent_key=intent_key).first()
    return Submitted(existing, created=False) if existing else None


@dataclass
class Intent:
    """One request to write: what it resends (`same_as` makes two submits the same intent: what
    is resent, not why or how; a retry gives its original's fingerprint as `print_` instead),
    its targets and calls, and `check`, the rules to run once no earlier submit of the same intent
    is found (the first submit may itself have used the order's last resend)."""

    actor: User
    account: ProviderAccount
    kind: str
    intent_key: str
    channel: str
    selection: dict[str, Any]
    same_as: Any
    targets: Sequence[ResendTarget]
    calls: Sequence[PlannedCall]
    check: Callable[[], list[rules.Problem]]
    print_: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return self.print_ or fingerprint(self.account, self.kind, self.same_as)


Outcome = Submitted | RuleViolation


def create_request(intent: Intent) -> Submitted:
    """One request. Blocking problems from its `check` refuse it (RuleViolation); the others come
    back as warnings."""
    outcome = create_requests([intent])[0]
    if isinstance(outcome, RuleViolation):
        raise outcome
    return outcome


def create_requests(intents: Sequence[Intent]) -> list[Outcome]:
    """Write many intents in a few queries whatever their number (a bulk job's window): the
    earlier submits of the same intents are found in one query each (by intent key, then by
    content), the rules run, and the new requests, targets and calls are inserted in one
    statement each. Call it inside a transaction that holds whatever `check` relies on."""
    outcomes: list[Outcome | None] = [None] * len(intents)
    prints = [intent.fingerprint for intent in intents]
    existing = ResendRequest.objects.in_bulk(
        [i.intent_key for i in intents], field_name="intent_key"
    )
    # The rule the preview shows too (checks.same_resends): one place, so the two agree.
    same_content = same_resends({intent.account.pk for intent in intents}, prints)
    fresh: list[tuple[int, list[rules.Problem]]] = []
    first_of_print: dict[str, int] = {}
    for n, intent in enumerate(intents):
        found = existing.get(intent.intent_key) or same_content.get(prints[n])
        if found is not None:
            outcomes[n] = Submitted(found, created=False)
        elif prints[n] in first_of_print:
            continue  # the same content twice in one batch: the second lands on the first
        elif rules.blocking(warnings := intent.check()):
            outcomes[n] = RuleViolation(rules.blocking(warnings))
        else:
            first_of_print[prints[n]] = n
            fresh.append((n, warnings))
    if fresh:
        _insert(intents, prints, fresh, outcomes)
    for n, print_ in enumerate(prints):
        if outcomes[n] is None:  # the second of the same content
            first = outcomes[first_of_print[print_]]
            outcomes[n] = (
                Submitted(first.request, created=False) if isinstance(first, Submitted) else first
            )
    done = [outcome for outcome in outcomes if outcome is not None]
    assert len(done) == len(intents)
    return done


def _insert(
    intents: Sequence[Intent],
    prints: list[str],
    fresh: list[tuple[int, list[rules.Problem]]],
    outcomes: list[Outcome | None],
) -> None:
    try:
        with transaction.atomic():
            requests = ResendRequest.objects.bulk_create(
                ResendRequest(
                    intent_key=intents[n].intent_key,
                    fingerprint=prints[n],
                    submitted_by=intents[n].actor,
                    channel=intents[n].channel,
                    account=intents[n].account,
                    kind=intents[n].kind,
                    selection=intents[n].selection,
                    state=RequestState.QUEUED,
                    **intents[n].fields,
                )
                for n, _ in fresh
            )
    except IntegrityError:  # another process wrote one of these intent keys a moment ago
        if len(fresh) == 1:
            n = fresh[0][0]
            outcomes[n] = Submitted(
                ResendRequest.objects.get(intent_key=intents[n].intent_key), created=False
            )
        else:
            for n, _ in fresh:
                outcomes[n] = create_requests([intents[n]])[0]
        return
    targets, calls = [], []
    for request, (n, warnings) in zip(requests, fresh, strict=True):
        intent = intents[n]
        for target in intent.targets:
            target.request = request
            targets.append(target)
        calls += [
            ProviderCall(
                request=request,
                account=intent.account,
                subject=planned.subject,
                intent_key=f"{intent.intent_key}:{index}",
                operation=planned.operation,
                payload=planned.payload,
            )
            for index, planned in enumerate(intent.calls)
        ]
        outcomes[n] = Submitted(request, created=True, warnings=warnings)
    ResendTarget.objects.bulk_create(targets)
    lanes: dict[tuple[int, Lane], list[int]] = defaultdict(list)
    for call in ProviderCall.objects.bulk_create(calls):
        lanes[(call.account_id, lane_of(call.request.channel))].append(call.pk)
    for (_, lane), call_ids in lanes.items():
        if lane is Lane.BULK:  # a bulk job's window: sent in batches
            doorbell.ring_calls(call_ids, lane)
        else:
            for call_id in call_ids:
                doorbell.ring_call(call_id, lane)
