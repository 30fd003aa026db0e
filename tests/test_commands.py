"""The scriptable side: sync the mirrors and submit resends from the command line, over the sandbox."""

from __future__ import annotations

from io import StringIO

import pytest
import requests
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from resends.models import Order, ProviderCall, ResendRequest
from resends.models.audit import Channel

from .engine.helpers import mirror_chargebee_order, mirror_inventories

pytestmark = pytest.mark.django_db


def test_full_then_incremental_sync_mirrors_the_providers(sandbox, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("sync_orders", "--full")
    junction = Order.objects.filter(account__provider="junction").count()
    chargebee = Order.objects.filter(account__provider="chargebee")
    assert junction >= 200 and chargebee.count() >= 200
    assert chargebee.filter(line_items__isnull=False).exists()

    target = chargebee.filter(resend_count=0, status__in=["queued", "shipped", "delivered"]).first()
    assert target is not None
    response = requests.post(
        f"{sandbox.chargebee_url}/api/v2/orders/{target.external_id}/resend",
        auth=("test_sandbox_key", ""),
        timeout=10,
    )
    response.raise_for_status()
    call_command("sync_orders", "--provider", "chargebee")
    target.refresh_from_db()
    assert (target.resend_count, target.resent_status, target.status) == (
        1,
        "fully_resent",
        "cancelled",
    )
    assert "changed" in capsys.readouterr().out


def test_submit_resend_from_the_command_line(sandbox, agent: User, capsys) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox)
    line = order.line_items.first()
    assert line is not None
    args = [
        "submit_resend",
        "chargebee",
        order.external_id,
        "--as",
        "alice",
        "--line",
        f"{line.external_id}=1",
    ]
    call_command(*args, "--reason", "Damaged", "--note", "crushed", "--intent-key", "script-1")
    call_command(*args, "--reason", "Damaged", "--note", "crushed", "--intent-key", "script-1")
    out = capsys.readouterr().out
    assert "Submitted: resend request" in out and "Already submitted" in out
    request = ResendRequest.objects.get()
    assert (request.channel, request.note, request.submitted_by) == (Channel.CLI, "crushed", agent)
    assert request.ticket == ""
    assert request.calls.get().payload["origin_user"] == agent.email

    inventories = mirror_inventories(sandbox, 2)
    call_command(
        "submit_resend", "returnhelper", *[i.external_id for i in inventories], "--as", "alice",
        "--country", "usa", "--service-type", "usps", "--name", "Ada", "--street1", "1 Main St", "--city", "Newark",
    )  # fmt: skip
    assert ProviderCall.objects.filter(operation="returnhelper.create_resend").count() == 1


def test_the_command_takes_a_ticket_and_chargebees_switches(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox)
    call_command(
        "submit_resend", "chargebee", order.external_id, "--as", "alice", "--ticket", "HD-7",
        "--no-customer-email", "--no-webhooks",
    )  # fmt: skip
    request = ResendRequest.objects.get()
    payload = request.calls.get().payload
    assert (request.ticket, payload["customer_email"], payload["webhooks"]) == (
        "HD-7",
        False,
        False,
    )
    with pytest.raises(CommandError, match="A ticket reference is letters and digits"):
        call_command(
            "submit_resend", "chargebee", order.external_id, "--as", "alice", "--ticket", "a b"
        )


def test_the_command_refuses_with_the_rule_in_plain_words(sandbox, agent: User) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox)
    line = order.line_items.first()
    assert line is not None
    with pytest.raises(CommandError, match="At most"):
        call_command(
            "submit_resend",
            "chargebee",
            order.external_id,
            "--as",
            "alice",
            "--line",
            f"{line.external_id}=99",
        )
    for odd in ("²", "0", "-1", "99999999999999999999"):
        with pytest.raises(CommandError, match="use LINE_ID=QTY"):
            call_command(
                "submit_resend", "chargebee", order.external_id, "--as", "alice",
                "--line", f"{line.external_id}={odd}",
            )  # fmt: skip
    with pytest.raises(CommandError, match="not a Junction order id"):
        call_command("submit_resend", "junction", "not-a-uuid", "--as", "alice")
    with pytest.raises(CommandError, match="not an agent or manager"):
        call_command("submit_resend", "junction", "--as", "nobody")
    assert not ResendRequest.objects.exists()


def test_a_full_sync_shows_its_progress_page_by_page(sandbox) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("sync_orders", "--full", stdout=out)
    lines = out.getvalue().splitlines()
    junction_total = Order.objects.filter(account__provider="junction").count()
    chargebee_total = Order.objects.filter(account__provider="chargebee").count()
    assert junction_total > 200 and chargebee_total > 200  # three pages of 100 or more each

    junction = [line for line in lines if line.startswith("junction: page ")]
    assert junction[0].startswith(f"junction: page 1, 100 of {junction_total:,} orders read [")
    assert junction[-1].startswith(f"junction: page {len(junction)}, {junction_total:,} of ")
    assert f"[{'#' * 20}] 100%" in junction[-1]
    chargebee = [line for line in lines if line.startswith("chargebee: page ")]
    assert chargebee[0] == "chargebee: page 1, 100 orders read, 100 changed"  # no total given
    assert len(chargebee) == -(-chargebee_total // 100)
    assert lines[-2:] == [
        f"chargebee: {chargebee_total} orders read, {chargebee_total} changed",
        f"junction: {junction_total} orders read, {junction_total} changed",
    ]

    again = StringIO()
    call_command("sync_orders", stdout=again)  # incremental: only the summaries
    assert not [line for line in again.getvalue().splitlines() if ": page " in line]

    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    drawn = Terminal()
    call_command("sync_orders", "--full", "--provider", "junction", stdout=drawn)
    text = drawn.getvalue()  # one line redrawn in place, then the summary on its own line
    assert text.startswith("\rjunction: page 1, 100 of ")
    drawn_line, summary, _ = text.split("\n")
    assert drawn_line.count("\r") == -(-junction_total // 100) and "] 100%, " in drawn_line
    assert summary.startswith(f"junction: {junction_total} orders read, ")
