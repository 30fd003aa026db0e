"""Orders keep the resend orders the provider lists for them, so that "N of 5 used" can be derived
from facts that cannot double (engine/outcome.py count_resends). Existing Chargebee orders get the
ids from the raw copy they already hold; their count stays until the next sync or webhook."""

from django.db import migrations, models

BATCH = 2000


def backfill(apps, schema_editor):
    Order = apps.get_model("resends", "Order")
    changed = []
    for order in Order.objects.filter(raw__has_key="resent_orders").iterator(chunk_size=BATCH):
        links = order.raw.get("resent_orders")
        ids = [
            str(link["order_id"])
            for link in (links if isinstance(links, list) else [])
            if isinstance(link, dict) and link.get("order_id")
        ]
        if ids:
            order.resent_order_ids = ids
            changed.append(order)
        if len(changed) >= BATCH:
            Order.objects.bulk_update(changed, ["resent_order_ids"])
            changed = []
    Order.objects.bulk_update(changed, ["resent_order_ids"])


class Migration(migrations.Migration):
    dependencies = [
        ("resends", "0016_metrics_counts"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="resent_order_ids",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="The resend orders the provider lists for this one.",
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="resend_count",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Resends used: the provider's resent orders plus ours that succeeded and "
                "that it does not list yet (engine/outcome.py count_resends).",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
