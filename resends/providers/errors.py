"""Helpers the clients share to turn an HTTP answer into a ProviderError."""

from __future__ import annotations

import requests

from .base import ErrorClass, Exchange, ProviderError
from .http import SAFE_METHODS, retry_after_from


def error_class_for_status(status: int) -> ErrorClass:
    """The default reading of an HTTP error status; each client refines it for its provider.

    408 and 429 mean the provider did not process the request, and 5xx is treated as "try again"
    because every state-changing call we make carries an idempotency key (Chargebee, Return Helper)
    or is harmless to repeat (Junction). Any other 4xx is the provider saying no.
    """
    if status in (408, 429) or status >= 500:
        return ErrorClass.TRANSIENT
    return ErrorClass.PERMANENT


def http_error(
    message: str,
    *,
    response: requests.Response,
    exchange: Exchange,
    error_class: ErrorClass | None = None,
    code: str = "",
    status: int | None = None,
) -> ProviderError:
    """A ProviderError for an HTTP answer, with Retry-After read for the transient ones.

    `status` overrides the HTTP status where the provider's own envelope carries the real one.
    """
    status = response.status_code if status is None else status
    resolved = error_class or error_class_for_status(status)
    retry_after = retry_after_from(response.headers) if resolved is ErrorClass.TRANSIENT else None
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
