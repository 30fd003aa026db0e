"""The mirrors: orders with their lines and raw data, found by indexed searches."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from resends.models import Order, ResendRequest, ReturnInventory

from .helpers import Trail, admin_url, search, signed_in


def test_an_order_shows_its_lines_and_its_raw_data_pretty(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    response = client.get(admin_url(Order, "change", trail.order.pk))
    content = response.content.decode()
    assert "li_1" in content
    assert "&quot;shipping_address&quot;: {\n" in content
    assert "?q=cb_ord_1001" in content  # link to its resends


def test_orders_are_found_by_id_email_or_name_prefix(
    client: Client, manager: User, trail: Trail, two_requests: ResendRequest
) -> None:
    signed_in(client, manager)
    assert search(client, Order, "cb_ord_2002") == [Order.objects.get(external_id="cb_ord_2002")]
    assert search(client, Order, "Ada@example.com") == [trail.order]
    assert search(client, Order, "ada lov") == [trail.order]
    assert search(client, Order, "Lovelace") == []


def test_inventories_are_found_by_id_or_rma(client: Client, manager: User, trail: Trail) -> None:
    signed_in(client, manager)
    assert search(client, ReturnInventory, "inv777") == [trail.inventory]
    assert search(client, ReturnInventory, "RMA-777") == [trail.inventory]
