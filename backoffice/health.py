"""Probes for load balancers and orchestrators: no sign-in, exempt from the HTTPS redirect
(settings.SECURE_REDIRECT_EXEMPT). The checks are in backoffice/readiness.py."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import readiness

log = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. No database, no broker."""
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every check holds, 503 naming what is down."""
    results = readiness.run()
    down = [name for name, check in results.items() if not check.ok]
    body = {
        "status": "down" if down else "ok",
        "down": down,
        "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in results.items()},
    }
    response = JsonResponse(body, status=503 if down else 200)
    if down:
        log.warning("not ready: %s", "; ".join(f"{name}: {results[name].detail}" for name in down))
        # Django would log each failing probe as a server error (and an error tracker would
        # count one per probe): the warning above says it instead.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response
