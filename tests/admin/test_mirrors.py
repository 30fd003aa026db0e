"""The mirrors: orders with their lines and raw data, found by indexed searches."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client

from resends.models import LineItem, Order, ResendRequest, ReturnInventory

from .helpers import Trail, admin_url, search, signed_in


@pytest.mark.parametrize("model", [Order, LineItem, ReturnInventory])
@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_mirrors_are_read_only_for_everyone(
    client: Client, request: pytest.FixtureRequest, who: str, model: type[Model], trail: Trail
) -> None:
    """They are copies of what the providers hold, and the rules read them: nobody edits them."""
    signed_in(client, request.getfixturevalue(who))
    row = trail.instance(model)
    before = model._default_manager.values().get(pk=row.pk)

    assert client.get(admin_url(model, "add")).status_code == 403
    assert client.post(admin_url(model, "add"), {}).status_code == 403
    assert client.get(admin_url(model, "delete", row.pk)).status_code == 403
    assert client.post(admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    edit = {"customer_name": "Edited", "description": "Edited", "quantity": "9", "rma": "X"}
    assert client.post(admin_url(model, "change", row.pk), edit).status_code == 403

    page = client.get(admin_url(model, "change", row.pk))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    changelist = client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request) == {}
    assert model._default_manager.values().get(pk=row.pk) == before


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
