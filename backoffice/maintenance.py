"""Housekeeping tasks beat runs on the maintenance queue (settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command


@shared_task(name="backoffice.clear_sessions", ignore_result=True)
def clear_sessions() -> None:
    """Expired sessions are deleted (Django's `clearsessions`); nothing else removes them."""
    call_command("clearsessions")
