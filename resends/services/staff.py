"""A staff member's own settings: their time zone."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from ..models import StaffProfile
from ..models.staff import validate_time_zone


def staff_time_zone_set(*, user: User, time_zone: str) -> StaffProfile:
    """Store `user`'s time zone (a name from models.staff.time_zone_names; ValidationError else)."""
    validate_time_zone(time_zone)
    with transaction.atomic():
        profile, _ = StaffProfile.objects.update_or_create(
            user=user, defaults={"time_zone": time_zone}
        )
    return profile
