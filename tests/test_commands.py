"""The scriptable side: sync the mirrors and submit resends from the command line, over the sandbox."""

from __future__ import annotations

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

    inventories = mirror_inventories(sandbox, 2)
    call_command(
        "submit_resend", "returnhelper", *[i.external_id for i in inventories], "--as", "alice",
        "--country", "usa", "--service-type", "usps", "--name", "Ada", "--street1", "1 Main St", "--city", "Newark",
    )  # fmt: skip
    assert ProviderCall.objects.filter(operation="returnhelper.create_resend").count() == 1


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
