"""Reference data the rules need from Return Helper, cached briefly (it changes rarely)."""

from __future__ import annotations

from django.core.cache import cache

from ..models import ProviderAccount
from ..providers.base import ProviderError
from ..providers.registry import client_for
from ..providers.returnhelper.client import ReturnHelperClient

TTL_SECONDS = 600


def _client(account: ProviderAccount) -> ReturnHelperClient:
    client = client_for(account)
    assert isinstance(client, ReturnHelperClient)
    return client


def returnhelper_countries(account: ProviderAccount) -> list[str] | None:
    """ISO3 codes Return Helper ships to, or None when they cannot be loaded right now."""
    key = f"rh:countries:{account.pk}"
    codes = cache.get(key)
    if codes is None:
        try:
            codes = sorted(country.code for country in _client(account).countries())
        except ProviderError:
            return None
        cache.set(key, codes, TTL_SECONDS)
    return list(codes)


def returnhelper_service_types(
    account: ProviderAccount, warehouse_id: str, country: str
) -> list[str] | None:
    """Service type codes offered from this warehouse to this country, or None if unavailable."""
    key = f"rh:services:{account.pk}:{warehouse_id}"
    types = cache.get(key)
    if types is None:
        try:
            types = _client(account).service_types(int(warehouse_id))
        except (ProviderError, ValueError):
            return None
        cache.set(key, types, TTL_SECONDS)
    return [t.code for t in types if t.serves(int(warehouse_id), country)]
