"""Housekeeping tasks beat runs on the maintenance queue (settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command

from resends.services import call_counts


@shared_task(name="backoffice.clear_sessions", ignore_result=True)
def clear_sessions() -> None:
    """Expired sessions are deleted (Django's `clearsessions`); nothing else removes them."""
    call_command("clearsessions")


@shared_task(name="backoffice.compact_call_counts", ignore_result=True)
def compact_call_counts() -> None:
    """The rows the call-count triggers append are folded into one per key, so that a /metrics
    scrape sums a few hundred rows at most."""
    call_counts.compact()
