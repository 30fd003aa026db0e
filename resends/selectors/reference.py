"""Reference data the rules need from Return Helper, cached briefly (it changes rarely)."""

from __future__ import annotations

from django.core.cache import cache

from ..models import ProviderAccount
from ..providers.base import ProviderError
from ..providers.registry import client_for
from ..providers.returnhelper.client import ReturnHelperClient, ServiceType

TTL_SECONDS = 600


def _client(account: ProviderAccount) -> ReturnHelperClient:
    client = client_for(account)
    assert isinstance(client, ReturnHelperClient)
    return client


def returnhelper_country_options(account: ProviderAccount) -> list[tuple[str, str]] | None:
    """(ISO3 code, name) for each country Return Helper ships to, by name; None when the list
    cannot be loaded right now."""
    key = f"rh:countries:{account.pk}"
    options = cache.get(key)
    if options is None:
        try:
            countries = _client(account).countries()
        except ProviderError:
            return None
        options = sorted(
            ((c.code, c.name or c.code.upper()) for c in countries), key=lambda o: o[1]
        )
        cache.set(key, options, TTL_SECONDS)
    return list(options)


def returnhelper_countries(account: ProviderAccount) -> list[str] | None:
    """ISO3 codes Return Helper ships to, or None when they cannot be loaded right now."""
    options = returnhelper_country_options(account)
    return None if options is None else [code for code, _ in options]


def returnhelper_service_types(
    account: ProviderAccount, warehouse_id: str, country: str
) -> list[str] | None:
    """Service type codes offered from this warehouse to this country, or None if unavailable."""
    options = returnhelper_service_options(account, warehouse_id, country)
    return None if options is None else [code for code, _ in options]


def returnhelper_service_options(
    account: ProviderAccount, warehouse_id: str, country: str
) -> list[tuple[str, str]] | None:
    """(code, name) of the service types offered from this warehouse to this country."""
    types = _service_types(account, warehouse_id)
    if types is None:
        return None
    return [(t.code, t.name or t.code) for t in types if t.serves(int(warehouse_id), country)]


def returnhelper_warehouse_service_options(
    account: ProviderAccount, warehouse_id: str
) -> list[tuple[str, str]] | None:
    """(code, name) of the service types this warehouse offers to any country."""
    types = _service_types(account, warehouse_id)
    if types is None:
        return None
    wid = int(warehouse_id)
    offered = {
        t.code: t.name or t.code
        for t in types
        if any(route.warehouse_id in (None, wid) for route in t.routes)
    }
    return list(offered.items())


def _service_types(account: ProviderAccount, warehouse_id: str) -> tuple[ServiceType, ...] | None:
    key = f"rh:services:{account.pk}:{warehouse_id}"
    types = cache.get(key)
    if types is None:
        try:
            types = _client(account).service_types(int(warehouse_id))
        except (ProviderError, ValueError):
            return None
        cache.set(key, types, TTL_SECONDS)
    return tuple(types)
