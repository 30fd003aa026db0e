"""Assertions shared by the provider tests."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from resends.providers.base import Exchange, ProviderError


def exchange_text(exchange: Exchange | None) -> str:
    return "" if exchange is None else json.dumps(asdict(exchange))


def assert_no_secret(thing: ProviderError | Exchange | Any, *secrets: str) -> None:
    """Neither the error text nor the recorded exchange holds any of `secrets`."""
    texts = []
    if isinstance(thing, ProviderError):
        texts += [str(thing), thing.message, exchange_text(thing.exchange)]
    elif isinstance(thing, Exchange):
        texts.append(exchange_text(thing))
    else:
        texts.append(repr(thing))
    for secret in secrets:
        for text in texts:
            assert secret not in text
