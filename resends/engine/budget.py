"""One request budget per provider account, shared by every worker process and host.

Sending slots are handed out (1 + allowance)/rate seconds apart (GCRA with no burst). A worker
reserves the next free slot, does its database work, and sleeps until the slot just before the
request leaves, so the slots stay packed (no rate is lost to wake-up delays) and requests leave
on time. A departure gate then lets at most `rate` requests leave in any 1 + allowance seconds:
a request that leaves late cannot bunch up with the ones after it, and as long as the time from
the gate to the provider varies by less than the allowance (RATE_ARRIVAL_ALLOWANCE_SECONDS), the
provider never sees more than `rate` requests in any second. The gate is passed on the
connection itself, just before the request's first byte is written (providers/http.py), and a
gate whose answer came back late (a busy machine kept the worker from running) is passed again:
its departure is stamped anew, so the stamp is never far from the moment the request left.

The state is in Redis when there is one (one Lua script on Redis's own clock, so hosts need not
agree on the time) and in a database row otherwise (the embedded default).

- A 429 with Retry-After writes a cooldown that every worker honours.
- Lanes: bulk work may reserve only a couple of slots ahead, an agent's resend up to a couple of
  seconds ahead, so an agent's resend waits at most a few slots behind a backfill; an agent's
  resend that still cannot get a slot holds bulk work back until it has one.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from .. import counters
from ..models import ProviderAccount, RateBudgetState
from ..models.audit import Lane

# How far ahead each lane may reserve, in seconds (single) or in slots (bulk).
SINGLE_HORIZON_SECONDS = 2.0
BULK_HORIZON_SLOTS = 2
# A gate answer slower than this share of the allowance is stamped again (at most this often).
GATE_SLACK_SHARE = 1 / 3
GATE_PASSES = 5


@dataclass(frozen=True)
class Slot:
    """`reserved`: a slot `wait` seconds from now is this request's. Otherwise nothing is taken
    and trying again in `wait` seconds is worthwhile."""

    reserved: bool
    wait: float
    at: float = 0.0  # the slot's moment (time.time()), fixed when the store answered

    @property
    def send_at(self) -> float:
        return self.at or time.time() + self.wait


FREE = Slot(True, 0.0)


@dataclass(frozen=True)
class BudgetState:
    """An account's budget as it stands, in seconds from now (what `rate_budget show` prints)."""

    next_slot_in: float  # the next free sending slot (0: free now)
    cooldown_for: float  # after a 429: nobody sends for this long
    priority_for: float  # an agent's resend is waiting: bulk work holds back this long
    recent_departures: int  # requests that left in the last departure window


def rate_per_second(account: ProviderAccount) -> float:
    """settings.RATE_PER_SECOND for the provider (parsed from JUNCTION_RATE_PER_SECOND etc. at
    start-up); an extra account may set its own with <ENV_PREFIX>_RATE_PER_SECOND."""
    name = f"{account.env_prefix}_RATE_PER_SECOND"
    if account.env_prefix.upper() != account.provider.upper() and os.environ.get(name):
        try:
            return float(os.environ[name])
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a number of requests per second.") from None
    return float(settings.RATE_PER_SECOND[account.provider])


def departure_window() -> float:
    """Departures are counted over this many seconds: one, plus the allowance for the time the
    request still spends between the gate and the provider."""
    return 1.0 + float(settings.RATE_ARRIVAL_ALLOWANCE_SECONDS)


def slot_interval(rate: float) -> float:
    """Slots as far apart as the gate lets requests leave, so an on-time request never waits
    at the gate."""
    return departure_window() / rate


class Store(Protocol):
    def reserve(self, account_id: int, interval: float, lane: Lane) -> Slot: ...
    def depart(self, account_id: int, rate: float, window: float, token: str = "") -> float: ...
    def restamp(self, account_id: int, token: str) -> None: ...
    def cool_down(self, account_id: int, seconds: float) -> None: ...
    def reset(self, account_id: int) -> None: ...
    def snapshot(self, account_id: int, window: float) -> BudgetState: ...


def reserve(account: ProviderAccount, lane: Lane) -> Slot:
    rate = rate_per_second(account)
    if rate <= 0:
        return FREE  # 0 means unlimited
    slot = store().reserve(account.pk, slot_interval(rate), lane)
    if not slot.at:  # fixed now, before anything else takes time
        slot = replace(slot, at=time.time() + slot.wait)
    if slot.wait > 0:  # /metrics: how often, and how long, the budget holds requests back
        counters.add_many(
            {counters.BUDGET_WAITS: 1, counters.BUDGET_WAIT_MS: round(slot.wait * 1000)},
            account=account.code,
            lane=lane.value,
        )
    return slot


