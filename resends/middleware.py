"""Each request in the zone of whoever makes it (resends.StaffProfile, or STAFF_TIME_ZONE): the
console's pages, the admin's lists and forms, the reports' days and the times typed into forms
(Django reads a naive input in the current zone). Storage stays UTC.

Runs after AuthenticationMiddleware: one small query per signed-in request. The zone stays active
until the response is closed (request_finished), as a streamed response is rendered after the
view returns (the CSV export takes its zone when it starts, all the same)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from .selectors.staff import time_zone_of


class StaffTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        timezone.activate(time_zone_of(getattr(request, "user", None)))
        return self.get_response(request)


def _back_to_the_default(**_: Any) -> None:
    timezone.deactivate()


request_finished.connect(_back_to_the_default, dispatch_uid="resends.time_zone_reset")
