"""Reference data for resend forms (destination countries, shipping services per warehouse), read
through the account's adapter and cached briefly: it changes rarely.

Each function returns None when the list cannot be loaded right now (the provider is down, or has
no such list), so a form can say so instead of failing.
"""

from __future__ import annotations

from django.core.cache import cache

from ..models import ProviderAccount
from ..providers.base import ProviderError, ServiceType, Unsupported
from ..providers.registry import adapter_for

TTL_SECONDS = 600


def country_options(account: ProviderAccount) -> list[tuple[str, str]] | None:
    """(code, name) for each country a resend can ship to, by name."""
    key = f"reference:countries:{account.pk}"
    options = cache.get(key)
    if options is None:
        try:
            countries = adapter_for(account).countries()
        except (ProviderError, Unsupported):
            return None
        options = sorted(
            ((c.code, c.name or c.code.upper()) for c in countries), key=lambda o: o[1]
        )
        cache.set(key, options, TTL_SECONDS)
    return list(options)


def country_codes(account: ProviderAccount) -> list[str] | None:
    """The codes of the countries a resend can ship to."""
    options = country_options(account)
    return None if options is None else [code for code, _ in options]


def service_codes(account: ProviderAccount, warehouse_id: str, country: str) -> list[str] | None:
    """Service type codes offered from this warehouse to this country."""
    options = service_options(account, warehouse_id, country)
    return None if options is None else [code for code, _ in options]


def service_options(
    account: ProviderAccount, warehouse_id: str, country: str
) -> list[tuple[str, str]] | None:
    """(code, name) of the service types offered from this warehouse to this country."""
    types = _service_types(account, warehouse_id)
    if types is None:
        return None
    return [(t.code, t.name or t.code) for t in types if t.serves(warehouse_id, country)]


def warehouse_service_options(
    account: ProviderAccount, warehouse_id: str
) -> list[tuple[str, str]] | None:
    """(code, name) of the service types this warehouse offers to any country."""
    types = _service_types(account, warehouse_id)
    if types is None:
        return None
    offered = {t.code: t.name or t.code for t in types if t.ships_from(warehouse_id)}
    return list(offered.items())


def _service_types(account: ProviderAccount, warehouse_id: str) -> tuple[ServiceType, ...] | None:
    key = f"reference:services:{account.pk}:{warehouse_id}"
    types = cache.get(key)
    if types is None:
        try:
            types = adapter_for(account).service_types(warehouse_id)
        except (ProviderError, Unsupported):
            return None
        cache.set(key, types, TTL_SECONDS)
    return tuple(types)
