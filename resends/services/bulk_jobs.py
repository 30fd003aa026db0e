"""Bulk jobs: create one from a stored filter (counted by the selection first), approve or reject
it (a second manager above the approval threshold), start its chain of steps, or make a linked job
that retries a finished job's failures. Running a job is bulk_run.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import doorbell, rules
from ..models import ProviderAccount, SavedFilter
from ..models.audit import Channel, RequestState
from ..models.bulk import BulkJob, BulkKind, BulkState
from ..rules import RuleViolation
from ..selectors.bulk_selection import preview


def approval_threshold() -> int:
    return int(settings.BULK_APPROVAL_THRESHOLD)


def create_job(
    *,
    actor: User,
    kind: str,
    account: ProviderAccount,
    criteria: dict[str, Any],
    reason_code: str = "",
    service_type: str = "",
    note: str = "",
    dry_run: bool = False,
    channel: str = "web",
    schedule_name: str = "",
    slot: datetime | None = None,
    saved_filter: SavedFilter | None = None,
) -> tuple[BulkJob, bool]:
    """(job, created). A schedule's second tick for the same slot returns the first job.
    A job that would send nothing is refused (a schedule's tick records it all the same).
    `service_type` is the Return Helper shipment service type, checked against the warehouse;
    `saved_filter` is the saved filter the criteria were copied from (recorded with the job)."""
    if saved_filter is not None and (saved_filter.kind, saved_filter.account_id) != (
        kind,
        account.pk,
    ):
        raise RuleViolation(
            [
                rules.Problem(
                    "filter",
                    f"The saved filter “{saved_filter}” is for {saved_filter.get_kind_display()} "
                    f"({saved_filter.account}).",
                )
            ]
        )
    if kind == BulkKind.CHARGEBEE_FULL:
        reason_problems = rules.chargebee_reason_problems(reason_code)
        if reason_problems:
            raise RuleViolation(reason_problems)
    if schedule_name and slot is not None:
        existing = BulkJob.objects.filter(schedule_name=schedule_name, slot=slot).first()
        if existing:
            return existing, False
    counted = preview(kind, account, criteria, service_type=service_type)
    if counted.nothing_to_send and channel != "schedule":
        # A schedule's tick still records its run (a job that finishes at once, showing why).
        raise RuleViolation([rules.Problem("criteria", counted.nothing_to_send)])
    if dry_run:
        state = BulkState.DRY_RUN
    elif counted.requests > approval_threshold():
        state = BulkState.AWAITING_APPROVAL
    else:
        state = BulkState.QUEUED
    try:
        with transaction.atomic():
            job = BulkJob.objects.create(
                created_by=actor,
                channel=channel,
                account=account,
                kind=kind,
                criteria=criteria,
                reason_code=reason_code,
                service_type=service_type,
                note=note,
                dry_run=dry_run,
                state=state,
                preview=counted.as_json(),
                schedule_name=schedule_name,
                slot=slot,
                saved_filter=saved_filter,
                saved_filter_name=saved_filter.name if saved_filter else "",
            )
    except IntegrityError:  # the same slot, created by another tick a moment ago
        return BulkJob.objects.get(schedule_name=schedule_name, slot=slot), False
    if job.state == BulkState.QUEUED:
        ring(job.pk)
    return job, True


def decide(job: BulkJob, *, manager: User, approve: bool, note: str) -> BulkJob:
    """Approve or reject a job waiting for approval: a manager, never the one who created it."""
    if not manager.has_perm("resends.approve_resendrequest"):
        raise PermissionDenied("Only managers approve bulk jobs.")
    if manager.pk == job.created_by_id:
        raise PermissionDenied("A bulk job needs a manager other than the one who created it.")
    if approve and not note.strip():
        note = "Approved."
    if not approve and not note.strip():
        raise RuleViolation([rules.Problem("note", "Say why the job is rejected.")])
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().get(pk=job.pk)
        if job.state != BulkState.AWAITING_APPROVAL:
            raise RuleViolation(
                [rules.Problem("state", f"This job is {job.get_state_display().lower()}.")]
            )
        job.state = BulkState.QUEUED if approve else BulkState.REJECTED
        job.approved_by = manager
        job.decided_at = timezone.now()
        job.decision_note = note.strip()
        job.save(update_fields=["state", "approved_by", "decided_at", "decision_note"])
        if approve:
            ring(job.pk)
    return job


def ring(job_id: int) -> None:
    """Start a new chain of steps for the job; any older chain stops at its next step."""
    step = uuid.uuid4()
    BulkJob.objects.filter(pk=job_id).update(step_id=step, stepped_at=timezone.now())
    doorbell.ring_bulk_job(job_id, str(step))


def create_retry_job(job: BulkJob, *, actor: User, channel: str = Channel.WEB) -> BulkJob:
    """A new job, linked to this one, that retries its failed items; like any job, one above
    the approval threshold waits for a second manager."""
    if job.state not in (BulkState.FINISHED, BulkState.CANCELLED):
        raise RuleViolation([rules.Problem("state", "Retry once the job has stopped.")])
    failed = job.requests.filter(state__in=(RequestState.FAILED, RequestState.PARTLY_FAILED))
    count = failed.count()
    if not count:
        raise RuleViolation([rules.Problem("retry", "Nothing in this job failed.")])
    waits = count > approval_threshold()
    with transaction.atomic():
        retry = BulkJob.objects.create(
            created_by=actor,
            channel=channel,
            account=job.account,
            kind=job.kind,
            criteria={"retry_of_job": job.pk},
            reason_code=job.reason_code,
            service_type=job.service_type,
            note=job.note,
            state=BulkState.AWAITING_APPROVAL if waits else BulkState.QUEUED,
            preview={"to_send": count, "requests": count},
            retry_of=job,
        )
        if not waits:
            ring(retry.pk)
    return retry
