"""`manage.py review list|show|decide`: the needs-review queue from the command line, through the
same services as the console, with the provider's state looked up as the decision's evidence."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from resends.models import ReviewDecision
from resends.models.audit import CallState, Channel, RequestState

from .engine.review_helpers import chargebee_call_in_review, returnhelper_call_in_review

pytestmark = pytest.mark.django_db


def test_list_show_and_decide(sandbox: Any, agent: User, manager: User, capsys: Any) -> None:
    call, ours, other = chargebee_call_in_review(sandbox, agent)

    call_command("review", "list")
    listed = capsys.readouterr().out
    assert listed.startswith("1 call(s) need review:") and f"#{call.pk}" in listed
    assert "cannot tell" in listed

    call_command("review", "show", str(call.pk))
    shown = capsys.readouterr().out
    assert f"Idempotency key: {call.idempotency_key}" in shown
    assert "reconcile" in shown and "reconciled_undecided" in shown
    assert f"Resend order {ours}  <- looks like ours" in shown
    assert f"Resend order {other}  <- looks like ours" in shown

    call_command(
        "review", "decide", f"#{call.pk}", "--as", "mona", "--decision", "applied",
        "--reference", ours, "--why", "Created with our key's timestamp.",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert f"Recorded: It was applied. Call #{call.pk} is now succeeded" in out
    decision = ReviewDecision.objects.get()
    assert (decision.channel, decision.decided_by, decision.provider_reference) == (
        Channel.CLI,
        manager,
        ours,
    )
    assert decision.evidence["records"] and decision.evidence_fetched_at
    call.refresh_from_db()
    call.request.refresh_from_db()
    assert call.state == CallState.SUCCEEDED and call.request.state == RequestState.SUCCEEDED

    call_command("review", "list")
    assert capsys.readouterr().out.strip() == "Nothing needs review."


def test_decide_refuses_agents_unknown_calls_and_settled_ones(
    sandbox: Any, agent: User, manager: User
) -> None:
    call = returnhelper_call_in_review(sandbox, agent)
    args = ["review", "decide", str(call.pk), "--decision", "give-up", "--why", "no trace"]
    with pytest.raises(CommandError, match="Only managers"):
        call_command(*args, "--as", "alice")
    with pytest.raises(CommandError, match="No user"):
        call_command(*args, "--as", "nobody")
    with pytest.raises(CommandError, match="No provider call"):
        call_command("review", "show", "99999999999999999999999")
    call_command(*args, "--as", "mona")
    with pytest.raises(CommandError, match="mona already decided"):
        call_command(*args, "--as", "mona")
    call.refresh_from_db()
    assert call.state == CallState.FAILED
