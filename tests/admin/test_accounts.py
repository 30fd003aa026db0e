"""Provider accounts: superusers edit them, nobody deletes one."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from resends.models import ProviderAccount

from ..factories import AccountFactory
from .helpers import admin_url, signed_in


def test_only_superusers_edit_accounts_and_nobody_deletes_one(
    client: Client, manager: User, superuser: User
) -> None:
    account = AccountFactory.create(code="junction")
    signed_in(client, manager)
    assert client.get(admin_url(ProviderAccount, "add")).status_code == 403
    response = client.get(admin_url(ProviderAccount, "change", account.pk))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content

    signed_in(client, superuser)
    assert client.get(admin_url(ProviderAccount, "add")).status_code == 200
    response = client.get(admin_url(ProviderAccount, "change", account.pk))
    assert b'name="_save"' in response.content
    assert b"JUNCTION_API_KEY" in response.content  # where its secret comes from, never the value
    assert client.get(admin_url(ProviderAccount, "delete", account.pk)).status_code == 403
