"""Errors to Sentry, when SENTRY_DSN is set: web requests and Celery tasks, with every secret
masked before an event or a breadcrumb leaves the process."""

from __future__ import annotations

from typing import Any

from resends.redaction import MASK, SENSITIVE_HEADERS, redact_value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """before_send: configured secret values masked anywhere in the event (messages, exception
    values, local variables, breadcrumbs, request data) and credential headers blanked."""
    cleaned: dict[str, Any] = redact_value(event)
    request = cleaned.get("request")
    if isinstance(request, dict):
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: MASK if name.lower() in SENSITIVE_HEADERS else value
                for name, value in headers.items()
            }
        if "cookies" in request:
            request["cookies"] = MASK
    return cleaned


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    cleaned: dict[str, Any] = redact_value(crumb)
    return cleaned


def init(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,  # type: ignore[arg-type]
    )
