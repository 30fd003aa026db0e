"""Console benchmark: the staff console's search, pages and HTMX fragments over a million orders.

    .venv/bin/python bench/console_speed.py                  # reuse bench_scale, fill it if missing
    .venv/bin/python bench/console_speed.py --fresh --orders 20000 --calls 60000   # a quick run
    .venv/bin/python bench/console_speed.py --show-queries --explain   # why a view is slow

It uses the database of bench/scale_audit.py (kept as it is when it already holds orders; created
and filled with scale_audit's fill otherwise, or with --fresh), migrates it, then adds once what the
console needs and that fill leaves out: return inventories linked to orders (RMA search, the order
page's inventories), tracking and resend numbers on Return Helper calls, and partial Chargebee
resends whose targets are line items (the "already resent" column). Each view then runs --warmups
times untimed and --runs times, in-process through Django's test client, signed in as an agent
(the "Customer service" group), each run with a different real value sampled from the database.
Printed: p50 and p95 of the server time and the number of SQL queries per view.

Goals (the issue): p95 under 100 ms for a search (the full page or its HTMX results fragment) and
under 50 ms for an HTMX fragment. Plain pages are reported without a goal.
"""

from __future__ import annotations

import argparse
import html
import random
import re
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale_audit as audit  # noqa: E402  (the database, its fill and the percentile)

GOALS_MS = {"search": 100.0, "fragment": 50.0}  # p95 of the server time; pages have no goal
HX = {"HX-Request": "true"}
AGENT = "bench_console_agent"
# The extra fill, relative to the orders and calls there: 1 in 20 orders, 1 in 30 calls.
INVENTORY_SHARE = 20
TRACKED_CALL_SHARE = 30
# First names the fill never uses: a search for a customer who is not in the mirror (or a typo).
UNKNOWN_NAMES = [
    "Beatrix", "Cornelius", "Ingrid", "Olga", "Priya", "Quentin", "Umberto", "Valentina",
    "Wanda", "Xavier", "Yusuf", "Zora",
]  # fmt: skip
MORE_LINK = re.compile(r'id="more-row".*?hx-get="([^"]+)"', re.S)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="For a new fill only.")
    parser.add_argument("--calls", type=int, default=3_000_000, help="For a new fill only.")
    parser.add_argument(
        "--requests", type=int, default=None, help="Resend requests (default: calls / 3)."
    )
    parser.add_argument("--database-url", default=audit.DEFAULT_URL)
    keep = parser.add_mutually_exclusive_group()
    keep.add_argument(
        "--reuse",
        action="store_true",
        default=True,
        help="Keep a filled database as it is (the default).",
    )
    keep.add_argument(
        "--fresh",
        dest="reuse",
        action="store_false",
        help="Drop the database and fill it again with --orders and --calls.",
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None, help="Repeat the same sample values.")
    parser.add_argument("--only", default="", help="Only the views whose name contains this.")
    parser.add_argument("--show-queries", action="store_true", help="Print each view's SQL.")
    parser.add_argument(
        "--explain",
        nargs="?",
        const="missed",
        choices=["missed", "all"],
        help="EXPLAIN ANALYZE the slowest query of each view that missed its goal (or of all).",
    )
    return parser.parse_args()


# --- What the console needs beyond scale_audit's fill ----------------------------------------


