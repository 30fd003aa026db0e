"""Reading times written by people, providers and stored filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from .inputs import parse_unix_seconds, within_dates


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 strings (with Z or an offset) or Unix seconds; naive values are taken as UTC.

    None for anything else, including a time outside inputs.EARLIEST..LATEST (year 99999, a huge
    epoch, NaN), so a caller never meets the OverflowError or ValueError Python raises for them.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return parse_unix_seconds(value)
    try:
        parsed = parse_datetime(str(value).replace("Z", "+00:00"))
    except ValueError:  # well formed, but no such moment: 2024-02-30, hour 25
        return None
    if parsed is None:
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed if within_dates(parsed) else None


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, as the providers are sent times (and as fingerprints hold them)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
