"""Webhook endpoints, one URL per provider, dispatched through the provider registry.

401 for a bad signature, 400 for a body the provider's package cannot read; both record nothing.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..accounts import default_account
from ..providers import registry
from ..providers.base import InboundRequest, MalformedEvent
from ..services.webhooks import EventNotApplied, receive_event

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def receive(request: HttpRequest, provider: str) -> JsonResponse:
    if not registry.knows(provider):
        raise Http404("no such provider")
    account = default_account(provider)
    receiver = registry.webhooks_for(account)
    inbound = InboundRequest(
        url=settings.SITE_URL + request.get_full_path(),
        headers=request.headers,
        body=request.body,
    )
    problem = receiver.verify(inbound)
    if problem:
        log.warning("%s webhook refused: %s", provider, problem)
        return JsonResponse({"error": "unauthorized"}, status=401)
    try:
        event = receiver.parse(inbound.body)
    except MalformedEvent as exc:
        log.warning("%s webhook malformed: %s", provider, exc)
        return JsonResponse({"error": f"malformed event: {exc}"[:300]}, status=400)
    try:
        outcome = receive_event(account=account, event=event)
    except EventNotApplied as exc:
        log.error("%s webhook %s could not be applied: %s", provider, event.dedupe_key, exc)
        return JsonResponse({"error": "the event cannot be applied as sent"}, status=422)
    return JsonResponse({"ok": True, "outcome": outcome})
