"""Scale benchmark: the audit admin and the order lookups over a million orders and 3M calls.

    .venv/bin/python bench/scale_audit.py                       # 1M orders, 3M calls (a few minutes)
    .venv/bin/python bench/scale_audit.py --orders 20000 --calls 60000     # a quick run
    .venv/bin/python bench/scale_audit.py --reuse               # measure again, keep the data

It creates (or, with --reuse, keeps) a separate PostgreSQL database, migrates it, fills it with
`INSERT ... SELECT generate_series(...)` (indexes and foreign keys are dropped during the fill and
rebuilt after it, as a restore would), VACUUM ANALYZEs, then times admin pages in-process through
Django's test client, signed in as a manager who is also a superuser. Each view runs --warmups
times untimed, then --runs times; each run searches for a different real value. Printed: p50 and
p95 of the server time and the number of SQL queries per view.

Goals: p95 under 300 ms for the audit changelist and under 100 ms for the order lookups, with
query counts that do not depend on the page.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_scale"
GOALS_MS = {"requests": 300, "calls": 300, "orders": 100}  # p95 of the server time
SPAN_DAYS = 730  # orders and requests spread over two years
SUBMITTERS = 40
FIRST_NAMES = [
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "John",
    "Radia", "Guido", "Karen", "Tim", "Hedy", "Edsger", "Sophie", "Donald", "Annie", "Niklaus",
]  # fmt: skip
LAST_NAMES = [
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
    "Allen", "McCarthy", "Perlman", "Rossum", "Jones", "Berners-Lee", "Lamarr", "Dijkstra",
    "Wilson", "Knuth", "Easley", "Wirth", "Goldberg", "Kay", "Engelbart", "Shannon", "Noether",
]  # fmt: skip
ID_PREFIX = {"junction": "jn", "chargebee": "cb", "returnhelper": "rh"}
DOMAINS = ["example.com", "mail.example.org", "example.net", "post.example", "inbox.example"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=3_000_000)
    parser.add_argument(
        "--requests", type=int, default=None, help="Resend requests (default: calls / 3)."
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reuse", action="store_true", help="Keep a filled database as it is.")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument(
        "--export-rows", type=int, default=100_000, help="Rows in the timed CSV export (0: skip)."
    )
    parser.add_argument("--show-queries", action="store_true", help="Print each view's SQL.")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE the slowest query of each view."
    )
    return parser.parse_args()


# --- The database -----------------------------------------------------------------------------


def ensure_database(url: str, *, reuse: bool) -> bool:
    """Create the database (dropping an old one unless reusing). True if it already existed."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reuse:
            return True
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return False


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")  # the settings' development defaults (sandbox URLs...)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django
    from django.conf import settings

    django.setup()
    # Measure as production runs: no debug pages, no query log kept by the connection.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Step:
    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> None:
        print(f"  {self.label:<44}", end="", flush=True)
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        print(f"{time.perf_counter() - self.started:7.1f} s", flush=True)


def defaults_for_other_columns(model: Any, given: set[str]) -> tuple[list[str], list[Any]]:
    """Columns the fill does not set, with their model default; new columns don't break it."""
    from django.db import connection

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.column in given or field.primary_key:
            continue
        if field.null and not field.has_default():
            continue
        columns.append(field.column)
        values.append(field.get_db_prep_save(field.get_default(), connection))
    return columns, values


def insert_select(cursor: Any, model: Any, exprs: dict[str, str], from_sql: str) -> None:
    other, params = defaults_for_other_columns(model, set(exprs))
    columns = ", ".join([*exprs, *other])
    # The expressions use % (modulo); only the defaults are parameters.
    select = ", ".join([*(e.replace("%", "%%") for e in exprs.values()), *["%s"] * len(other)])
    from_sql = from_sql.replace("%", "%%")
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({columns}) SELECT {select} {from_sql}", params
    )


@dataclass
class Deferred:
    indexes: list[str]
    constraints: list[tuple[str, str, str]]  # table, name, definition