def depart(account: ProviderAccount) -> Callable[[], None] | None:
    """The last gate, just before the request leaves: at most `rate` departures in any
    departure_window(). Slots already space requests; this holds back one that woke late so it
    cannot bunch up with the ones after it.

    Returns what to call once the request's bytes are written: a request that left later than
    the slack after its stamp (the worker was kept from running between the gate and the write)
    is stamped again as of then, so the requests after it are held back from when it really
    left, not from when it passed."""
    rate = rate_per_second(account)
    if rate <= 0:
        return None
    window, token = departure_window(), uuid.uuid4().hex
    slack = max(0.001, float(settings.RATE_ARRIVAL_ALLOWANCE_SECONDS) * GATE_SLACK_SHARE)
    late = 0
    while True:
        asked = time.monotonic()
        if (wait := store().depart(account.pk, rate, window, token)) > 0:
            time.sleep(wait)
        elif time.monotonic() - asked <= slack or late >= GATE_PASSES:
            break
        else:  # stamped, but this worker ran late since: stamp it again, as of now
            late += 1
            counters.add(counters.GATE_LATE_PASSES, account=account.code)

    def left() -> None:
        if time.monotonic() - asked > slack:
            store().restamp(account.pk, token)
            counters.add(counters.GATE_LATE_PASSES, account=account.code)

    return left


def cool_down(account: ProviderAccount, seconds: float) -> None:
    """The provider said 429 with Retry-After: nobody sends to this account before then."""
    store().cool_down(account.pk, seconds)


def state(account: ProviderAccount) -> BudgetState:
    return store().snapshot(account.pk, departure_window())


def reset(account: ProviderAccount) -> None:
    """Clears the cooldown, the lanes' reservations and the departures (an operator's reset,
    e.g. after a provider confirmed a 429 was theirs)."""
    store().reset(account.pk)


def _state(now: float, free_at: float, cooldown: float, priority: float, sent: int) -> BudgetState:
    return BudgetState(
        next_slot_in=max(0.0, free_at - now),
        cooldown_for=max(0.0, cooldown - now),
        priority_for=max(0.0, priority - now),
        recent_departures=sent,
    )


def horizon(lane: Lane, interval: float) -> float:
    return SINGLE_HORIZON_SECONDS if lane is Lane.SINGLE else BULK_HORIZON_SLOTS * interval


# --- Redis -------------------------------------------------------------------------------
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, lane, horizon = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local hold = 3 * interval
local ttl = math.ceil((horizon + hold + interval) * 1000) + 60000
local cooldown = tonumber(redis.call('GET', KEYS[2]) or '0')
if cooldown > now then return '0 ' .. (cooldown - now) end
if lane == 'bulk' then
  local priority = tonumber(redis.call('GET', KEYS[3]) or '0')
  if priority > now then return '0 ' .. math.min(priority - now, interval) end
end
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
if slot - now > horizon then
  if lane == 'single' then redis.call('SET', KEYS[3], tostring(now + hold), 'PX', ttl) end
  return '0 ' .. (slot - now - horizon)
end
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', ttl)
return '1 ' .. (slot - now)
"""

_DEPART = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < rate then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""

_RESTAMP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 1
"""

_COOL_DOWN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self._reserve = self.client.register_script(_RESERVE)
        self._cool_down = self.client.register_script(_COOL_DOWN)
        self._depart = self.client.register_script(_DEPART)
        self._restamp = self.client.register_script(_RESTAMP)

    @staticmethod
    def _keys(account_id: int) -> list[str]:
        base = f"resends:budget:{account_id}"
        return [f"{base}:free_at", f"{base}:cooldown", f"{base}:priority", f"{base}:departures"]

    def reserve(self, account_id: int, interval: float, lane: Lane) -> Slot:
        answer: Any = self._reserve(
            keys=self._keys(account_id), args=[interval, lane.value, horizon(lane, interval)]
        )
        reserved, wait = (answer.decode() if isinstance(answer, bytes) else answer).split()
        return Slot(reserved == "1", max(0.0, float(wait)))

    def depart(self, account_id: int, rate: float, window: float, token: str = "") -> float:
        answer: Any = self._depart(
            keys=[self._keys(account_id)[3]], args=[rate, window, token or uuid.uuid4().hex]
        )
        return max(0.0, float(answer))

    def restamp(self, account_id: int, token: str) -> None:
        """The departure stamped under `token`, if still counted, moves to now."""
        self._restamp(keys=[self._keys(account_id)[3]], args=[token])

    def cool_down(self, account_id: int, seconds: float) -> None:
        self._cool_down(keys=[self._keys(account_id)[1]], args=[seconds])

    def reset(self, account_id: int) -> None:
        self.client.delete(*self._keys(account_id))

    def snapshot(self, account_id: int, window: float) -> BudgetState:
        free_at, cooldown, priority, departures = self._keys(account_id)
        seconds, micros = self.client.time()  # the times in Redis are on Redis's clock
        now = seconds + micros / 1_000_000
        values = self.client.mget(free_at, cooldown, priority)
        free, cool, prio = (float(value or 0) for value in values)
        sent = self.client.zcount(departures, now - window, "+inf")
        return _state(now, free, cool, prio, int(sent))


