"""Provider accounts and where their secrets come from (always the environment, never the DB)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .models.accounts import Provider, ProviderAccount

DEFAULT_ACCOUNTS = {
    Provider.JUNCTION: ("junction", "Junction", "JUNCTION"),
    Provider.CHARGEBEE: ("chargebee", "Chargebee", "CHARGEBEE"),
    Provider.RETURNHELPER: ("returnhelper", "Return Helper", "RETURNHELPER"),
}
_SETTINGS_FOR = {
    Provider.JUNCTION: "JUNCTION",
    Provider.CHARGEBEE: "CHARGEBEE",
    Provider.RETURNHELPER: "RETURNHELPER",
}
# For an extra account with prefix P, its variables are P_<SUFFIX>.
_ENV_SUFFIXES = {
    Provider.JUNCTION: {"base_url": "BASE_URL", "api_key": "API_KEY"},
    Provider.CHARGEBEE: {"base_url": "BASE_URL", "api_key": "API_KEY"},
    Provider.RETURNHELPER: {
        "base_url": "BASE_URL",
        "public_base_url": "PUBLIC_BASE_URL",
        "api_key": "API_KEY",
        "api_token": "API_TOKEN",
    },
}


@dataclass(frozen=True)
class AccountConfig:
    account_code: str
    provider: str
    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def account_config(account: ProviderAccount) -> AccountConfig:
    """Base URL, credentials and options for an account, read from settings / the environment."""
    defaults: dict[str, Any] = dict(getattr(settings, _SETTINGS_FOR[Provider(account.provider)]))
    if account.env_prefix != DEFAULT_ACCOUNTS[Provider(account.provider)][2]:
        for key, suffix in _ENV_SUFFIXES[Provider(account.provider)].items():
            name = f"{account.env_prefix}_{suffix}"
            value = os.environ.get(name)
            if not value:
                raise ImproperlyConfigured(
                    f"Account {account.code} needs {name} in the environment."
                )
            defaults[key] = value.rstrip("/") if key.endswith("url") else value
    return AccountConfig(account.code, account.provider, defaults)


def env_variable_names(account: ProviderAccount) -> list[str]:
    """The environment variables an account's URL and credentials come from (for display)."""
    suffixes = _ENV_SUFFIXES.get(Provider(account.provider), {}).values()
    return [f"{account.env_prefix}_{suffix}" for suffix in suffixes]


def ensure_default_accounts(**_: object) -> None:
    """Create the one default account per provider (post_migrate; idempotent)."""
    for provider, (code, label, prefix) in DEFAULT_ACCOUNTS.items():
        ProviderAccount.objects.get_or_create(
            code=code,
            defaults={
                "provider": provider,
                "label": label,
                "env_prefix": prefix,
                "is_default": True,
            },
        )


def default_account(provider: str) -> ProviderAccount:
    account = ProviderAccount.objects.filter(provider=provider, is_default=True).first()
    if account is None:  # a flushed database (transactional tests); migrate creates them otherwise
        ensure_default_accounts()
        account = ProviderAccount.objects.get(provider=provider, is_default=True)
    return account
