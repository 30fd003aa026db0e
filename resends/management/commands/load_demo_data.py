"""Load the demo dataset (the same one the provider sandbox serves) and the demo users."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from resends.accounts import default_account
from resends.models import Order, Provider
from resends.providers.chargebee import mirror as chargebee_mirror
from resends.providers.junction import mirror as junction_mirror
from resends.providers.returnhelper import mirror as returnhelper_mirror
from resends.roles import AGENTS, MANAGERS
from resends.services.mirrors import upsert_inventory, upsert_order

DEMO_USERS = (
    ("agent", "agent-demo-password", AGENTS, False),
    ("manager", "manager-demo-password", MANAGERS, True),
)


class Command(BaseCommand):
    help = (
        "Load demo orders, line items and return inventories (the provider sandbox's dataset) "
        "and create a demo agent and manager. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=42, help="Dataset seed (the sandbox's too)."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Allow running with DEBUG off (never in production).",
        )

    def handle(self, *args: Any, seed: int, force: bool, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("Demo data is for development; pass --force if you really mean it.")
        from sandbox.dataset import build_dataset

        data = build_dataset(seed=seed)
        junction = default_account(Provider.JUNCTION)
        chargebee = default_account(Provider.CHARGEBEE)
        returnhelper = default_account(Provider.RETURNHELPER)
        with transaction.atomic():
            for raw in data.junction_orders:
                upsert_order(junction, junction_mirror.order_record_from_json(raw))
            for raw in data.chargebee_orders:
                upsert_order(chargebee, chargebee_mirror.order_record_from_json(raw))
            orders = dict(Order.objects.filter(account=chargebee).values_list("external_id", "pk"))
            for raw in data.returnhelper_inventories:
                order_pk = orders.get(raw.get("orderRef") or "")
                inventory, _ = upsert_inventory(
                    returnhelper, returnhelper_mirror.inventory_record_from_json(raw)
                )
                if order_pk and inventory.order_id != order_pk:
                    inventory.order_id = order_pk
                    inventory.save(update_fields=["order"])
            if not returnhelper.label_url_template:
                # The sandbox prints the labels its resends make (a warehouse portal would).
                returnhelper.label_url_template = (
                    f"{settings.SANDBOX_URL}/returnhelper/labels/{{id}}"
                )
                returnhelper.save(update_fields=["label_url_template"])
            for username, password, group, staff in DEMO_USERS:
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={"email": f"{username}@demo.invalid", "is_staff": staff},
                )
                if created:
                    user.set_password(password)
                    user.save()
                user.groups.add(Group.objects.get(name=group))
        self.stdout.write(
            f"Demo data: {len(data.junction_orders)} Junction orders, "
            f"{len(data.chargebee_orders)} Chargebee orders, "
            f"{len(data.returnhelper_inventories)} Return Helper inventories."
        )
        for username, password, group, _ in DEMO_USERS:
            self.stdout.write(f"  {group:<17} sign in as {username} / {password}")
