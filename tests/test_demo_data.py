from __future__ import annotations

from django.contrib.auth.models import User
from django.core.management import call_command

from resends.models import LineItem, Order, ReturnInventory
from resends.roles import can_audit, can_use_console


def test_demo_data_is_realistic_and_loading_twice_changes_nothing(db: None, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("load_demo_data", force=True)
    counts = (Order.objects.count(), LineItem.objects.count(), ReturnInventory.objects.count())
    call_command("load_demo_data", force=True)
    assert (
        Order.objects.count(),
        LineItem.objects.count(),
        ReturnInventory.objects.count(),
    ) == counts

    assert Order.objects.count() >= 500
    for provider in ("junction", "chargebee"):
        assert Order.objects.filter(account__provider=provider).count() >= 200
    chargebee = Order.objects.filter(account__provider="chargebee")
    assert set(chargebee.values_list("resend_count", flat=True)) >= {0, 1, 2, 3, 4, 5}
    assert chargebee.filter(line_items__isnull=False).distinct().count() == chargebee.count()
    inventories = ReturnInventory.objects.all()
    assert set(inventories.values_list("warehouse_id", flat=True)) == {"11", "22"}
    eligible = inventories.filter(handling_code="ohd", in_stock=True, pending_vas=False)
    assert 0 < eligible.count() < inventories.count()

    agent, manager = User.objects.get(username="agent"), User.objects.get(username="manager")
    assert can_use_console(agent) and not can_audit(agent)
    assert can_use_console(manager) and can_audit(manager) and manager.is_staff
    printed = capsys.readouterr().out
    assert "agent / agent-demo-password" in printed
