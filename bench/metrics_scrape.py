"""Scrape benchmark: one GET /metrics on the 1M-order, 3M-call PostgreSQL database.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/metrics_scrape.py
    .venv/bin/python bench/metrics_scrape.py --reuse                 # measure again, keep the data
    .venv/bin/python bench/metrics_scrape.py --orders 20000 --calls 60000     # a quick run

The database is scale_audit's (same builder, same default name, so `--reuse` measures the data
either bench made). Printed: what the migration costs on a filled database (installing the
triggers and counting 3M calls while the calls cannot change), p50/p95 of one scrape's server time
and its queries, a scrape with changes waiting for beat's fold (10,000 calls changed since), and
what the counting trigger adds to a call's change of state.

Goal: a scrape under 100 ms and a fixed handful of queries, none of which reads the calls table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale_audit as audit  # noqa: E402  (the database, its fill and the percentile)

TOKEN = "bench-metrics-token-" + "x" * 20
GOAL_MS = 100
CHANGED_SINCE_FOLD = 10_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=3_000_000)
    parser.add_argument("--database-url", default=audit.DEFAULT_URL)
    parser.add_argument("--reuse", action="store_true", help="Keep a filled database as it is.")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument("--show-queries", action="store_true", help="Print the scrape's SQL.")
    return parser.parse_args()


def scrape(client: Any) -> Any:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.status_code
    return response


def measure(client: Any, label: str, args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(args.warmups):
        scrape(client)
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        scrape(client)
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        body = scrape(client).content.decode()
    queries = captured.captured_queries
    calls_table = [q for q in queries if "resends_providercall" in q["sql"]]
    p95 = audit.percentile(timings, 0.95)
    print(
        f"  {label:<44} p50 {statistics.median(timings):6.1f} ms  p95 {p95:6.1f} ms  "
        f"{len(queries)} queries ({len(calls_table)} on the calls table)  "
        f"{len(body.splitlines())} lines  "
        + (f"p95 < {GOAL_MS} ms ok" if p95 < GOAL_MS else f"p95 < {GOAL_MS} ms MISSED")
    )
    if args.show_queries:
        for query in queries:
            print(f"      {float(query['time']) * 1000:7.1f} ms  {query['sql'][:160]}")


def change_calls(count: int, *, offset: int) -> float:
    """Change the state of `count` calls one statement each, as workers do; seconds taken."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, state FROM resends_providercall WHERE state IN ('succeeded', 'failed')"
            " ORDER BY id OFFSET %s LIMIT %s",
            [offset, count],
        )
        rows = cursor.fetchall()
        started = time.perf_counter()
        for pk, state in rows:
            with transaction.atomic():
                cursor.execute(
                    "UPDATE resends_providercall SET state = %s WHERE id = %s",
                    ["failed" if state == "succeeded" else "succeeded", pk],
                )
        return time.perf_counter() - started


def trigger_cost() -> None:
    """The same changes with the counting trigger off and on, alternately (the machine's noise
    hits both), the trigger left on."""
    from django.db import connection

    from resends.services import call_counts

    changes, rounds = 2_000, 3
    timings: dict[bool, list[float]] = {False: [], True: []}
    with connection.cursor() as cursor:
        # Commits that do not wait for the disk, so what is left to compare is the statement.
        cursor.execute("SET synchronous_commit = off")
        try:
            for _ in range(rounds):
                for counting in (False, True):
                    if not counting:
                        cursor.execute(
                            "ALTER TABLE resends_providercall DISABLE TRIGGER resends_count_call"
                        )
                    try:
                        timings[counting].append(change_calls(changes, offset=0))
                        change_calls(changes, offset=0)  # back as they were
                    finally:
                        cursor.execute(
                            "ALTER TABLE resends_providercall ENABLE TRIGGER resends_count_call"
                        )
        finally:
            cursor.execute("RESET synchronous_commit")
    call_counts.compact()
    without, with_trigger = (statistics.median(timings[k]) / changes * 1e6 for k in (False, True))
    print(
        f"  {'a call changing state, one commit each':<44} {without:6.0f} µs without the "
        f"trigger, {with_trigger:6.0f} µs with it ({with_trigger - without:+.0f} µs; median "
        f"of {rounds} rounds of {changes:,})"
    )


def main() -> None:
    args = parse_args()
    requests = max(args.calls // 3, 1)
    existed = audit.ensure_database(args.database_url, reuse=args.reuse)
    audit.setup_django(args.database_url)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from resends.models import CallCount, CallCountChange, Order, ProviderCall
    from resends.services import call_counts

    settings.METRICS_TOKEN = TOKEN
    print(f"Database {urlsplit(args.database_url).path.lstrip('/')}:")
    with audit.Step("migrate"):
        call_command("migrate", verbosity=0)
    if existed and Order.objects.exists():
        print("  reusing the data already there")
    else:
        started = time.perf_counter()
        audit.fill(args.orders, requests, args.calls)
        print(f"  {'fill, total':<44}{time.perf_counter() - started:7.1f} s")
    unfolded = CallCountChange.objects.count()
    if unfolded:  # the fill's inserts went through the triggers
        with audit.Step(f"fold {unfolded:,} count changes"):
            call_counts.compact()
    with audit.Step("install the triggers and count (the migration)"):
        call_counts.install(connection)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) resends_callcountchange")  # as autovacuum would
        cursor.execute("VACUUM (ANALYZE) resends_callcount")
    calls = ProviderCall.objects.count()
    counted = sum(CallCount.objects.values_list("n", flat=True))
    print(f"  calls: {calls:,}; counted by the triggers: {counted:,}")
    assert counted == calls, "the counts do not match the calls"

    print(f"\nBroker {urlsplit(settings.CELERY_BROKER_URL).scheme}; {args.runs} runs after "
          f"{args.warmups} warm-ups; server time in-process.")  # fmt: skip
    client = Client()
    measure(client, "scrape, counts folded", args)
    change_calls(CHANGED_SINCE_FOLD, offset=10_000)
    measure(client, f"scrape, {CHANGED_SINCE_FOLD:,} calls changed since the fold", args)
    with audit.Step(f"fold {CallCountChange.objects.count():,} count changes"):
        call_counts.compact()
    trigger_cost()


if __name__ == "__main__":
    main()
