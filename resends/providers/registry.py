"""Which client, adapter and webhook receiver serve a provider account. A new provider is one
package under providers/ and one line in PACKAGES."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resends.accounts import AccountConfig, account_config
from resends.models.accounts import Provider, ProviderAccount

from .base import ProviderAdapter, WebhookReceiver
from .chargebee.client import ChargebeeClient
from .chargebee.provider import ChargebeeAdapter
from .chargebee.webhooks import ChargebeeWebhooks
from .http import KeyedClient
from .junction.client import JunctionClient
from .junction.provider import JunctionAdapter
from .junction.webhooks import JunctionWebhooks
from .returnhelper.client import ReturnHelperClient
from .returnhelper.provider import ReturnHelperAdapter
from .returnhelper.webhooks import ReturnHelperWebhooks


@dataclass(frozen=True)
class ProviderPackage:
    client: Callable[[AccountConfig], KeyedClient]
    adapter: Callable[[Any], ProviderAdapter]  # takes the package's own client
    webhooks: Callable[[AccountConfig], WebhookReceiver]


PACKAGES: dict[str, ProviderPackage] = {
    Provider.JUNCTION: ProviderPackage(
        JunctionClient.from_config, JunctionAdapter, JunctionWebhooks.from_config
    ),
    Provider.CHARGEBEE: ProviderPackage(
        ChargebeeClient.from_config, ChargebeeAdapter, ChargebeeWebhooks.from_config
    ),
    Provider.RETURNHELPER: ProviderPackage(
        ReturnHelperClient.from_config, ReturnHelperAdapter, ReturnHelperWebhooks.from_config
    ),
}


def client_for(account: ProviderAccount) -> KeyedClient:
    """A client for the account, built from its settings / environment (account_config)."""
    return PACKAGES[account.provider].client(account_config(account))


def adapter_for(account: ProviderAccount) -> ProviderAdapter:
    """The entry point for the engine, the sync and the reference data: the account's adapter."""
    return PACKAGES[account.provider].adapter(client_for(account))


def webhooks_for(account: ProviderAccount) -> WebhookReceiver:
    """Verifies and reads the webhooks the account's provider sends us."""
    return PACKAGES[account.provider].webhooks(account_config(account))


def knows(provider: str) -> bool:
    return provider in PACKAGES
