"""A staff member's time zone: theirs if they chose one, else settings.STAFF_TIME_ZONE."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings

from ..models import StaffProfile
from ..models.staff import time_zone_names


def default_time_zone_name() -> str:
    return str(settings.STAFF_TIME_ZONE)


def time_zone_name_of(user: Any) -> str:
    """The zone `user` sees times in (one query; the default for anyone signed out or without a
    profile, and for a stored name this machine no longer knows)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return default_time_zone_name()
    name = StaffProfile.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first()
    return name if name in time_zone_names() else default_time_zone_name()


def time_zone_of(user: Any) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(time_zone_name_of(user))
