"""What every page's template may use: the zone its times are shown in (the header says it)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone


def time_zone(request: HttpRequest) -> dict[str, str]:
    return {"time_zone_name": timezone.get_current_timezone_name()}
