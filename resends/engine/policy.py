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


# Transient answers (nothing applied: 429, 408, a refused connection) are taken this many times
# in all, then the call fails (or, if an earlier outcome could not be learned, needs review).
MAX_ATTEMPTS = 8

# An unknown outcome is settled by asking the provider (reconcile). When the provider cannot be
# asked (a 503, a 429, a dropped connection or a timeout on the same-key repeat or on the
# lookup), it is asked again with the backoff below, Retry-After honoured. The call goes to a
# manager only once both limits have passed:
# - RECONCILE_MIN_TRIES tries, so a provider that flaps for a few minutes, or a burst of 503s,
#   never sends calls to review (the ten tries take about 20 minutes with the backoff below);
# - RECONCILE_PATIENCE since the trouble began, so a provider's outage (they last minutes to a
#   few hours) passes without a person. The patience is wall-clock time but the tries happen
#   only while workers run, so a night with our workers stopped still leaves every call its
#   ten tries when they come back.
# A provider whose own answer cannot tell (two lookalike resends, say) goes to review at once:
# asking again would not change that answer.
RECONCILE_MIN_TRIES = 10
RECONCILE_PATIENCE = timedelta(hours=6)
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
