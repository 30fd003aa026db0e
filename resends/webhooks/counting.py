"""Webhooks received and refused, per provider, for /metrics (resends_webhooks_*_total).

A refused webhook is stored nowhere else, so the count is kept where every web process adds to it
(resends/counters.py). Counted from the answer the endpoint gave, whatever its reason."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from .. import counters
from ..providers import registry

View = Callable[[HttpRequest, str], HttpResponse]
NOT_A_WEBHOOK = (404, 405)  # no such provider, not a POST


def counted(view: View) -> View:
    @wraps(view)
    def receive(request: HttpRequest, provider: str) -> HttpResponse:
        response = view(request, provider)
        status = response.status_code
        if not registry.knows(provider):  # the label stays one of the registry's names
            return response
        if 200 <= status < 300:
            counters.add(counters.WEBHOOKS_RECEIVED, provider=provider)
        elif 400 <= status < 500 and status not in NOT_A_WEBHOOK:
            counters.add(counters.WEBHOOKS_REJECTED, provider=provider, status=str(status))
        return response

    return receive
