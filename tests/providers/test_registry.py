"""The registry builds each provider's client from the account's settings."""

from __future__ import annotations

import pytest
from django.conf import settings

from resends.accounts import default_account
from resends.models import ProviderAccount
from resends.models.audit import ProviderCall
from resends.providers.chargebee.client import ChargebeeClient
from resends.providers.chargebee.provider import RESEND_ORDER, ChargebeeAdapter
from resends.providers.junction.client import JunctionClient
from resends.providers.junction.provider import RESEND_EVENTS, JunctionAdapter
from resends.providers.registry import adapter_for, client_for
from resends.providers.returnhelper.client import ReturnHelperClient
from resends.providers.returnhelper.provider import (
    CANCEL_RESEND,
    CREATE_RESEND,
    ReturnHelperAdapter,
)


@pytest.mark.django_db
def test_each_default_account_gets_its_providers_adapter_and_client() -> None:
    junction = default_account("junction")
    chargebee = default_account("chargebee")
    returnhelper = default_account("returnhelper")

    assert isinstance(adapter_for(junction), JunctionAdapter)
    assert isinstance(adapter_for(chargebee), ChargebeeAdapter)
    assert isinstance(adapter_for(returnhelper), ReturnHelperAdapter)
    assert isinstance(client_for(junction), JunctionClient)
    assert isinstance(client_for(chargebee), ChargebeeClient)
    rh = client_for(returnhelper)
    assert isinstance(rh, ReturnHelperClient)
    assert rh.base_url == str(settings.RETURNHELPER["base_url"]).rstrip("/")
    assert rh.public_base_url == str(settings.RETURNHELPER["public_base_url"]).rstrip("/")


@pytest.mark.django_db
def test_an_extra_account_reads_its_own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUNCTION_EU_BASE_URL", "https://api.sandbox.eu.junction.com/")
    monkeypatch.setenv("JUNCTION_EU_API_KEY", "sk_eu_extra_account_key")
    account = ProviderAccount.objects.create(
        provider="junction", code="junction-eu", label="Junction EU", env_prefix="JUNCTION_EU"
    )

    client = client_for(account)

    assert isinstance(client, JunctionClient)
    assert client.base_url == "https://api.sandbox.eu.junction.com"
    assert "sk_eu_extra_account_key" not in repr(client)


def test_adapter_operations_are_the_engines_operation_names() -> None:
    assert {RESEND_EVENTS, RESEND_ORDER, CREATE_RESEND, CANCEL_RESEND} == set(
        ProviderCall.Operation.values
    )
