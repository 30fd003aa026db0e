"""What a staff member chose for themselves: the time zone every page, the admin, the reports and
the CSV export show them times in. A user without a profile sees settings.STAFF_TIME_ZONE.

Times are stored in UTC whatever the zone; only what is shown and what is typed in changes."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA time zone this machine knows (zoneinfo.available_timezones), sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def validate_time_zone(value: str) -> None:
    if value not in time_zone_names():
        raise ValidationError(
            "%(value)s is not a time zone: pick one from the list (e.g. Europe/Berlin).",
            code="invalid_time_zone",
            params={"value": str(value)[:64]},
        )


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    time_zone = models.CharField(
        max_length=64,
        validators=[validate_time_zone],
        help_text="An IANA time zone (e.g. Europe/Berlin): pages, the admin, the reports and the "
        "CSV export show times in it.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "staff time zone"

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone}"
