"""Scheduled replays: each tick of a schedule makes one ordinary, audited bulk job.

Managers create the schedule in the admin (django-celery-beat, database scheduler) with the task
`resends.tasks.run_scheduled_replay` and keyword arguments such as

    {"kind": "junction_window", "account": "junction", "lookback_hours": 24, "owner": "manager"}
    {"kind": "returnhelper_inventories", "account": "returnhelper", "warehouse": "11",
     "service_type": "usps", "lookback_hours": 24, "owner": "manager"}
    {"saved_filter": "Warehouse 11 returns", "service_type": "usps", "owner": "manager"}

A run is keyed by (schedule, slot), the tick's time floored to `slot_minutes`, so two ticks for one
slot (a restarted or doubled beat) make one job; a run whose previous one is still going is
recorded as skipped instead of overlapping it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import rules
from ..models import BulkJob, BulkKind, BulkState, ProviderAccount
from ..rules import RuleViolation
from ..selectors import bulk_selection
from . import bulk_jobs

SYSTEM_USERNAME = "scheduler"


def slot_of(moment: datetime, slot_minutes: int) -> datetime:
    minutes = int(moment.timestamp() // 60)
    return datetime.fromtimestamp((minutes - minutes % slot_minutes) * 60, tz=moment.tzinfo)


def _owner(username: str) -> Any:
    User = get_user_model()
    if username:
        return User.objects.get(username=username)
    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save()
    return user


def run_schedule(
    name: str,
    *,
    kind: str = "",
    account: str = "",
    saved_filter: str = "",
    lookback_hours: float = 24,
    slot_minutes: int = 60,
    dry_run: bool = False,
    owner: str = "",
    reason_code: str = "",
    note: str = "",
    status: str = "",
    warehouse: str = "",
    service_type: str = "",
    now: datetime | None = None,
) -> tuple[BulkJob, bool]:
    """(job, created) for this schedule's current slot. Return Helper schedules
    (returnhelper_inventories) name the `warehouse` and the `service_type`. A schedule naming a
    `saved_filter` runs that filter (its kind and account unless given), with the filter's time
    range replaced by the slot's lookback window."""
    slot = slot_of(now or timezone.now(), max(1, int(slot_minutes)))
    existing = BulkJob.objects.filter(schedule_name=name, slot=slot).first()
    if existing:
        return existing, False
    saved = bulk_selection.find_filter(saved_filter) if saved_filter else None
    kind = kind or (saved.kind if saved else "")
    if kind not in BulkKind.values:
        raise RuleViolation([rules.Problem("kind", f"Unknown kind “{kind}”.")])
    provider_account = (
        ProviderAccount.objects.get(code=account) if account or not saved else saved.account
    )
    if saved is not None and (saved.kind, saved.account_id) != (kind, provider_account.pk):
        raise RuleViolation(
            [rules.Problem("saved_filter", f"The saved filter “{saved}” is for another job.")]
        )
    actor = _owner(owner)
    since = slot - timedelta(hours=float(lookback_hours))
    if saved is not None:
        criteria = bulk_selection.with_window(saved, since, slot)
    else:
        start, end = bulk_selection.TIME_RANGE_OF_KIND[kind]
        criteria = {start: since.isoformat(), end: slot.isoformat()}
    if status and "status" in bulk_selection.CRITERIA_OF_KIND[kind]:
        criteria["status"] = status
    if warehouse:
        criteria["warehouse_id"] = str(warehouse)
    note = note or f"Scheduled run of “{name}” for {slot:%Y-%m-%d %H:%M} UTC."
    still_going = BulkJob.objects.filter(schedule_name=name, state__in=BulkJob.ACTIVE_STATES)
    if still_going.exists():
        try:
            with transaction.atomic():
                skipped = BulkJob.objects.create(
                    created_by=actor, channel="schedule", account=provider_account, kind=kind,
                    criteria=criteria, note=note, state=BulkState.SKIPPED, schedule_name=name,
                    slot=slot, dry_run=dry_run, service_type=service_type, saved_filter=saved,
                    saved_filter_name=saved.name if saved else "",
                )  # fmt: skip
        except IntegrityError:  # the same slot, recorded by another tick a moment ago
            return BulkJob.objects.get(schedule_name=name, slot=slot), False
        return skipped, True
    return bulk_jobs.create_job(
        actor=actor, kind=kind, account=provider_account, criteria=criteria,
        reason_code=reason_code, service_type=service_type, note=note, dry_run=dry_run,
        channel="schedule", schedule_name=name, slot=slot, saved_filter=saved,
    )  # fmt: skip
