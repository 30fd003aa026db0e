"""Timing rules for calls: leases, backoff, give-up points. One place to tune them."""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings


def lease() -> timedelta:
    """Longer than the HTTP timeouts plus any rate wait; far shorter than the broker's
    visibility timeout (settings.CALL_LEASE_SECONDS)."""
    return timedelta(seconds=settings.CALL_LEASE_SECONDS)


def sweep_grace() -> timedelta:
    """A pending call younger than this was just queued by its submitter; leave it to that message."""
    return timedelta(seconds=settings.SWEEP_GRACE_SECONDS)


# Transient failures (nothing applied) are retried this many times in all, then the call fails.
MAX_ATTEMPTS = 8
# Unknown outcomes are looked up this many times before a manager must decide.
MAX_RECONCILE_TRIES = 5
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0
# Waits up to this long ride on a Celery countdown; longer ones are left to the sweeper.
MAX_COUNTDOWN_SECONDS = 60.0


def backoff_seconds(
    attempt: int, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Full-jitter exponential backoff, never shorter than the provider's Retry-After."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0))
    wait = (rng or random).uniform(0, ceiling)
    if retry_after is not None:
        wait = max(wait, min(retry_after, BACKOFF_CAP_SECONDS))
    return wait


# A call waits this long at most for its slot in the rate budget while holding a worker; longer
# waits go back to the queue with a countdown.
MAX_INLINE_BUDGET_WAIT_SECONDS = 2.0
