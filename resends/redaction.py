"""Keep secrets out of logs, pages and the audit trail."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings

MASK = "***"
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "x-vital-api-key",
        "x-rr-apikey",
        "x-rr-apitoken",
        "cookie",
        "set-cookie",
        "returnhelper-signature",
        "svix-signature",
    }
)


def secret_values() -> Iterable[str]:
    return (value for value in getattr(settings, "SECRET_VALUES", ()) if len(value) >= 4)


def redact_text(text: str) -> str:
    for value in secret_values():
        if value in text:
            text = text.replace(value, MASK)
    return text


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {
        name: MASK if name.lower() in SENSITIVE_HEADERS else redact_text(str(value))
        for name, value in headers.items()
    }


def redact_value(value: Any) -> Any:
    """Redact secrets anywhere inside a JSON-like structure."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


class RedactSecretsFilter(logging.Filter):
    """Logging filter: replaces any configured secret value in the final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the log line
            return True
        cleaned = redact_text(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True
