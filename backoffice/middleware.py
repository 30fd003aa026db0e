"""Every web request gets an id: the caller's X-Request-ID when it is sane, a new one otherwise.
It is on every log line the request makes, on the tasks it queues, and in the response.
Every response also says which browser features the page may use (Permissions-Policy), and a
request carrying a NUL character in a parameter is refused (400) before any view reads it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseBase

from . import logs

HEADER = "X-Request-ID"


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        rid = logs.sane_request_id(request.headers.get(HEADER))
        # Left set until the response is closed (request_finished), not reset on return: a
        # streamed response (the CSV export) still logs under this request while it streams.
        logs.request_id.set(rid)
        request.request_id = rid  # type: ignore[attr-defined]
        response = self.get_response(request)
        response[HEADER] = rid
        return response


def _forget_request_id(**_: Any) -> None:
    logs.request_id.set(None)


request_finished.connect(_forget_request_id, dispatch_uid="backoffice.forget_request_id")


class PermissionsPolicyMiddleware:
    """`Permissions-Policy: camera=(), …` for each feature in settings.PERMISSIONS_POLICY."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.header = ", ".join(f"{feature}=()" for feature in settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.header)
        return response


class RefuseNulMiddleware:
    """400 for a query string or form field (name or value) that holds a NUL character.

    PostgreSQL refuses NUL in any text it is given, a WHERE clause included, so such a value
    reaching a search or a filter, ours or a third-party admin's, was a 500 there (and a silent
    success on SQLite). No field here can mean it. JSON bodies (the webhooks) are not form data
    and are left to their parsers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        params = [request.GET]
        if request.method == "POST" and request.content_type in FORM_TYPES:
            params.append(request.POST)
        for query in params:
            for name, values in query.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    return HttpResponseBadRequest(
                        "A NUL character cannot be part of any field.", content_type="text/plain"
                    )
        return self.get_response(request)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
