"""The shared rate budget: one per provider account, across processes, with a lane for agents."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from resends.accounts import default_account
from resends.engine import budget
from resends.engine.execution import process_call
from resends.models import ProviderCall
from resends.services.submit import submit_chargebee_resend
from resends.times import parse_time

from .helpers import chargebee_orders, ledger
from .worker import ROOT, wait_until, worker_env

RATE = 20.0


@pytest.fixture
def account(settings):  # type: ignore[no-untyped-def]
    account = default_account("chargebee")
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "chargebee": RATE}
    budget.store().reset(account.pk)
    yield account
    budget.store().reset(account.pk)


def most_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_budget(account, sandbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each process alone could take RATE slots a second; together they still get RATE."""
    seconds = 3.0
    go = tmp_path / "go"  # both start together, once both have loaded Django
    env = worker_env(sandbox, CHARGEBEE_RATE_PER_SECOND=str(RATE))
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("budget_client.py")),
                account.code,
                "bulk",
                str(go),
                str(seconds),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    ready = [Path(f"{go}.ready.{client.pid}") for client in clients]
    assert wait_until(lambda: all(path.exists() for path in ready), timeout=120)
    go.with_suffix(".new").write_text(f"{time.time() + 0.2:.6f}")
    go.with_suffix(".new").replace(go)  # whole, at once
    outputs = [client.communicate(timeout=60)[0] for client in clients]
    per_process = [[float(line) for line in out.split()] for out in outputs]
    times = [t for grants in per_process for t in grants]

    assert all(len(grants) > 1 for grants in per_process), "both processes got slots"
    times.sort()
    assert (len(times) - 1) / (times[-1] - times[0]) <= RATE  # ...and not doubled by the second
    # Client-side clocks add a little jitter to the moments the slots were granted.
    assert most_in_any_second(times) <= RATE + 1


@pytest.mark.django_db
def test_slots_are_handed_out_one_interval_apart(account) -> None:  # type: ignore[no-untyped-def]
    # Each slot as the moment the budget fixed for it, so the time a reservation takes cancels
    # out; a slot fixed from the store's answer (Redis) is off by at most that round trip.
    slots, round_trips = [], []
    for _ in range(5):
        began = time.monotonic()
        slots.append(budget.reserve(account, budget.Lane.SINGLE))
        round_trips.append(time.monotonic() - began)
    assert all(slot.reserved for slot in slots)
    moments = [slot.send_at for slot in slots]
    interval = budget.slot_interval(RATE)
    for (a, b), (took_a, took_b) in zip(
        itertools.pairwise(moments), itertools.pairwise(round_trips), strict=True
    ):
        assert abs((b - a) - interval) <= max(took_a, took_b) + 0.001


@pytest.mark.django_db
def test_an_agents_resend_is_never_queued_behind_a_backfill(account) -> None:  # type: ignore[no-untyped-def]
    interval = budget.slot_interval(RATE)
    bulk_slots = []
    while (slot := budget.reserve(account, budget.Lane.BULK)).reserved:
        bulk_slots.append(slot)
        assert len(bulk_slots) < 10, "bulk work may only reserve a couple of slots ahead"
    assert slot.wait <= interval  # bulk is told to come back for the next slot
    single = budget.reserve(account, budget.Lane.SINGLE)
    assert single.reserved and single.wait <= (budget.BULK_HORIZON_SLOTS + 1) * interval


@pytest.mark.django_db
def test_an_agent_who_cannot_get_a_slot_holds_bulk_work_back(account) -> None:  # type: ignore[no-untyped-def]
    while budget.reserve(account, budget.Lane.SINGLE).reserved:
        pass  # agents' resends fill the next two seconds
    refused = budget.reserve(account, budget.Lane.BULK)
    assert not refused.reserved and refused.wait <= budget.slot_interval(RATE)


@pytest.mark.django_db
def test_a_429_cools_every_lane_down(account) -> None:  # type: ignore[no-untyped-def]
    budget.cool_down(account, 1.5)
    for lane in budget.Lane:
        slot = budget.reserve(account, lane)
        assert not slot.reserved and 1.0 < slot.wait <= 1.5


