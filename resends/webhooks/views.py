"""Webhook endpoints: 401 for a bad signature, 400 for a body we cannot read; both record nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..accounts import default_account
from ..models import Provider
from . import handlers, verify

log = logging.getLogger(__name__)


def _receive(
    request: HttpRequest,
    provider: str,
    check: Callable[[HttpRequest], str | None],
    handle: Callable[[Any, dict[str, Any]], str],
) -> JsonResponse:
    problem = check(request)
    if problem:
        log.warning("%s webhook refused: %s", provider, problem)
        return JsonResponse({"error": "unauthorized"}, status=401)
    try:
        payload = json.loads(request.body)
        outcome = handle(default_account(provider), payload)
    except (ValueError, handlers.MalformedEvent) as exc:
        log.warning("%s webhook malformed: %s", provider, exc)
        return JsonResponse({"error": f"malformed event: {exc}"[:300]}, status=400)
    return JsonResponse({"ok": True, "outcome": outcome})


@csrf_exempt
@require_POST
def returnhelper(request: HttpRequest) -> JsonResponse:
    config = settings.RETURNHELPER
    return _receive(
        request,
        Provider.RETURNHELPER,
        lambda r: verify.verify_returnhelper(
            r,
            signing_key_b64=config["webhook_signing_key"],
            endpoint_url=settings.SITE_URL + r.get_full_path(),
        ),
        handlers.handle_returnhelper,
    )


@csrf_exempt
@require_POST
def chargebee(request: HttpRequest) -> JsonResponse:
    config = settings.CHARGEBEE
    return _receive(
        request,
        Provider.CHARGEBEE,
        lambda r: verify.verify_basic_auth(
            r, username=config["webhook_username"], password=config["webhook_password"]
        ),
        handlers.handle_chargebee,
    )


@csrf_exempt
@require_POST
def junction(request: HttpRequest) -> JsonResponse:
    return _receive(
        request,
        Provider.JUNCTION,
        lambda r: verify.verify_svix(r, secret=settings.JUNCTION["webhook_secret"]),
        handlers.handle_junction,
    )