# --- database fallback -------------------------------------------------------------------------
class DatabaseStore:
    """A row per account, locked while it is read and moved (times from this host's clock)."""

    def reserve(self, account_id: int, interval: float, lane: Lane) -> Slot:
        with transaction.atomic():
            state = self._locked(account_id)
            now = time.time()
            if state.cooldown_until > now:
                return Slot(False, state.cooldown_until - now)
            if lane is Lane.BULK and state.priority_until > now:
                return Slot(False, min(state.priority_until - now, interval))
            slot = max(state.next_free_at, now)
            ahead = horizon(lane, interval)
            if slot - now > ahead:
                if lane is Lane.SINGLE:
                    state.priority_until = now + 3 * interval
                    state.save(update_fields=["priority_until"])
                return Slot(False, slot - now - ahead)
            state.next_free_at = slot + interval
            state.save(update_fields=["next_free_at"])
            return Slot(True, slot - now, at=slot)

    def depart(self, account_id: int, rate: float, window: float, token: str = "") -> float:
        with transaction.atomic():
            state = self._locked(account_id)
            now = time.time()
            recent = [
                (moment, mark)
                for moment, mark in map(_departure, state.departures)
                if moment > now - window and not (token and mark == token)
            ]
            if len(recent) >= rate:
                if len(recent) != len(state.departures):
                    state.departures = [list(entry) for entry in recent]
                    state.save(update_fields=["departures"])
                return min(moment for moment, _ in recent) + window - now
            state.departures = [*(list(entry) for entry in recent), [now, token]]
            state.save(update_fields=["departures"])
            return 0.0

    def restamp(self, account_id: int, token: str) -> None:
        with transaction.atomic():
            state = self._locked(account_id)
            now = time.time()
            entries = [_departure(entry) for entry in state.departures]
            if any(mark == token for _, mark in entries):
                state.departures = [
                    [now if mark == token else moment, mark] for moment, mark in entries
                ]
                state.save(update_fields=["departures"])

    def cool_down(self, account_id: int, seconds: float) -> None:
        with transaction.atomic():
            state = self._locked(account_id)
            state.cooldown_until = max(state.cooldown_until, time.time() + seconds)
            state.save(update_fields=["cooldown_until"])

    def reset(self, account_id: int) -> None:
        RateBudgetState.objects.filter(account_id=account_id).delete()

    def snapshot(self, account_id: int, window: float) -> BudgetState:
        row = RateBudgetState.objects.filter(account_id=account_id).first()
        now = time.time()
        if row is None:
            return _state(now, 0.0, 0.0, 0.0, 0)
        sent = sum(1 for moment, _ in map(_departure, row.departures) if moment > now - window)
        return _state(now, row.next_free_at, row.cooldown_until, row.priority_until, sent)

    @staticmethod
    def _locked(account_id: int) -> RateBudgetState:
        # SQLite runs in IMMEDIATE mode here (settings), so its transaction already holds the lock.
        RateBudgetState.objects.get_or_create(account_id=account_id)
        return RateBudgetState.objects.select_for_update().get(account_id=account_id)


def _departure(entry: Any) -> tuple[float, str]:
    """A stored departure: [moment, token] (a bare moment from before tokens)."""
    if isinstance(entry, list | tuple):
        return float(entry[0]), str(entry[1])
    return float(entry), ""


@cache
def _store_for(redis_url: str) -> Store:
    return RedisStore(redis_url) if redis_url else DatabaseStore()


def store() -> Store:
    return _store_for(settings.REDIS_URL)
