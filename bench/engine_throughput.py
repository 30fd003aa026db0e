#!/usr/bin/env python3
"""Engine benchmark: our own overhead per provider call, and resend throughput with real workers.

    .venv/bin/python bench/engine_throughput.py [--calls 1000] [--concurrency 16] [--overhead-calls 200]

Uses PostgreSQL (database bench_engine, recreated) and Redis (db 14) on 127.0.0.1, and an
in-process provider sandbox. Prints:
1. overhead: sandbox latency 0, calls processed one by one in this process: wall time per call,
   the part spent inside HTTP, the rest (ours), and database queries per call;
2. throughput: N Junction replays submitted at once, sandbox latency 100 ms, one Celery worker
   process (thread pool) with the chosen concurrency: resends per second end to end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "bench_engine"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
BROKER = "redis://127.0.0.1:6379/14"


def prepare_environment(sandbox_urls: dict[str, str]) -> dict[str, str]:
    env = {
        "DEBUG": "1",
        "IGNORE_DOTENV": "1",
        "DATABASE_URL": DB_URL,
        "CELERY_BROKER_URL": BROKER,
        "LOG_LEVEL": "WARNING",
        # The engine's own cost, not the rate budget's spacing (bulk_throughput measures that).
        "JUNCTION_RATE_PER_SECOND": "0",
        "CHARGEBEE_RATE_PER_SECOND": "0",
        "RETURNHELPER_RATE_PER_SECOND": "0",
        **sandbox_urls,
    }
    os.environ.update(env)
    return {**os.environ, **env}


def recreate_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--overhead-calls", type=int, default=200)
    args = parser.parse_args()

    from sandbox.server import start_in_thread

    sandbox = start_in_thread(port=0)
    env = prepare_environment(
        {
            "JUNCTION_BASE_URL": sandbox.junction_url,
            "CHARGEBEE_BASE_URL": sandbox.chargebee_url,
            "RETURNHELPER_BASE_URL": sandbox.returnhelper_user_url,
            "RETURNHELPER_PUBLIC_BASE_URL": sandbox.returnhelper_public_url,
        }
    )
    recreate_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()
    import requests
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from backoffice.celery import app
    from resends.accounts import default_account
    from resends.engine.execution import process_call
    from resends.models import CallAttempt, ProviderCall
    from resends.models.audit import CallState
    from resends.providers.junction.mirror import order_record_from_json
    from resends.services.mirrors import upsert_order
    from resends.services.submit import submit_junction_orders

    call_command("migrate", "-v0")
    account = default_account("junction")
    from sandbox.dataset import build_dataset

    order_ids = [raw["id"] for raw in build_dataset(seed=42).junction_orders]
    for raw in build_dataset(seed=42).junction_orders:
        upsert_order(account, order_record_from_json(raw))
    agent = User.objects.create_user("bench-agent")

    def submit(n: int, tag: str, start: int = 0) -> list[int]:
        ids = []
        for i in range(start, start + n):
            # Distinct content per intent: the same ids again would be (rightly) deduplicated.
            first = i % len(order_ids)
            second = (first + 1 + i // len(order_ids)) % len(order_ids)
            submitted = submit_junction_orders(
                actor=agent,
                account=account,
                order_ids=[order_ids[first], order_ids[second]],
                intent_key=f"{tag}-{i}-{uuid.uuid4()}",
            )
            ids += list(submitted.request.calls.values_list("pk", flat=True))
        return ids

    # 1. Overhead per call at latency 0.
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5)
    call_ids = submit(args.overhead_calls, "overhead")
    walls, queries = [], []
    for call_id in call_ids:
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            process_call(call_id, worker="bench")
            walls.append((time.perf_counter() - started) * 1000)
        queries.append(len(ctx.captured_queries))
    attempts = CallAttempt.objects.filter(call_id__in=call_ids)
    http = [ms for ms in attempts.values_list("duration_ms", flat=True) if ms is not None]
    ours = statistics.median(walls) - statistics.median(http)
    print(f"overhead ({len(call_ids)} calls, sandbox latency 0, PostgreSQL):")
    print(
        f"  wall per call   p50 {statistics.median(walls):6.1f} ms   p95 {sorted(walls)[int(len(walls) * 0.95)]:6.1f} ms"
    )
    print(f"  inside HTTP     p50 {statistics.median(http):6.1f} ms")
    print(f"  ours (wall-HTTP) p50 {ours:5.1f} ms")
    print(
        f"  queries per call  {statistics.median(queries):.0f} (min {min(queries)}, max {max(queries)})"
    )

    # 2. Throughput with a real worker at 100 ms latency.
    requests.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"provider": "junction", "latency_ms": 100},
        timeout=5,
    )
    app.control.purge()
    log = ROOT / "var" / "bench-worker.log"
    log.parent.mkdir(exist_ok=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backoffice", "worker", "-P", "threads", "-c", str(args.concurrency),
         "-l", "WARNING", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(4)  # let the worker connect before the clock starts
    from django.db import transaction

    started = time.perf_counter()
    with transaction.atomic():
        call_ids = submit(args.calls, "throughput", start=args.overhead_calls)
    submitted_at = time.perf_counter()
    pending = set(call_ids)
    while pending and time.perf_counter() - started < 600:
        done = set(
            ProviderCall.objects.filter(
                pk__in=pending, state__in=[CallState.SUCCEEDED, CallState.FAILED]
            ).values_list("pk", flat=True)
        )
        pending -= done
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    worker.terminate()
    worker.wait(timeout=30)
    succeeded = ProviderCall.objects.filter(pk__in=call_ids, state=CallState.SUCCEEDED).count()
    ledger = requests.get(
        f"{sandbox.url}/_sandbox/ledger", params={"provider": "junction"}, timeout=30
    ).json()["entries"]
    print(
        f"throughput ({args.calls} resends, sandbox latency 100 ms, 1 worker, {args.concurrency} threads):"
    )
    print(f"  submit all       {submitted_at - started:6.1f} s")
    print(
        f"  end to end       {elapsed:6.1f} s   {succeeded / elapsed:6.1f} resends/s   succeeded {succeeded}/{args.calls}"
    )
    drain = elapsed - (submitted_at - started)
    print(f"  after commit     {drain:6.1f} s   {succeeded / drain:6.1f} resends/s")
    effects = len(ledger) - args.overhead_calls  # phase 1 made one effect per call
    print(
        f"  ideal at this concurrency {args.concurrency / 0.1:6.1f} resends/s; "
        f"sandbox effects {effects} for {args.calls} intents"
    )
    sandbox.stop()


if __name__ == "__main__":
    main()
