"""Emails: to the submitter of a bulk job, and to the managers when calls need review (Django's
email backend; the console by default)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..models import ProviderCall
from ..models.bulk import BulkJob
from ..selectors.bulk_progress import Progress

log = logging.getLogger(__name__)


def _send(job: BulkJob, subject: str, lines: list[str]) -> None:
    address = job.created_by.email
    if not address:
        return
    url = settings.SITE_URL.rstrip("/") + reverse("resends:bulk-job", args=[job.public_id])
    body = "\n".join([*lines, "", f"Details: {url}"])
    transaction.on_commit(lambda: _deliver(job.pk, subject, body, address))


def _deliver(job_id: int, subject: str, body: str, address: str) -> None:
    """A failed send is logged with the job (the job itself goes on either way)."""
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
    except Exception:  # SMTP, DNS, TLS: whatever the backend raises
        log.exception("bulk job %s: the email to its submitter could not be sent", job_id)


def _summary(progress: Progress) -> list[str]:
    return [
        f"Succeeded: {progress.done}",
        f"Failed: {progress.failed}",
        f"Skipped: {progress.skipped}",
        f"Not finished: {progress.remaining}",
    ]


def job_ended(job: BulkJob, progress: Progress) -> None:
    state = job.get_state_display().lower()
    _send(job, f"Bulk job #{job.pk} {state}: {job.get_kind_display()}", [
        f"Your bulk job #{job.pk} ({job.get_kind_display()}) is {state}.", "", *_summary(progress)
    ])  # fmt: skip


def failure_rate_passed(job: BulkJob, progress: Progress) -> bool:
    """Warn once when the failed share of finished items passes the threshold."""
    finished = progress.done + progress.failed
    if job.notified_at or finished < settings.BULK_FAILURE_ALERT_MIN_ITEMS:
        return False
    if progress.failed / finished < settings.BULK_FAILURE_ALERT_RATE:
        return False
    BulkJob.objects.filter(pk=job.pk).update(notified_at=timezone.now())
    share = round(100 * progress.failed / finished)
    _send(job, f"Bulk job #{job.pk}: {share}% of its items failed", [
        f"{progress.failed} of the {finished} items finished so far failed. The job goes on;",
        "pause or cancel it from its page if something is wrong.", "", *_summary(progress),
    ])  # fmt: skip
    return True


def calls_need_review(calls: list[ProviderCall], total: int, addresses: list[str]) -> None:
    """One email to the managers about calls that entered review (the first few listed)."""
    if not addresses:
        return
    url = settings.SITE_URL.rstrip("/") + reverse("resends:review-queue")
    lines = [
        f"{total} provider call(s) could not be settled automatically and wait for a manager:",
        "",
        *(
            f"- #{call.pk} {call.get_operation_display()} {call.subject}: "
            f"{call.failure_reason[:300]}"
            for call in calls
        ),
    ]
    if total > len(calls):
        lines.append(f"- … and {total - len(calls)} more")
    body = "\n".join([*lines, "", f"Settle them: {url}"])
    subject = f"{total} resend call(s) need review"

    def deliver() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, addresses)
        except Exception:  # SMTP, DNS, TLS: whatever the backend raises
            log.exception("the review notice to the managers could not be sent")

    transaction.on_commit(deliver)
