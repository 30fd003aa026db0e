"""One request budget per provider account, shared by every worker process and host.

Requests to an account are spaced at least 1/rate seconds apart (GCRA with no burst), so no
one-second window ever holds more than `rate` of them, however many workers send. The state is in
Redis when there is one (one Lua script, Redis's own clock, so hosts need not agree on the time)
and in a database row otherwise (the embedded default).

- A 429 with Retry-After writes a cooldown that every worker honours.
- Lanes: a single resend that has to wait marks the account for a moment, and bulk work holds back
  while it is marked, so an agent's resend goes ahead of a backfill.
- `acquire` never sleeps: it takes a slot and answers 0, or answers how long to wait.
"""

from __future__ import annotations

import os
import time
from enum import StrEnum
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction

from ..models import ProviderAccount, RateBudgetState


class Lane(StrEnum):
    SINGLE = "single"  # an agent's resend, a retry, a cancel
    BULK = "bulk"  # bulk jobs and schedules


# How long a waiting single resend holds bulk work back (a few slots' worth).
PRIORITY_HOLD_INTERVALS = 3


def rate_per_second(account: ProviderAccount) -> float:
    override = os.environ.get(f"{account.env_prefix}_RATE_PER_SECOND")
    if override:
        return float(override)
    return float(settings.RATE_PER_SECOND[account.provider])


class Store(Protocol):
    def take(self, account_id: int, interval: float, lane: Lane) -> float: ...
    def cool_down(self, account_id: int, seconds: float) -> None: ...
    def reset(self, account_id: int) -> None: ...


def acquire(account: ProviderAccount, lane: Lane) -> float:
    """0 when a request to this account may go now (its slot is taken), else seconds to wait."""
    rate = rate_per_second(account)
    if rate <= 0:
        return 0.0  # 0 means unlimited
    return store().take(account.pk, 1.0 / rate, lane)


def cool_down(account: ProviderAccount, seconds: float) -> None:
    """The provider said 429 with Retry-After: nobody sends to this account before then."""
    store().cool_down(account.pk, seconds)


# --- Redis -------------------------------------------------------------------------------
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local lane = ARGV[2]
local hold = tonumber(ARGV[3])
local ttl = math.ceil((interval + hold) * 1000) + 60000
local cooldown = tonumber(redis.call('GET', KEYS[2]) or '0')
if cooldown > now then return tostring(cooldown - now) end
if lane == 'bulk' then
  local priority = tonumber(redis.call('GET', KEYS[3]) or '0')
  if priority > now then return tostring(math.min(priority - now, interval)) end
end
local free_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if free_at > now then
  if lane == 'single' then redis.call('SET', KEYS[3], tostring(now + hold), 'PX', ttl) end
  return tostring(free_at - now)
end
redis.call('SET', KEYS[1], tostring(now + interval), 'PX', ttl)
if lane == 'single' then redis.call('DEL', KEYS[3]) end
return '0'
"""

_COOL_DOWN = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self._take = self.client.register_script(_TAKE)
        self._cool_down = self.client.register_script(_COOL_DOWN)

    @staticmethod
    def _keys(account_id: int) -> list[str]:
        base = f"resends:budget:{account_id}"
        return [f"{base}:free_at", f"{base}:cooldown", f"{base}:priority"]

    def take(self, account_id: int, interval: float, lane: Lane) -> float:
        hold = interval * PRIORITY_HOLD_INTERVALS
        answer: Any = self._take(keys=self._keys(account_id), args=[interval, lane.value, hold])
        return float(answer)

    def cool_down(self, account_id: int, seconds: float) -> None:
        self._cool_down(keys=[self._keys(account_id)[1]], args=[seconds])

    def reset(self, account_id: int) -> None:
        self.client.delete(*self._keys(account_id))


# --- database fallback -------------------------------------------------------------------------
class DatabaseStore:
    """A row per account, locked while it is read and moved (times from this host's clock)."""

    def take(self, account_id: int, interval: float, lane: Lane) -> float:
        with transaction.atomic():
            state = self._locked(account_id)
            now = time.time()
            if state.cooldown_until > now:
                return state.cooldown_until - now
            if lane is Lane.BULK and state.priority_until > now:
                return min(state.priority_until - now, interval)
            if state.next_free_at > now:
                if lane is Lane.SINGLE:
                    state.priority_until = now + interval * PRIORITY_HOLD_INTERVALS
                    state.save(update_fields=["priority_until"])
                return state.next_free_at - now
            state.next_free_at = now + interval
            if lane is Lane.SINGLE:
                state.priority_until = 0.0
            state.save(update_fields=["next_free_at", "priority_until"])
            return 0.0

    def cool_down(self, account_id: int, seconds: float) -> None:
        with transaction.atomic():
            state = self._locked(account_id)
            state.cooldown_until = max(state.cooldown_until, time.time() + seconds)
            state.save(update_fields=["cooldown_until"])

    def reset(self, account_id: int) -> None:
        RateBudgetState.objects.filter(account_id=account_id).delete()

    @staticmethod
    def _locked(account_id: int) -> RateBudgetState:
        # SQLite runs in IMMEDIATE mode here (settings), so its transaction already holds the lock.
        RateBudgetState.objects.get_or_create(account_id=account_id)
        return RateBudgetState.objects.select_for_update().get(account_id=account_id)


@cache
def _store_for(redis_url: str) -> Store:
    return RedisStore(redis_url) if redis_url else DatabaseStore()


def store() -> Store:
    return _store_for(settings.REDIS_URL)
