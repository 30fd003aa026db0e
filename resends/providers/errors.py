"""Helpers the clients share to turn an HTTP answer into a ProviderError."""

from __future__ import annotations

import requests

from .base import ErrorClass, Exchange, ProviderError
from .http import SAFE_METHODS, retry_after_from


def error_class_for_status(status: int, method: str) -> ErrorClass:
    """The default reading of an HTTP error status; each client refines it for its provider.

    408 and 429 mean the provider did not process the request: TRANSIENT, nothing was applied.
    A 5xx on a read is TRANSIENT too. A 5xx on a state-changing request is UNKNOWN: a gateway's
    502 or 504 can come after the provider applied it, so the engine reconciles before anything
    is sent again (a same-key repeat inside an idempotency window is that reconcile, so this
    costs nothing while the key is honoured, and is what keeps a late retry from being blind).
    Any other 4xx is the provider saying no.
    """
    if status in (408, 429):
        return ErrorClass.TRANSIENT
    if status >= 500:
        return ErrorClass.TRANSIENT if method.upper() in SAFE_METHODS else ErrorClass.UNKNOWN
    return ErrorClass.PERMANENT


def method_of(response: requests.Response) -> str:
    return (response.request.method if response.request is not None else None) or "GET"


def server_trouble(label: str, status: int, method: str) -> str:
    """What an agent reads about a 5xx: for a state-changing request, that it may have applied."""
    if method.upper() in SAFE_METHODS:
        return f"{label} had a temporary problem (HTTP {status}); try again later."
    return (
        f"{label} answered HTTP {status} (a temporary problem on its side), which can come after "
        "the request was applied; it is checked with the provider before anything is sent again."
    )


def http_error(
    message: str,
    *,
    response: requests.Response,
    exchange: Exchange,
    error_class: ErrorClass | None = None,
    code: str = "",
    status: int | None = None,
) -> ProviderError:
    """A ProviderError for an HTTP answer, with Retry-After read unless it is a refusal.

    `status` overrides the HTTP status where the provider's own envelope carries the real one.
    """
    status = response.status_code if status is None else status
    resolved = error_class or error_class_for_status(status, method_of(response))
    retry_after = (
        retry_after_from(response.headers) if resolved is not ErrorClass.PERMANENT else None
    )
    return ProviderError(
        message,
        error_class=resolved,
        code=code,
        status=status,
        retry_after=retry_after,
        exchange=exchange,
    )


def sentence(text: str) -> str:
    """`text` ending in exactly one full stop (provider messages sometimes bring their own)."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def invalid_request(message: str, code: str = "invalid_request") -> ProviderError:
    """Refused before anything was sent: our own check of the request failed."""
    return ProviderError(message, error_class=ErrorClass.PERMANENT, code=code)


def unreadable_answer(
    label: str, method: str, response: requests.Response, exchange: Exchange
) -> ProviderError:
    """A 2xx whose body we cannot read.

    For a read that is merely worth repeating (TRANSIENT). For a POST the provider acted, but we
    do not know the result (UNKNOWN: reconcile).
    """
    if method.upper() in SAFE_METHODS:
        return ProviderError(
            f"{label} sent an answer that could not be read.",
            error_class=ErrorClass.TRANSIENT,
            code="unreadable_response",
            status=response.status_code,
            exchange=exchange,
        )
    return ProviderError(
        f"{label} accepted the request (HTTP {response.status_code}) but its answer could not be "
        "read; it has probably been applied.",
        error_class=ErrorClass.UNKNOWN,
        code="unreadable_response",
        status=response.status_code,
        exchange=exchange,
    )
