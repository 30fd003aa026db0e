"""rate_budget show / reset, on whichever store the settings choose (Redis or the database)."""

from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command

from resends.accounts import default_account
from resends.engine import budget
from resends.engine.budget import Lane

pytestmark = pytest.mark.django_db


def shown(capsys, account: str) -> str:  # type: ignore[no-untyped-def]
    call_command("rate_budget", "show", account)
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith(account)]
    return line


def test_show_then_reset_clears_the_cooldown_and_the_lanes(settings, capsys) -> None:  # type: ignore[no-untyped-def]
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "chargebee": 2.0}
    account = default_account("chargebee")
    budget.reset(account)
    assert shown(capsys, "chargebee") == (
        "chargebee: 2/s, cooldown none, next slot free now, bulk held back none, "
        "sent in the last 1.03 s: 0"
    )
    for _ in range(3):
        budget.reserve(account, Lane.SINGLE)
    budget.depart(account)
    budget.cool_down(account, 30)
    line = shown(capsys, "chargebee")
    cooldown = float(re.search(r"cooldown ([\d.]+) s", line).group(1))  # type: ignore[union-attr]
    assert 25 < cooldown <= 30
    assert re.search(r"next slot in [\d.]+ s", line) and line.endswith(": 1")

    call_command("rate_budget", "reset", "chargebee")
    assert "chargebee: cooldown and lanes cleared." in capsys.readouterr().out
    assert "cooldown none, next slot free now" in shown(capsys, "chargebee")
    assert budget.reserve(account, Lane.BULK).wait == 0


def test_unlimited_and_unknown_accounts(settings, capsys) -> None:  # type: ignore[no-untyped-def]
    assert shown(capsys, "junction") == "junction: unlimited (rate 0)"
    with pytest.raises(CommandError, match="Unknown account nowhere"):
        call_command("rate_budget", "reset", "nowhere")