def fill_console_extras() -> None:
    """Inventories linked to orders, tracking and resend numbers on Return Helper calls, and
    partial Chargebee resends of line items. Once per database (one transaction, one marker)."""
    from django.db import connection, transaction

    from resends.models import Order, ProviderAccount, ProviderCall, ReturnInventory

    marker = "csinv1-1"
    if ReturnInventory.objects.filter(external_id=marker).exists():
        print("  console extras already there")
        return
    returnhelper = ProviderAccount.objects.get(provider="returnhelper", is_default=True)
    orders = Order.objects.count()
    calls = ProviderCall.objects.count()
    linked_orders = max(orders // INVENTORY_SHARE // 2, 5)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        with audit.Step(f"{linked_orders * 2:,} inventories of {linked_orders:,} orders"):
            # Two returned items per order, under one RMA, spread over all Return Helper orders.
            audit.insert_select(
                cursor,
                ReturnInventory,
                {
                    "account_id": str(returnhelper.pk),
                    "external_id": "'csinv' || o.n || '-' || k",
                    "warehouse_id": "'WH-' || (o.n % 4)",
                    "handling_code": "(ARRAY['tbc','rtn','rsd','dis'])[(o.n + k) % 4 + 1]",
                    "rma": "'RMA-C' || lpad(o.n::text, 7, '0')",
                    "sku": "'SKU-' || ((o.n + k) % 40)",
                    "description": "'Returned kit ' || k",
                    "quantity": "1",
                    "order_id": "o.id",
                    "provider_created_at": "o.provider_created_at + interval '12 days'",
                    "synced_at": "now()",
                },
                f"""FROM (SELECT id, provider_created_at, row_number() OVER () AS n
                          FROM (SELECT id, provider_created_at FROM resends_order
                                WHERE account_id = {returnhelper.pk}
                                ORDER BY md5(id::text) LIMIT {linked_orders}) s) o,
                     generate_series(1, 2) k""",
            )
        tracked = max(calls // TRACKED_CALL_SHARE, 5)
        with audit.Step(f"{tracked:,} calls with tracking and resend no."):
            cursor.execute(
                f"""UPDATE resends_providercall
                    SET provider_reference_2 = 'RS' || lpad(id::text, 10, '0'),
                        tracking_number = '1Z' || upper(substr(md5(id::text), 1, 16)),
                        provider_status = 'shipped'
                    WHERE id IN (SELECT id FROM resends_providercall
                                 WHERE operation = 'returnhelper.create_resend'
                                   AND state = 'succeeded'
                                 ORDER BY md5(id::text) LIMIT {tracked})"""
            )
        with audit.Step("partial Chargebee resends (line targets)"):
            # One Chargebee request in 15 becomes a partial resend of its order's line.
            cursor.execute(
                """UPDATE resends_resendtarget t
                   SET line_item_id = li.id, quantity = 1, external_ref = li.external_id
                   FROM resends_lineitem li, resends_resendrequest r
                   WHERE li.order_id = t.order_id AND r.id = t.request_id
                     AND r.kind = 'chargebee_full' AND r.id % 4 = 2 AND r.id % 5 <> 0"""
            )
            cursor.execute(
                """UPDATE resends_resendrequest SET kind = 'chargebee_partial'
                   WHERE kind = 'chargebee_full' AND id % 4 = 2 AND id % 5 <> 0
                     AND EXISTS (SELECT 1 FROM resends_resendtarget t
                                 WHERE t.request_id = resends_resendrequest.id
                                   AND t.line_item_id IS NOT NULL)"""
            )
    with audit.Step("vacuum analyze"), connection.cursor() as cursor:
        for table in ("returninventory", "providercall", "resendtarget", "resendrequest"):
            cursor.execute(f"VACUUM (ANALYZE) resends_{table}")


def agent_user() -> Any:
    """An agent: in the "Customer service" group only, not staff, not a superuser."""
    from django.contrib.auth.models import Group, User

    from resends.roles import AGENTS, ensure_roles

    if not Group.objects.filter(name=AGENTS).exists():
        ensure_roles()
    user, _ = User.objects.get_or_create(username=AGENT, defaults={"email": "a@backoffice.test"})
    user.groups.set([Group.objects.get(name=AGENTS)])
    return user


def database_size() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        counts = []
        for table, label in (
            ("order", "orders"),
            ("lineitem", "line items"),
            ("returninventory", "inventories"),
            ("resendrequest", "requests"),
            ("resendtarget", "targets"),
            ("providercall", "calls"),
        ):
            cursor.execute(f"SELECT count(*) FROM resends_{table}")
            counts.append(f"{cursor.fetchone()[0]:,} {label}")
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    return f"{', '.join(counts)}; {size} on disk"


# --- Sample values -----------------------------------------------------------------------------


def random_rows(sql: str, table: str, count: int) -> list[tuple[Any, ...]]:
    """Rows of `sql` (which ends in a WHERE clause on `table`, aliased x) for random ids."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""{sql} AND x.id IN (
                    SELECT (random() * (SELECT max(id) FROM {table}))::int
                    FROM generate_series(1, %s))""",
            [count * 3],
        )
        rows = cursor.fetchall()
    random.shuffle(rows)
    return rows[:count]


def rows_of(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


@dataclass
class Samples:
    orders: list[tuple[str, str, str]]  # external id, email, name
    chargebee: list[tuple[int, int]]  # order pk, one of its line pks
    rmas: list[str]
    call_refs: list[str]  # tracking numbers and resend numbers, alternating
    requests: list[str]  # public ids
    filters: list[dict[str, str]]  # account + a date range


def sample_values(count: int) -> Samples:
    from django.db.models import Max, Min

    from resends.models import Order, ProviderAccount

    orders = random_rows(
        "SELECT x.external_id, x.customer_email, x.customer_name FROM resends_order x WHERE true",
        "resends_order",
        count,
    )
    chargebee = random_rows(
        "SELECT x.order_id, x.id FROM resends_lineitem x WHERE true", "resends_lineitem", count
    )
    rmas = [
        r[0]
        for r in rows_of(
            """SELECT rma FROM (SELECT DISTINCT rma FROM resends_returninventory
                                WHERE order_id IS NOT NULL AND rma <> '') r
               ORDER BY random() LIMIT %s""",
            [count],
        )
    ]
    tracking = rows_of(
        """SELECT tracking_number, provider_reference_2 FROM resends_providercall
           WHERE tracking_number > '' ORDER BY random() LIMIT %s""",
        [count],
    )
    call_refs = [row[n % 2] for n, row in enumerate(tracking) if row[n % 2]]
    requests = [
        str(r[0])
        for r in random_rows(
            "SELECT x.public_id FROM resends_resendrequest x WHERE true",
            "resends_resendrequest",
            count,
        )
    ]
    accounts = list(ProviderAccount.objects.filter(is_active=True).values_list("pk", flat=True))
    dates = Order.objects.aggregate(
        oldest=Min("provider_created_at"), newest=Max("provider_created_at")
    )
    oldest, newest = dates["oldest"], dates["newest"]
    assert oldest is not None and newest is not None, "orders without creation dates"
    span = max((newest - oldest).days, 60)
    filters = []
    for _ in range(count):
        days = random.randint(7, 31)
        start = (oldest + timedelta(days=random.randint(0, span - days))).date()
        filters.append(
            {
                "q": "",
                "account": str(random.choice(accounts)),
                "created_from": start.isoformat(),
                "created_to": (start + timedelta(days=days)).isoformat(),
            }
        )
    return Samples(orders, chargebee, rmas, call_refs, requests, filters)


# --- Measuring ---------------------------------------------------------------------------------


@dataclass
class View:
    name: str
    kind: str  # page, fragment or search
    request: Callable[[int], Any]  # run number -> response
    expect: Callable[[int], str] | None = None  # text the response must contain
    htmx: bool = False  # sent with HX-Request: answers a partial, not the whole page

    @property
    def goal(self) -> float | None:
        return GOALS_MS.get(self.kind)


@dataclass
class Result:
    view: View
    p50: float
    p95: float
    queries: int
    size_kb: float
    slowest_sql: str
    slowest_ms: float

    @property
    def met(self) -> bool | None:
        return None if self.view.goal is None else self.p95 < self.view.goal


def check(view: View, run: int, response: Any) -> None:
    assert response.status_code in (200, 286), (view.name, response.status_code)
    body = response.content.decode()
    assert ("<html" in body) != view.htmx, (view.name, "a page and a fragment mixed up")
    if view.expect is not None:
        wanted = view.expect(run)
        assert wanted in body or html.escape(wanted) in body, (view.name, wanted)


def measure(view: View, args: argparse.Namespace) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Warm-ups, timed runs and the counted run each get their own value (run numbers differ).
    for run in range(args.warmups):
        check(view, run, view.request(run))
    timings = []
    for run in range(args.warmups, args.warmups + args.runs):
        started = time.perf_counter()
        response = view.request(run)
        timings.append((time.perf_counter() - started) * 1000)
        check(view, run, response)
    counted = args.warmups + args.runs
    with CaptureQueriesContext(connection) as captured:
        response = view.request(counted)
    check(view, counted, response)
    queries = captured.captured_queries
    slowest = max(queries, key=lambda q: float(q["time"]))
    if args.show_queries:
        print(f"\n--- {view.name}")
        for query in queries:
            print(f"{float(query['time']) * 1000:8.1f} ms  {query['sql'][:400]}")
    return Result(
        view,
        statistics.median(timings),
        audit.percentile(timings, 0.95),
        len(queries),
        len(response.content) / 1024,
        slowest["sql"],
        float(slowest["time"]) * 1000,
    )


def more_cursor(response: Any) -> str:
    """The `after` cursor of the "Show more orders" link in a find response ('' on the last)."""
    match = MORE_LINK.search(response.content.decode())
    if not match:
        return ""
    query = urlsplit(html.unescape(match.group(1))).query
    return parse_qs(query)["after"][0]


def build_views(client: Any, samples: Samples, count: int) -> list[View]:
    from django.urls import reverse

    find = reverse("resends:find")

    def at(values: list[Any], run: int) -> Any:
        return values[run % len(values)]

    def search(
        name: str, values: list[Any], to_params: Callable[[Any], dict[str, str]], **kw: Any
    ) -> list[View]:
        """The search as a full page and as the HTMX results fragment."""
        return [
            View(
                f"find: {name}",
                "search",
                lambda run: client.get(find, to_params(at(values, run))),
                **kw,
            ),
            View(
                f"find: {name} (fragment)",
                "search",
                lambda run: client.get(find, to_params(at(values, run)), headers=HX),
                htmx=True,
                **kw,
            ),
        ]

    def q(text: str) -> dict[str, str]:
        return {"q": text}

    orders = samples.orders
    first_four = [name[:4].strip() for _, _, name in orders]
    # First name and the start of the last, as an agent narrows a search down ("Grace Ho").
    longer = [name[: name.index(" ") + 3] if " " in name else name for _, _, name in orders]

    unknown = [
        f"{random.choice(UNKNOWN_NAMES)} {random.choice('BCDFGHKLMNPRSTW')}{random.choice('aeiou')}"
        for _ in range(count)
    ]

    # Keyset pages: follow the "Show more" links from page 1 to the cursor of page 5 (and of page
    # 2 for a name search), parsing each cursor from the previous response.
    def follow(params: dict[str, str], pages: int) -> dict[str, str]:
        response = client.get(find, params, headers=HX)
        for _ in range(pages - 1):
            after = more_cursor(response)
            assert after, ("fewer pages than wanted", params)
            response = client.get(find, {**params, "after": after}, headers=HX)
        return {**params, "after": more_cursor(response)}

    page5 = [follow(f, 4) for f in samples.filters]
    page5 = [p for p in page5 if p["after"]]
    name_page2 = [follow(q(t), 1) for t in first_four[:count]]

    views = [
        *search("order id", orders, lambda o: q(o[0]), expect=lambda run: at(orders, run)[0]),
        *search("email", orders, lambda o: q(o[1]), expect=lambda run: at(orders, run)[1]),
        *search("name, first 4 letters", first_four, q),
        *search("name, first + 2 of last", longer, q),
        *search("name not in the mirror", unknown, q, expect=lambda run: "No orders match"),
    ]
    if samples.rmas:
        views += search("RMA", samples.rmas, q, expect=lambda run: at(samples.rmas, run))
    if samples.call_refs:
        views += search(
            "tracking / resend no.",
            samples.call_refs,
            q,
            expect=lambda run: "Resends matching",
        )
    views += search("resend public id", samples.requests, q)
    views += search("filters only (account, dates)", samples.filters, dict)
    views.append(
        View(
            "find: filters, page 5",
            "search",
            lambda run: client.get(find, at(page5, run)),
        )
    )
    views.append(
        View(
            "find: more, filters page 5",
            "fragment",
            lambda run: client.get(find, at(page5, run), headers=HX),
            htmx=True,
        )
    )
    views.append(
        View(
            "find: more, name page 2",
            "fragment",
            lambda run: client.get(find, at(name_page2, run), headers=HX),
            htmx=True,
        )
    )

    chargebee = samples.chargebee

    def preview(run: int) -> Any:
        order_pk, line_pk = at(chargebee, run)
        data = {
            "token": str(uuid.uuid4()),
            "mode": "partial",
            f"pick_{line_pk}": "on",
            f"qty_{line_pk}": "1",
            "reason": "",
            "shipping_date": "",
            "note": "",
            "action": "preview",
        }
        return client.post(reverse("resends:chargebee", args=[order_pk]), data, headers=HX)

    requests = samples.requests
    views += [
        View(
            "order page (Chargebee, lines)",
            "page",
            lambda run: client.get(reverse("resends:order", args=[at(chargebee, run)[0]])),
            expect=lambda run: "Line items",
        ),
        View(
            "Chargebee form",
            "page",
            lambda run: client.get(reverse("resends:chargebee", args=[at(chargebee, run)[0]])),
        ),
        View(
            "Chargebee preview",
            "fragment",
            preview,
            expect=lambda run: "Partial resend of order",
            htmx=True,
        ),
        View(
            "request page",
            "page",
            lambda run: client.get(reverse("resends:request", args=[at(requests, run)])),
        ),
        View(
            "request status",
            "fragment",
            lambda run: client.get(
                reverse("resends:request-status", args=[at(requests, run)]), headers=HX
            ),
            expect=lambda run: 'id="status"',
            htmx=True,
        ),
        View(
            "request list, all, 30 days",
            "page",
            lambda run: client.get(reverse("resends:requests"), {"scope": "all", "days": "30"}),
        ),
    ]
    return views


def print_table(results: list[Result]) -> None:
    print(
        f"\n{'view':<48} {'kind':<9} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'KB':>6}  "
        f"{'goal':<14} met?"
    )
    for r in results:
        goal = "-" if r.view.goal is None else f"p95 < {r.view.goal:.0f} ms"
        met = "-" if r.met is None else ("yes" if r.met else "MISSED")
        print(
            f"{r.view.name:<48} {r.view.kind:<9} {r.p50:8.1f} {r.p95:8.1f} {r.queries:8d} "
            f"{r.size_kb:6.1f}  {goal:<14} {met}"
        )
    missed = [r for r in results if r.met is False]
    with_goal = [r for r in results if r.met is not None]
    print(f"\n{len(with_goal) - len(missed)} of {len(with_goal)} goals met.")


def explain(results: list[Result], which: str) -> None:
    from django.db import connection

    for r in results:
        if which == "missed" and r.met is not False:
            continue
        print(f"\n--- {r.view.name}: slowest query ({r.slowest_ms:.1f} ms)\n{r.slowest_sql}\n")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + r.slowest_sql)
            print("\n".join(row[0] for row in cursor.fetchall()))


def run_benchmark(args: argparse.Namespace) -> list[Result]:
    from django.test import Client

    # WhiteNoise warns once that collectstatic has not run; the views do not serve static files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    client = Client()  # no CSRF checks, as Django's test client does by default
    client.force_login(agent_user())
    count = args.warmups + args.runs + 1
    with audit.Step("sample values"):
        samples = sample_values(count)
    with audit.Step("follow the pages (cursors)"):
        views = build_views(client, samples, count)
    views = [v for v in views if args.only in v.name]
    print(f"\n{args.runs} runs after {args.warmups} warm-ups; server time in-process.")
    results = [measure(view, args) for view in views]
    print_table(results)
    if args.explain:
        explain(results, args.explain)
    return results


def main() -> None:
    started = time.perf_counter()
    args = parse_args()
    if args.seed is not None:
        random.seed(args.seed)
    requests = args.requests or max(args.calls // 3, 1)
    if args.orders < 30 or requests < 5 or args.calls < requests:
        sys.exit("Need at least 30 orders, 5 requests, and as many calls as requests.")
    existed = audit.ensure_database(args.database_url, reuse=args.reuse)
    audit.setup_django(args.database_url)
    from django.core.management import call_command

    from resends.models import Order

    print(f"Database {urlsplit(args.database_url).path.lstrip('/')}:")
    with audit.Step("migrate"):
        call_command("migrate", verbosity=0)
    if existed and Order.objects.exists():
        print("  reusing the data already there")
    else:
        fill_started = time.perf_counter()
        audit.fill(args.orders, requests, args.calls)
        print(f"  {'fill, total':<44}{time.perf_counter() - fill_started:7.1f} s")
    fill_console_extras()
    print(f"  {database_size()}")
    run_benchmark(args)
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
