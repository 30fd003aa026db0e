"""Which adapter and client serve a provider account. A new provider is one entry here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resends.accounts import AccountConfig, account_config
from resends.models.accounts import Provider, ProviderAccount

from .base import ProviderAdapter
from .chargebee.client import ChargebeeClient
from .chargebee.provider import ChargebeeAdapter
from .junction.client import JunctionClient
from .junction.provider import JunctionAdapter
from .returnhelper.client import ReturnHelperClient
from .returnhelper.provider import ReturnHelperAdapter

Client = JunctionClient | ChargebeeClient | ReturnHelperClient

_CLIENTS: dict[str, Callable[[AccountConfig], Client]] = {
    Provider.JUNCTION: JunctionClient.from_config,
    Provider.CHARGEBEE: ChargebeeClient.from_config,
    Provider.RETURNHELPER: ReturnHelperClient.from_config,
}
_ADAPTERS: dict[str, Callable[[Any], ProviderAdapter]] = {
    Provider.JUNCTION: JunctionAdapter,
    Provider.CHARGEBEE: ChargebeeAdapter,
    Provider.RETURNHELPER: ReturnHelperAdapter,
}


def client_for(account: ProviderAccount) -> Client:
    """A client for the account, built from its settings / environment (account_config)."""
    return _CLIENTS[account.provider](account_config(account))


def adapter_for(account: ProviderAccount) -> ProviderAdapter:
    """The engine's entry point: the adapter for the account's provider."""
    return _ADAPTERS[account.provider](client_for(account))