def drop_indexes_and_keys(cursor: Any, tables: list[str]) -> Deferred:
    """Unique and foreign keys and plain indexes go during the fill; primary keys stay."""
    deferred = Deferred([], [])
    for table in tables:
        cursor.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = %s::regclass AND contype IN ('u', 'f')
               ORDER BY contype""",
            [table],
        )
        for name, definition in cursor.fetchall():
            deferred.constraints.append((table, name, definition))
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.tablename = %s AND NOT EXISTS (
                   SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            [table],
        )
        for name, definition in cursor.fetchall():
            deferred.indexes.append(definition)
            cursor.execute(f'DROP INDEX "{name}"')
    return deferred


def restore_indexes_and_keys(cursor: Any, deferred: Deferred) -> None:
    uniques = [c for c in deferred.constraints if c[2].startswith("UNIQUE")]
    foreign = [c for c in deferred.constraints if not c[2].startswith("UNIQUE")]
    for table, name, definition in uniques:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for definition in deferred.indexes:
        cursor.execute(definition)
    for table, name, definition in foreign:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def fill(orders: int, requests: int, calls: int) -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from resends.models import (
        CallAttempt,
        LineItem,
        Order,
        ProviderAccount,
        ProviderCall,
        ResendRequest,
        ResendTarget,
        ReturnInventory,
    )
    from resends.roles import AGENTS, MANAGERS

    accounts = ProviderAccount.objects.filter(is_default=True).order_by("id")
    account_ids, providers = map(list, zip(*accounts.values_list("id", "provider"), strict=True))
    prefixes = [ID_PREFIX[p] for p in providers]
    agents = Group.objects.get(name=AGENTS)
    submitters = []
    for n in range(SUBMITTERS):
        user = User.objects.create_user(f"agent{n:02d}", f"agent{n:02d}@backoffice.test", "x")
        user.groups.add(agents)
        submitters.append(user.pk)
    manager = User.objects.create_superuser("bench_manager", "m@backoffice.test", "x")
    manager.groups.add(Group.objects.get(name=MANAGERS))

    per_account = orders // 3
    seconds = SPAN_DAYS * 86400
    tables = [
        m._meta.db_table
        for m in (Order, LineItem, ReturnInventory, ResendRequest, ResendTarget, ProviderCall)
    ] + [CallAttempt._meta.db_table]
    # Order g (1..N) belongs to account (g-1) % 3; its external id is <provider prefix>_<g>.
    account_of = f"(ARRAY{account_ids})[(g - 1) % 3 + 1]"
    prefix_of = f"(ARRAY{prefixes})[(g - 1) % 3 + 1]"
    # Request r is about order ((r * 7919) % per_account) * 3 + (r-1) % 3 + 1: same account.
    order_of_request = f"(((r::bigint * 7919) % {per_account}) * 3 + (r - 1) % 3 + 1)"
    second_order = f"(((r::bigint * 104729) % {per_account}) * 3 + (r - 1) % 3 + 1)"
    submitted = f"now() - (({requests} - r) * {seconds}.0 / {requests}) * interval '1 second'"
    kind_for = {
        "junction": "junction_orders",
        "chargebee": "chargebee_full",
        "returnhelper": "returnhelper",
    }
    operation_for = {
        "junction": "junction.resend_events",
        "chargebee": "chargebee.resend_order",
        "returnhelper": "returnhelper.create_resend",
    }
    kinds = "ARRAY['{}']".format("','".join(kind_for[p] for p in providers))
    operations = "ARRAY['{}']".format("','".join(operation_for[p] for p in providers))

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        deferred = drop_indexes_and_keys(cursor, tables)

        with Step(f"{orders:,} orders"):
            insert_select(
                cursor,
                Order,
                {
                    "id": "g",
                    "account_id": account_of,
                    "external_id": f"{prefix_of} || '_ord_' || lpad(g::text, 8, '0')",
                    "customer_name": f"(ARRAY{FIRST_NAMES})[g % 20 + 1] || ' ' || (ARRAY{LAST_NAMES})[g % 23 % 25 + 1]",
                    # About 2.5 orders per customer: the email repeats every 400,000 orders.
                    "customer_email": f"lower((ARRAY{FIRST_NAMES})[g % 400000 % 20 + 1] || '.' || (ARRAY{LAST_NAMES})[g % 400000 % 23 % 25 + 1]) || (g % 400000) || '@' || (ARRAY{DOMAINS})[g % 5 + 1]",
                    "status": "(ARRAY['paid','shipped','delivered','shipped','delivered'])[g % 5 + 1]",
                    "provider_created_at": f"now() - (({orders} - g) * {seconds}.0 / {orders}) * interval '1 second'",
                    "provider_updated_at": f"now() - (({orders} - g) * {seconds}.0 / {orders}) * interval '1 second'",
                    "raw": "jsonb_build_object('id', g, 'status', 'shipped', 'currency_code', 'USD')",
                    "synced_at": "now()",
                },
                f"FROM generate_series(1, {orders}) g",
            )
        with Step(f"{per_account:,} line items"):
            insert_select(
                cursor,
                LineItem,
                {
                    "order_id": "g",
                    "external_id": "'li_' || g",
                    "description": "'Blood test kit'",
                    "sku": "'SKU-' || (g % 40)",
                    "quantity": "1 + g % 3",
                    "status": "'shipped'",
                },
                f"FROM generate_series(1, {orders}) g WHERE (g - 1) % 3 = 1",
            )
        inventories = max(orders // 30, 10)
        with Step(f"{inventories:,} return inventories"):
            insert_select(
                cursor,
                ReturnInventory,
                {
                    "account_id": str(account_ids[providers.index("returnhelper")]),
                    "external_id": "'inv' || g",
                    "warehouse_id": "'WH-' || (g % 4)",
                    "handling_code": "(ARRAY['tbc','rtn','rsd','dis'])[g % 4 + 1]",
                    "rma": "'RMA-' || lpad(g::text, 8, '0')",
                    "sku": "'SKU-' || (g % 40)",
                    "quantity": "1",
                    "provider_created_at": "now() - g * interval '5 minutes'",
                    "synced_at": "now()",
                },
                f"FROM generate_series(1, {inventories}) g",
            )
        states = (
            "(ARRAY['succeeded','succeeded','succeeded','succeeded','succeeded','succeeded',"
            "'succeeded','failed','partly_failed','queued','needs_review','cancelled',"
            "'awaiting_approval','succeeded','succeeded','succeeded','succeeded','succeeded',"
            "'failed','succeeded'])[r % 20 + 1]"
        )  # ~70% succeeded, 10% failed
        with Step(f"{requests:,} resend requests"):
            insert_select(
                cursor,
                ResendRequest,
                {
                    "id": "r",
                    "public_id": "gen_random_uuid()",
                    "intent_key": "'bench-' || r",
                    "fingerprint": "md5(r::text)",
                    "submitted_by_id": f"(ARRAY{submitters})[(r * 31) % {SUBMITTERS} + 1]",
                    "submitted_at": submitted,
                    "channel": "(ARRAY['web','web','web','cli','bulk','schedule'])[r % 6 + 1]",
                    "account_id": f"(ARRAY{account_ids})[(r - 1) % 3 + 1]",
                    "kind": f"({kinds})[(r - 1) % 3 + 1]",
                    "selection": "jsonb_build_object('orders', jsonb_build_array(r))",
                    "reason_code": "(ARRAY['Lost in transit','Damaged in transit','Wrong item shipped','Missing item'])[r % 4 + 1]",
                    "note": "CASE WHEN r % 7 = 0 THEN 'Customer called twice' ELSE '' END",
                    "state": states,
                    "state_changed_at": submitted,
                },
                f"FROM generate_series(1, {requests}) r",
            )
        with Step(f"{requests + requests // 5:,} resend targets"):
            insert_select(
                cursor,
                ResendTarget,
                {"request_id": "r", "order_id": order_of_request, "external_ref": "''"},
                f"FROM generate_series(1, {requests}) r",
            )
            insert_select(
                cursor,
                ResendTarget,
                {"request_id": "r", "order_id": second_order, "external_ref": "''"},
                f"FROM generate_series(5, {requests}, 5) r",
            )
        call_state = (
            "(ARRAY['succeeded','succeeded','succeeded','succeeded','succeeded','succeeded',"
            "'succeeded','succeeded','failed','pending','succeeded','succeeded','succeeded',"
            "'succeeded','succeeded','succeeded','unknown','failed','succeeded','needs_review'])"
            "[c % 20 + 1]"
        )
        with Step(f"{calls:,} provider calls"):
            insert_select(
                cursor,
                ProviderCall,
                {
                    "id": "c",
                    "request_id": "r",
                    "account_id": f"(ARRAY{account_ids})[(r - 1) % 3 + 1]",
                    "subject": f"(ARRAY{prefixes})[(r - 1) % 3 + 1] || '_ord_' || lpad({order_of_request}::text, 8, '0')",
                    "idempotency_key": "gen_random_uuid()",
                    "intent_key": "'bench-call-' || c",
                    "operation": f"({operations})[(r - 1) % 3 + 1]",
                    "payload": "'{}'::jsonb",
                    "state": call_state,
                    "attempts": "1",
                    "provider_reference": f"CASE WHEN {call_state} = 'succeeded' THEN 'ref_' || lpad(c::text, 9, '0') ELSE '' END",
                    "error_class": f"CASE WHEN {call_state} = 'failed' THEN 'permanent' ELSE '' END",
                    "created_at": f"{submitted} + interval '2 seconds'",
                    "updated_at": f"{submitted} + interval '5 seconds'",
                    "finished_at": f"CASE WHEN {call_state} IN ('succeeded','failed') THEN {submitted} + interval '5 seconds' END",
                },
                f"FROM generate_series(1, {calls}) c, LATERAL (SELECT (c - 1) % {requests} + 1 AS r) x",
            )
        with Step(f"{calls // 3:,} call attempts"):
            insert_select(
                cursor,
                CallAttempt,
                {
                    "call_id": "c",
                    "number": "1",
                    "celery_task_id": "md5(c::text)::uuid::text",
                    "worker": "'celery@worker-' || (c % 4)",
                    "started_at": "now() - c * interval '20 seconds'",
                    "finished_at": "now() - c * interval '20 seconds' + interval '350 ms'",
                    "duration_ms": "200 + c % 900",
                    "request_redacted": "jsonb_build_object('method', 'POST', 'headers', jsonb_build_object('Authorization', '***'))",
                    "response_status": "200",
                    "response_excerpt": "'{\"ok\": true}'",
                    "outcome": "'succeeded'",
                },
                f"FROM generate_series(3, {calls}, 3) c",
            )
        with Step("indexes and keys"):
            restore_indexes_and_keys(cursor, deferred)
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
    with Step("vacuum analyze"), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


# --- Measuring --------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    p50: float
    p95: float
    queries: int
    rows: int
    slowest_sql: str


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def measure(
    client: Any, label: str, path: str, params: Callable[[int], dict[str, str]], args: Any
) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get(run: int) -> Any:
        response = client.get(path, params(run))
        assert response.status_code == 200, (label, response.status_code)
        return response

    for run in range(args.warmups):
        get(run)
    timings = []
    for run in range(args.runs):
        started = time.perf_counter()
        get(run)
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        response = get(0)
    slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
    if args.show_queries:
        print(f"\n--- {label}")
        for query in captured.captured_queries:
            print(f"{float(query['time']) * 1000:8.1f} ms  {query['sql'][:300]}")
    cl = response.context_data["cl"]
    return Result(
        label,
        statistics.median(timings),
        percentile(timings, 0.95),
        len(captured.captured_queries),
        len(cl.result_list),
        slowest["sql"],
    )


def sample_values(count: int) -> dict[str, list[str]]:
    """Real values to search for, spread over the data; a different one on each run."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT o.external_id, o.customer_email FROM resends_resendtarget t
               JOIN resends_order o ON o.id = t.order_id
               WHERE t.id IN (SELECT (random() * (SELECT max(id) FROM resends_resendtarget))::int
                              FROM generate_series(1, %s))""",
            [count * 2],
        )
        targets = cursor.fetchall()[:count]
        cursor.execute(
            """SELECT provider_reference FROM resends_providercall
               WHERE id IN (SELECT (random() * (SELECT max(id) FROM resends_providercall))::int
                            FROM generate_series(1, %s)) AND provider_reference <> ''""",
            [count * 3],
        )
        references = [row[0] for row in cursor.fetchall()][:count]
        cursor.execute(
            """SELECT external_id, customer_email, customer_name FROM resends_order
               WHERE id IN (SELECT (random() * (SELECT max(id) FROM resends_order))::int
                            FROM generate_series(1, %s))""",
            [count * 2],
        )
        orders = cursor.fetchall()[:count]
    return {
        "request_order": [t[0] for t in targets],
        "request_email": [t[1] for t in targets],
        "reference": references,
        "order_id": [o[0] for o in orders],
        "order_email": [o[1] for o in orders],
        # A name prefix as an agent types it: first name and the start of the last ("ada lo").
        "order_name": [o[2][: o[2].index(" ") + 3].lower() for o in orders],
    }


def measure_export(client: Any, rows_wanted: int) -> None:
    """Stream a filtered export of about `rows_wanted` requests; report time, size and memory."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from resends.models import ResendRequest

    newest = ResendRequest.objects.order_by("-submitted_at").values_list("submitted_at", flat=True)
    since = newest[rows_wanted - 1] if newest.count() >= rows_wanted else None
    params = {"submitted_at__gte": since.isoformat()} if since else {}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("admin:resends_resendrequest_export"), params)
        first_chunk_at = None
        size = lines = 0
        for chunk in response.streaming_content:
            if first_chunk_at is None:
                first_chunk_at = time.perf_counter() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    print(
        f"\nCSV export: {lines - 1:,} rows, {size / 1e6:.1f} MB in {elapsed:.1f} s "
        f"(first bytes after {first_chunk_at or 0:.2f} s), {len(captured.captured_queries)} "
        f"queries, peak memory grew {rss_growth:.0f} MB"
    )


