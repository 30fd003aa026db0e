"""Counters that every process adds to and /metrics reads: webhooks received and refused (refused
ones are stored nowhere else), and the rate budget's waits per lane.

Not in process memory (each gunicorn and Celery process would count apart, and a restart would
lose it): in one Redis hash when there is a Redis (settings.REDIS_URL, as the rate budget), in a
database table otherwise. Counting never breaks what it counts: a counter that cannot be written
is logged and dropped.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F

from .models import SharedCounter

log = logging.getLogger(__name__)

WEBHOOKS_RECEIVED = "webhooks_received"  # provider
WEBHOOKS_REJECTED = "webhooks_rejected"  # provider, status (the 4xx answered)
BUDGET_WAITS = "rate_budget_waits"  # account, lane: a slot later than now, or none yet
BUDGET_WAIT_MS = "rate_budget_wait_ms"  # account, lane: the waits those answers set
GATE_LATE_PASSES = "rate_gate_late_passes"  # account: a request passed or left late; restamped

REDIS_KEY = "resends:counters"
REDIS_TIMEOUT_SECONDS = 1.0

Labels = tuple[tuple[str, str], ...]


def _key(labels: dict[str, str]) -> str:
    return json.dumps(sorted(labels.items()), separators=(",", ":"))


def add(name: str, amount: int = 1, **labels: str) -> None:
    add_many({name: amount}, **labels)


def add_many(amounts: dict[str, int], **labels: str) -> None:
    """Several counters with the same labels, in one round trip to Redis."""
    key = _key(labels)
    try:
        if settings.REDIS_URL:
            pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
            for name, amount in amounts.items():
                pipe.hincrby(REDIS_KEY, f"{name} {key}", amount)
            pipe.execute()
        else:
            for name, amount in amounts.items():
                _add_to_row(name, key, amount)
    except (redis.RedisError, DatabaseError) as exc:  # the counted thing still happens
        log.warning("counters %s not written: %s", ", ".join(amounts), type(exc).__name__)


def read(name: str) -> dict[Labels, int]:
    """Every label set of the counter with its value. Raises if the store cannot be read."""
    return read_many([name])[name]


def read_many(names: list[str]) -> dict[str, dict[Labels, int]]:
    """Several counters in one read of the store."""
    found: dict[str, dict[str, int]] = {name: {} for name in names}
    if settings.REDIS_URL:
        raw: Any = _redis(settings.REDIS_URL).hgetall(REDIS_KEY)
        for field, value in raw.items():
            counter, _, labels = field.decode().partition(" ")
            if counter in found:
                found[counter][labels] = int(value)
    else:
        rows = SharedCounter.objects.filter(name__in=names).values_list("name", "labels", "value")
        for counter, labels, value in rows:
            found[counter][labels] = value
    return {
        name: {tuple((k, v) for k, v in json.loads(labels)): value for labels, value in by.items()}
        for name, by in found.items()
    }


def _add_to_row(name: str, labels: str, amount: int) -> None:
    rows = SharedCounter.objects.filter(name=name, labels=labels)
    with transaction.atomic():  # a savepoint when called inside a transaction
        if rows.update(value=F("value") + amount):
            return
        try:
            with transaction.atomic():
                SharedCounter.objects.create(name=name, labels=labels, value=amount)
        except IntegrityError:  # another process created it a moment ago
            rows.update(value=F("value") + amount)


@cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
