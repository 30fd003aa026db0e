"""Data migrations carry existing rows over."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("resends", "0016_metrics_counts")]
AFTER = [("resends", "0017_order_resent_order_ids")]


@pytest.mark.django_db(transaction=True)
def test_orders_get_the_resend_ids_their_raw_copy_lists() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    account = old.get_model("resends", "ProviderAccount").objects.create(
        provider="chargebee", code="cb-migrate", label="CB", env_prefix="CB_MIGRATE"
    )
    Order = old.get_model("resends", "Order")
    links = [{"order_id": "ord_r1"}, {"order_id": "ord_r2", "reason": "Damaged"}, {"amount": 5}]
    Order.objects.create(
        account=account, external_id="ord_1", raw={"resent_orders": links}, resend_count=3
    )
    Order.objects.create(account=account, external_id="ord_2", raw={"id": "ord_2"})

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    new = executor.loader.project_state(AFTER).apps.get_model("resends", "Order")
    rows = dict(new.objects.values_list("external_id", "resent_order_ids"))
    count = new.objects.get(external_id="ord_1").resend_count
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to today for the next tests
    assert rows == {"ord_1": ["ord_r1", "ord_r2"], "ord_2": []}
    assert count == 3  # recounted at the next sync or webhook