@pytest.mark.django_db
def test_calls_to_one_account_are_spaced_by_the_budget(
    sandbox, agent: User, account, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "chargebee": 4.0}
    from resends.providers.chargebee.mirror import order_record_from_json
    from resends.services.mirrors import upsert_order

    raws = [
        raw
        for raw in chargebee_orders(sandbox)
        if not raw.get("resent_orders") and raw["status"] in ("queued", "shipped", "delivered")
    ][:5]
    for index, raw in enumerate(raws):
        order, _ = upsert_order(account, order_record_from_json(raw))
        line = order.line_items.first()
        assert line is not None
        submit_chargebee_resend(
            actor=agent, order=order, lines=[(line, 1)],
            reason="Damaged", intent_key=f"spaced-{index}",
        )  # fmt: skip
    for call in ProviderCall.objects.order_by("pk"):
        assert process_call(call.pk, worker="test").delay is None  # waited inline (under 2 s)

    entries = ledger(sandbox, "chargebee")
    assert len(entries) == 5
    # As the provider saw them: at 4 a second (slots 1.03/4 s apart), the fifth arrives a
    # second after the first at the earliest; unlimited, the five take a fraction of that.
    arrived = sorted(filter(None, (parse_time(e["received_at"]) for e in entries)))
    assert (
        len(arrived) == 5
        and (arrived[-1] - arrived[0]).total_seconds() >= 4 * budget.slot_interval(4.0) - 0.01
    )


@pytest.mark.django_db
def test_the_departure_gate_never_lets_more_than_the_rate_through_in_a_second(account) -> None:  # type: ignore[no-untyped-def]
    window = budget.departure_window()
    assert window > 1.0  # a second, plus the allowance for the way to the provider
    began = time.monotonic()
    waits = [budget.store().depart(account.pk, RATE, window) for _ in range(int(RATE) + 1)]
    elapsed = time.monotonic() - began
    assert waits[: int(RATE)] == [0.0] * int(RATE)
    # the 21st waits until the first is a whole window old, however long the 21 calls took
    assert window - elapsed - 0.01 <= waits[-1] <= window


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["database", "redis"])
def test_a_departure_stamped_again_counts_once(account, settings, kind: str) -> None:  # type: ignore[no-untyped-def]
    """A worker that ran late after the gate passes it again with the same token: its first
    stamp is withdrawn, so the late request counts once, as of when it really left."""
    if kind == "redis" and not settings.REDIS_URL:
        pytest.skip("no Redis in this run")
    store = budget.RedisStore(settings.REDIS_URL) if kind == "redis" else budget.DatabaseStore()
    store.reset(account.pk)
    window = budget.departure_window()
    assert store.depart(account.pk, 2, window, "late-one") == 0.0
    assert store.depart(account.pk, 2, window, "late-one") == 0.0  # again: not a second one
    assert store.snapshot(account.pk, window).recent_departures == 1
    assert store.depart(account.pk, 2, window, "other") == 0.0
    assert store.depart(account.pk, 2, window, "third") > 0  # the window holds two
    store.reset(account.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["database", "redis"])
def test_a_departure_restamped_counts_from_when_it_left(account, settings, kind: str) -> None:  # type: ignore[no-untyped-def]
    """A request that passed the gate but left later (its worker kept from running) is stamped
    again as of when it left, so the next request waits a whole window from then."""
    if kind == "redis" and not settings.REDIS_URL:
        pytest.skip("no Redis in this run")
    store = budget.RedisStore(settings.REDIS_URL) if kind == "redis" else budget.DatabaseStore()
    store.reset(account.pk)
    window, late = budget.departure_window(), 0.3
    assert store.depart(account.pk, 1, window, "left-late") == 0.0
    time.sleep(late)
    store.restamp(account.pk, "left-late")
    asked = time.monotonic()
    wait = store.depart(account.pk, 1, window, "next")
    # From the restamp, not the pass: without it the wait would be at most window - late.
    assert wait > window - late + 0.5 * late - (time.monotonic() - asked)
    store.restamp(account.pk, "never-stamped")  # a token the store does not hold: nothing
    assert store.snapshot(account.pk, window).recent_departures == 1
    store.reset(account.pk)


@pytest.mark.django_db
def test_the_gate_restamps_a_request_only_when_it_left_late(account, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "chargebee": 1.0}
    window, pause = budget.departure_window(), 0.3
    left = budget.depart(account)
    assert left is not None
    left()  # written at once: the pass's stamp stands
    time.sleep(pause)
    # The next may go a window after the pass, so about `pause` sooner than a window from now.
    assert budget.store().depart(account.pk, 1, window, "probe") < window - pause / 2
    budget.store().reset(account.pk)

    left = budget.depart(account)
    assert left is not None
    time.sleep(pause)  # kept from running between the gate and the write
    left()
    # Stamped again as it left: the next waits a whole window from now.
    assert budget.store().depart(account.pk, 1, window, "probe") > window - pause / 2
