#!/usr/bin/env python3
"""Exactly-once under faults: hundreds of resends across the three providers, with the sandbox
answering 5xx (before and after the effect), 429, dropping replies after the effect and hanging
past the read timeout, while the worker's process group is SIGKILLed again and again.

    .venv/bin/python bench/resends_under_faults.py [--chargebee 120] [--returnhelper 96]
        [--junction 110] [--kills 6] [--concurrency 4] [--seed 7]
        [--bulk] [--database backoffice_review] [--redis-db 10]

--bulk writes the Chargebee resends as a bulk job's window does (bulk lane, rung in batches), so
the batch engine (resends/engine/batch.py) sends them under the same faults and kills.

Uses PostgreSQL on 127.0.0.1 (the database is dropped and recreated) and Redis (the broker and
the rate budget), an in-process provider sandbox, and real Celery worker processes. This script
plays beat: it sweeps every two seconds. The sandbox's effect ledger is the judge. Prints, per
provider: intents, effects, duplicated effects (a second effect for one intent; for Junction one
that is not a repeat recorded on its call), lost effects (a success with no effect, an effect
whose call says it failed or is unfinished), whether every success carries the reference of its
effect; then the share of calls in needs review and, for each, why the provider could not tell.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROVIDERS = ("chargebee", "returnhelper", "junction")
READ_TIMEOUT = 2.0
HANG_SECONDS = 3.0  # past the read timeout: the effect lands after we gave up waiting
LEASE_SECONDS = 8  # a killed worker's call is taken over after this
SWEEP_EVERY = 2.0
LATENCY_MS = 150  # every request, so a kill finds calls on the wire
SETTLE_TIMEOUT = 20 * 60.0


def faults(seed: int) -> dict[str, Any]:
    """10% 5xx (7% before the effect, 3% after it), 5% 429, 5% replies dropped after the
    effect, 2% hangs past the read timeout: on every request, reads included."""
    return {
        "provider": "all",
        "seed": seed,
        "error_rate": 0.07,
        "error_status": 503,
        "error_after_apply_rate": 0.03,
        "rate_limit_rate": 0.05,
        "retry_after": 1,
        "drop_rate": 0.05,
        "hang_rate": 0.02,
        "hang_seconds": HANG_SECONDS,
        "latency_ms": LATENCY_MS,
    }


def prepare_environment(args: argparse.Namespace, sandbox: Any) -> dict[str, str]:
    env = {
        "DEBUG": "1",
        "IGNORE_DOTENV": "1",
        "VAR_DIR": str(ROOT / "var" / "bench"),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "DB_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "LOG_LEVEL": "WARNING",
        "PROVIDER_HTTP_READ_TIMEOUT": str(READ_TIMEOUT),
        "CALL_LEASE_SECONDS": str(LEASE_SECONDS),
        "SWEEP_GRACE_SECONDS": "2",
        "JUNCTION_RATE_PER_SECOND": "0",
        "CHARGEBEE_RATE_PER_SECOND": "0",
        "RETURNHELPER_RATE_PER_SECOND": "0",
        "JUNCTION_BASE_URL": sandbox.junction_url,
        "CHARGEBEE_BASE_URL": sandbox.chargebee_url,
        "RETURNHELPER_BASE_URL": sandbox.returnhelper_user_url,
        "RETURNHELPER_PUBLIC_BASE_URL": sandbox.returnhelper_public_url,
    }
    os.environ.update(env)
    return {**os.environ, **env}


def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


@dataclass
class Tally:
    intents: int = 0
    effects: int = 0
    duplicated: int = 0
    lost: int = 0
    repeats: int = 0
    states: Counter[str] = field(default_factory=Counter)
    wrong_reference: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def submit_all(args: argparse.Namespace) -> dict[str, list[int]]:
    """Mirror the sandbox's data and submit every intent (each distinct, so none is a repeat of
    another). Returns the call ids per provider."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import transaction

    from resends.accounts import default_account
    from resends.models import Order, ProviderCall
    from resends.models.audit import Channel
    from resends.providers.returnhelper.mirror import inventory_record_from_json
    from resends.services.mirrors import upsert_inventory
    from resends.services.requests import create_requests
    from resends.services.submit import (
        chargebee_intent,
        submit_chargebee_resend,
        submit_junction_orders,
        submit_returnhelper_resend,
    )
    from sandbox.dataset import build_dataset

    call_command("sync_orders", "--full", verbosity=0)
    agent = User.objects.create_user("bench-agent")
    ids: dict[str, list[int]] = {}

    orders = (
        Order.objects.filter(
            account__provider="chargebee",
            resend_count__lt=5,
            status__in=("queued", "awaiting_shipment", "shipped", "delivered"),
            line_items__isnull=False,
        )
        .exclude(resent_status="fully_resent")
        .distinct()
        .order_by("external_id")[: args.chargebee]
    )
    if args.bulk:
        # As a bulk job's window: written together, in the bulk lane, rung in batches
        # (resends/engine/batch.py sends them).
        with transaction.atomic():
            picked = list(orders.values_list("pk", flat=True))
            locked = list(
                Order.objects.filter(pk__in=picked)
                .select_for_update(of=("self",))
                .select_related("account")
                .order_by("external_id")
            )
            create_requests(
                [
                    chargebee_intent(
                        actor=agent, order=order,
                        lines=[(order.line_items.order_by("external_id")[0], 1)],
                        reason="Damaged", note="", shipping_date=None,
                        intent_key=f"bench-cb-{index}", channel=Channel.BULK,
                    )
                    for index, order in enumerate(locked)
                ]
            )  # fmt: skip
    for index, order in enumerate([] if args.bulk else orders):
        line = order.line_items.order_by("external_id").first()
        assert line is not None
        submit_chargebee_resend(
            actor=agent,
            order=order,
            lines=[(line, 1)],
            reason="Damaged",
            intent_key=f"bench-cb-{index}",
        )
    ids["chargebee"] = list(
        ProviderCall.objects.filter(account__provider="chargebee").values_list("pk", flat=True)
    )

    account = default_account("returnhelper")
    routes = {11: ("usps", "usa"), 22: ("SHIPMENT_DHL_PAKET_FRA", "deu")}
    eligible = [
        raw
        for raw in build_dataset(seed=42).returnhelper_inventories
        if raw["handlingCode"] == "ohd" and raw["inStock"] and not raw["pendingVas"]
    ][: args.returnhelper]
    for index, raw in enumerate(eligible):
        inventory, _ = upsert_inventory(account, inventory_record_from_json(raw))
        service, country = routes[int(raw["warehouseId"])]
        submit_returnhelper_resend(
            actor=agent,
            inventories=[inventory],
            shipment={
                "shipmentServiceType": service,
                "shipmentCountryCode": country,
                "shipmentName": f"Bench Customer {index}",
                "shipmentStreet1": "1 Main Street",
                "shipmentCity": "Newark" if country == "usa" else "Frankfurt",
                "shipmentPostalCode": "07102" if country == "usa" else "60311",
            },
            countries=[country],
            service_types=[service],
            intent_key=f"bench-rh-{index}",
        )
    ids["returnhelper"] = list(
        ProviderCall.objects.filter(account__provider="returnhelper").values_list("pk", flat=True)
    )

    junction = default_account("junction")
    order_ids = sorted(Order.objects.filter(account=junction).values_list("external_id", flat=True))
    for index in range(args.junction):
        first = index % len(order_ids)
        second = (first + 1 + index // len(order_ids)) % len(order_ids)
        submit_junction_orders(
            actor=agent,
            account=junction,
            order_ids=[order_ids[first], order_ids[second]],
            intent_key=f"bench-jn-{index}",
        )
    ids["junction"] = list(
        ProviderCall.objects.filter(account__provider="junction").values_list("pk", flat=True)
    )
    return ids


def drive(args: argparse.Namespace, env: dict[str, str], total: int) -> tuple[int, int, float]:
    """Workers run until every call is final. The worker's process group is SIGKILLed `kills`
    times, spread over the run (after 1/(kills+1), 2/(kills+1), ... of the calls are final),
    each time while calls are in flight. Returns the kills made, the calls in flight they cut
    short, and the seconds taken."""
    from resends.engine.sweeper import due_calls
    from resends.models import ProviderCall
    from resends.models.audit import CallState
    from resends.tasks import execute_call
    from tests.engine.worker import celery_worker, stop

    final = [CallState.SUCCEEDED, CallState.FAILED, CallState.NEEDS_REVIEW, CallState.CANCELLED]
    marks = [total * (n + 1) // (args.kills + 1) for n in range(args.kills)]
    log = ROOT / "var" / "bench" / "resends-under-faults-worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    started = time.monotonic()
    kills = cut_short = 0
    swept = 0.0
    while True:
        # The next worker consumes the same queue: the killed one's messages are redelivered.
        with celery_worker(env, log, concurrency=args.concurrency) as worker:
            while True:
                done = ProviderCall.objects.filter(state__in=final).count()
                now = time.monotonic()
                if done >= total or now - started > SETTLE_TIMEOUT:
                    return kills, cut_short, now - started
                if now - swept >= SWEEP_EVERY:
                    for call_id, _lane in due_calls():
                        execute_call.delay(call_id)
                    swept = now
                in_flight = ProviderCall.objects.filter(state=CallState.IN_FLIGHT).count()
                if kills < len(marks) and done >= marks[kills] and in_flight:
                    stop(worker, signal.SIGKILL)  # the main process and its pool children
                    kills += 1
                    cut_short += in_flight
                    print(
                        f"  SIGKILL {kills} at {now - started:5.1f} s: {done}/{total} final, "
                        f"{in_flight} in flight",
                        flush=True,
                    )
                    break
                time.sleep(0.2)


def judge(sandbox: Any, ids: dict[str, list[int]]) -> dict[str, Tally]:
    import requests

    from resends.models import ProviderCall
    from resends.models.audit import CallState

    tallies: dict[str, Tally] = {}
    for provider in PROVIDERS:
        tally = tallies[provider] = Tally()
        entries = requests.get(
            f"{sandbox.url}/_sandbox/ledger", params={"provider": provider}, timeout=30
        ).json()["entries"]
        tally.effects = len(entries)
        by_intent: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for entry in entries:
            if provider == "junction":  # no idempotency key: the content names the intent
                key: Any = tuple(sorted(entry["details"]["requested_order_ids"]))
            else:
                key = entry["idempotency_key"]
            by_intent[key].append(entry)
        calls = ProviderCall.objects.filter(pk__in=ids[provider]).order_by("pk")
        for call in calls:
            tally.intents += 1
            tally.states[call.state] += 1
            tally.repeats += call.repeats
            if provider == "junction":
                mine = by_intent.pop(tuple(sorted(call.payload["order_ids"])), [])
                allowed = 1 + call.repeats
            else:
                mine = by_intent.pop(str(call.idempotency_key), [])
                allowed = 1
            tally.duplicated += max(0, len(mine) - allowed)
            if call.state == CallState.SUCCEEDED and not mine:
                tally.lost += 1
                tally.problems.append(f"#{call.pk} succeeded with no effect at the provider")
            if mine and call.state in (CallState.FAILED, CallState.CANCELLED):
                tally.lost += 1
                tally.problems.append(f"#{call.pk} {call.state} though the provider applied it")
            if call.state in (CallState.PENDING, CallState.IN_FLIGHT, CallState.UNKNOWN):
                tally.problems.append(f"#{call.pk} still {call.state} at the end")
            if call.state == CallState.SUCCEEDED and mine and provider != "junction":
                result = mine[0]["result"]
                expected = str(result.get("order_id") or result.get("resendId"))
                if call.provider_reference != expected:
                    tally.wrong_reference.append(
                        f"#{call.pk} {call.provider_reference!r} != {expected!r}"
                    )
        for key, stray in by_intent.items():
            tally.duplicated += len(stray)
            tally.problems.append(f"{len(stray)} effect(s) of no intent of ours: {key}")
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chargebee", type=int, default=120)
    parser.add_argument("--returnhelper", type=int, default=96)
    parser.add_argument("--junction", type=int, default=110)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--bulk", action="store_true", help="Chargebee resends in the bulk lane, sent in batches"
    )
    parser.add_argument("--database", default="backoffice_review")
    parser.add_argument("--redis-db", type=int, default=10)
    args = parser.parse_args()

    from sandbox.server import start_in_thread

    sandbox = start_in_thread(port=0, rh_auto_progress=False)
    # A killed worker resets its connections mid-request; expected here, so not printed.
    sandbox.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    env = prepare_environment(args, sandbox)
    recreate_database(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()
    import requests
    from django.core.management import call_command

    from backoffice.celery import app
    from resends.models import ProviderCall
    from resends.models.audit import CallState

    call_command("migrate", "-v0")
    app.control.purge()
    ids = submit_all(args)
    total = sum(len(v) for v in ids.values())
    fault = faults(args.seed)
    requests.post(f"{sandbox.url}/_sandbox/faults", json=fault, timeout=10).raise_for_status()
    counts = ", ".join(f"{p} {len(ids[p])}" for p in PROVIDERS)
    print(f"Resends under faults: {total} intents ({counts}), {args.kills} worker SIGKILLs")
    print(
        "faults on every provider and every request (reads too): 7% 503 before the effect, "
        "3% 503 after it, 5% 429 (Retry-After 1), 5% replies dropped after the effect, "
        f"2% hangs of {HANG_SECONDS:.0f} s past the {READ_TIMEOUT:.0f} s read timeout, "
        f"{LATENCY_MS} ms latency (seed {args.seed})"
    )
    kills, cut_short, seconds = drive(args, env, total)
    injected = requests.get(f"{sandbox.url}/_sandbox/faults", timeout=10).json()["faults"]
    sandbox_counts: Counter[str] = Counter()
    for provider_faults in injected.values():
        sandbox_counts.update(provider_faults["injected"])
    print(
        f"all calls final after {seconds:.0f} s and {kills} kills "
        f"({cut_short} calls were in flight when their worker was killed)"
    )
    print(
        "the sandbox injected: "
        + ", ".join(f"{name} {count}" for name, count in sorted(sandbox_counts.items()))
    )
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=10)

    tallies = judge(sandbox, ids)
    print()
    print(
        f"{'provider':<13}{'intents':>8}{'effects':>9}{'duplicated':>12}{'lost':>6}"
        f"{'succeeded':>11}{'failed':>8}{'review':>8}{'repeats':>9}"
    )
    for provider, t in tallies.items():
        print(
            f"{provider:<13}{t.intents:>8}{t.effects:>9}{t.duplicated:>12}{t.lost:>6}"
            f"{t.states[CallState.SUCCEEDED]:>11}{t.states[CallState.FAILED]:>8}"
            f"{t.states[CallState.NEEDS_REVIEW]:>8}{t.repeats:>9}"
        )
    duplicated = sum(t.duplicated for t in tallies.values())
    lost = sum(t.lost for t in tallies.values())
    print(f"duplicated effects: {duplicated}    lost effects: {lost}")
    wrong = [w for t in tallies.values() for w in t.wrong_reference]
    print(
        "every success carries its effect's provider reference: "
        + ("yes" if not wrong else f"NO: {'; '.join(wrong)}")
    )
    if tallies["junction"].repeats:
        print(
            f"Junction: {tallies['junction'].repeats} replay(s) sent again after an outcome it "
            "could not tell, each recorded on its call (a second webhook; nothing shipped)"
        )
    unknowns = ProviderCall.objects.filter(
        pk__in=[i for v in ids.values() for i in v], attempt_rows__outcome="unknown"
    ).distinct()
    asked_again = ProviderCall.objects.filter(
        pk__in=[i for v in ids.values() for i in v], attempt_rows__outcome="reconcile_failed"
    ).distinct()
    print(
        f"calls with an unknown outcome: {unknowns.count()}; of them reconciled after a failed "
        f"attempt to ask the provider: {asked_again.count()}"
    )
    for problem in (p for t in tallies.values() for p in t.problems):
        print(f"  problem: {problem}")
    review = ProviderCall.objects.filter(
        pk__in=[i for v in ids.values() for i in v], state=CallState.NEEDS_REVIEW
    ).order_by("pk")
    share = 100 * review.count() / total if total else 0.0
    print(f"needs review: {review.count()} of {total} calls ({share:.1f}%)")
    for call in review:
        print(f"  #{call.pk} {call.account.provider}: {call.failure_reason}")
    failed = ProviderCall.objects.filter(
        pk__in=[i for v in ids.values() for i in v], state=CallState.FAILED
    ).order_by("pk")
    for call in failed:
        print(f"  failed #{call.pk} {call.account.provider}: {call.failure_reason[:300]}")
    sandbox.stop()


if __name__ == "__main__":
    main()