def run_benchmark(args: argparse.Namespace) -> list[Result]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from resends.models import Provider, ProviderAccount

    client = Client()
    client.force_login(User.objects.get(username="bench_manager"))
    values = sample_values(args.runs + args.warmups)

    def pick(kind: str, param: str = "q") -> Callable[[int], dict[str, str]]:
        return lambda run: {param: values[kind][run % len(values[kind])]}

    junction = ProviderAccount.objects.get(provider=Provider.JUNCTION, is_default=True).pk
    requests = reverse("admin:resends_resendrequest_changelist")
    orders = reverse("admin:resends_order_changelist")
    calls = reverse("admin:resends_providercall_changelist")
    views = [
        ("requests: no filter", requests, lambda run: {}),
        ("requests: state=failed", requests, lambda run: {"state__exact": "failed"}),
        (
            "requests: account=junction",
            requests,
            lambda run: {"account__id__exact": str(junction)},
        ),
        ("requests: search order id", requests, pick("request_order")),
        ("requests: search email", requests, pick("request_email")),
        ("requests: search provider ref", requests, pick("reference")),
        ("requests: page 50", requests, lambda run: {"p": "50"}),
        ("calls: no filter", calls, lambda run: {}),
        ("orders: lookup by id", orders, pick("order_id")),
        ("orders: lookup by email", orders, pick("order_email")),
        ("orders: name prefix", orders, pick("order_name")),
    ]
    results = [measure(client, label, path, params, args) for label, path, params in views]

    print(f"\n{'view':<32} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'rows':>6}  goal")
    for result in results:
        goal = GOALS_MS.get(result.label.split(":")[0])
        if result.label == "orders: name prefix":
            goal = None  # not a goal: its cost grows with how many customers share the prefix
        verdict = (
            "-" if goal is None else f"p95 < {goal} ms " + ("ok" if result.p95 < goal else "MISSED")
        )
        print(
            f"{result.label:<32} {result.p50:8.1f} {result.p95:8.1f} {result.queries:8d} "
            f"{result.rows:6d}  {verdict}"
        )
    if args.explain:
        for result in results:
            print(f"\n--- {result.label}: slowest query\n{result.slowest_sql}\n")
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + result.slowest_sql)
                print("\n".join(row[0] for row in cursor.fetchall()))
    if args.export_rows:
        measure_export(client, args.export_rows)
    return results


def main() -> None:
    args = parse_args()
    requests = args.requests or max(args.calls // 3, 1)
    if args.orders < 30 or requests < 5 or args.calls < requests:
        sys.exit("Need at least 30 orders, 5 requests, and as many calls as requests.")
    existed = ensure_database(args.database_url, reuse=args.reuse)
    setup_django(args.database_url)
    from django.core.management import call_command

    from resends.models import Order

    print(f"Database {urlsplit(args.database_url).path.lstrip('/')}:")
    with Step("migrate"):
        call_command("migrate", verbosity=0)
    if existed and Order.objects.exists():
        print("  reusing the data already there")
    else:
        started = time.perf_counter()
        fill(args.orders, requests, args.calls)
        print(f"  {'fill, total':<44}{time.perf_counter() - started:7.1f} s")
    print(f"\n{args.runs} runs after {args.warmups} warm-ups; server time in-process.")
    run_benchmark(args)


if __name__ == "__main__":
    main()
