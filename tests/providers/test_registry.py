"""The registry builds each provider's client from the account's settings."""

from __future__ import annotations

import pytest
from django.conf import settings

from resends.accounts import default_account
from resends.models import ProviderAccount
from resends.models.audit import ProviderCall
from resends.providers.base import Unsupported
from resends.providers.chargebee.client import ChargebeeClient
from resends.providers.chargebee.provider import RESEND_ORDER, ChargebeeAdapter
from resends.providers.junction.client import JunctionClient
from resends.providers.junction.provider import RESEND_EVENTS, JunctionAdapter
from resends.providers.registry import adapter_for, client_for, knows, webhooks_for
from resends.providers.returnhelper.client import ReturnHelperClient
from resends.providers.returnhelper.provider import (
    CANCEL_RESEND,
    CREATE_RESEND,
    ReturnHelperAdapter,
)
from resends.selectors.reference import country_options
from resends.services.sync import sync_account


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


@pytest.mark.django_db
def test_each_default_account_gets_its_providers_webhook_receiver() -> None:
    receivers = {
        provider: type(webhooks_for(default_account(provider))).__name__
        for provider in ("junction", "chargebee", "returnhelper")
    }
    assert receivers == {
        "junction": "JunctionWebhooks",
        "chargebee": "ChargebeeWebhooks",
        "returnhelper": "ReturnHelperWebhooks",
    }
    assert not knows("acme") and all(knows(provider) for provider in receivers)


@pytest.mark.django_db
def test_a_provider_without_a_thing_says_so_by_raising_unsupported() -> None:
    junction = adapter_for(default_account("junction"))
    returnhelper = adapter_for(default_account("returnhelper"))
    with pytest.raises(Unsupported):
        junction.countries()
    with pytest.raises(Unsupported):
        junction.service_types("11")
    with pytest.raises(Unsupported):
        next(iter(returnhelper.changed_orders(None)))
    # ... and the callers read that as "nothing to show" or "nothing to sync"
    assert country_options(default_account("junction")) is None
    assert sync_account(default_account("returnhelper")) is None
