"""Bulk throughput: a 10,000-order bulk replay against the sandbox at 100 ms latency, inside a
rate budget of R requests per second, with real processes (web, Celery worker, sandbox).

    .venv/bin/python bench/bulk_throughput.py --kind chargebee --rate 58     # the top tier
    .venv/bin/python bench/bulk_throughput.py --kind chargebee --rate 20 --busy  # CPUs busy
    .venv/bin/python bench/bulk_throughput.py                    # Junction, 10,000 at R = 20/s
    .venv/bin/python bench/bulk_throughput.py --orders 2000 --rate 20   # a quicker run

--kind chargebee: a full-resend job over N shipped Chargebee orders the sandbox is given, one
request each. --busy: two processes spin on the CPUs for the whole run, as other work would.

It creates its own PostgreSQL database (bench_bulk) and uses Redis db 13 as broker and budget
store, starts the provider sandbox (`python -m sandbox`) with 100 ms of latency on every Junction
request, a gunicorn web process and a Celery worker, then runs a Junction bulk job with one order
id per request (JUNCTION_BATCH_SIZE=1), so 10,000 orders make 10,000 provider requests. A manager
watches the job's live progress fragment once a second through the web process meanwhile.

Printed:
- achieved rate ÷ R between the first and the last arrival at the sandbox, and the most requests the sandbox saw in any 1-second window
  (goal: ratio ≥ 0.95 and never above R);
- the same ratio for a naive loop that sends one request at a time, as a script would;
- peak RSS of the largest worker process (main or a pool child) and of the web process;
- CPU seconds per item of the worker (all its processes) and of the sandbox;
- duplicated and lost effects: the sandbox's ledger against the job's orders;
- SQL queries per item (measured in-process over a small job, fan-out and engine);
- the time to preview and to create a job matching 100,000 orders (goal under 2 s).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_audit as audit  # noqa: E402  (its ensure_database)

PY = sys.executable
PG = "postgres://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=20.0, help="R, requests per second")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16, help="worker pool size")
    parser.add_argument(
        "--naive-sample", type=int, default=200, help="requests the naive loop sends"
    )
    parser.add_argument("--preview-orders", type=int, default=100_000)
    parser.add_argument("--kind", choices=("junction", "chargebee"), default="junction")
    parser.add_argument("--busy", action="store_true", help="two CPU-spinning processes alongside")
    parser.add_argument("--batch", type=int, default=10, help="ENGINE_BATCH_SIZE")
    parser.add_argument("--database", default="bench_bulk")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument(
        "--arrivals", type=Path, help="write the arrivals per calendar second to this file"
    )
    return parser.parse_args()


def environment(args: argparse.Namespace, sandbox_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "IGNORE_DOTENV": "1",
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"{PG}/{args.database}",
        "CELERY_BROKER_URL": args.redis_url,
        "VAR_DIR": str(ROOT / "var" / "bench"),
        "SANDBOX_URL": sandbox_url,
        "JUNCTION_BASE_URL": f"{sandbox_url}/junction",
        "CHARGEBEE_BASE_URL": f"{sandbox_url}/chargebee",
        "JUNCTION_RATE_PER_SECOND": str(args.rate if args.kind == "junction" else 0),
        "JUNCTION_BATCH_SIZE": "1",
        "CHARGEBEE_RATE_PER_SECOND": str(args.rate if args.kind == "chargebee" else 0),
        "ENGINE_BATCH_SIZE": str(args.batch),
        "CELERY_MAX_TASKS_PER_CHILD": "100000",
        "BULK_APPROVAL_THRESHOLD": str(10**9),
        "DB_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }


def main() -> None:
    args = parse_args()
    audit.ensure_database(f"{PG}/{args.database}", reuse=False)
    sandbox_port = free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env = environment(args, sandbox_url)
    os.environ.update(env)
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)

    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    django.setup()
    import redis
    import requests

    redis.Redis.from_url(args.redis_url).flushdb()
    procs: list[subprocess.Popen[bytes]] = []
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)

    def start(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        out = (logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        procs.append(proc)
        return proc

    spinners: list[subprocess.Popen[bytes]] = []
    try:
        sandbox = start("sandbox", [PY, "-m", "sandbox", "--port", str(sandbox_port),
                                    "--webhook-delay", "0"])  # fmt: skip
        wait_for(f"{sandbox_url}/_sandbox/health")
        latency = {"provider": "all", "latency_ms": args.latency_ms}  # the naive loop's too
        requests.post(f"{sandbox_url}/_sandbox/faults", json=latency, timeout=10)
        web_port = free_port()
        web = start("web", [PY, "-m", "gunicorn", "backoffice.wsgi", "-b", f"127.0.0.1:{web_port}",
                            "-w", "1", "--threads", "2"])  # fmt: skip
        manager = make_manager()
        queries = queries_per_item(manager, args.kind, sandbox_url)
        preview_seconds, create_seconds = preview_timing(manager, args.preview_orders)
        wait_for(f"http://127.0.0.1:{web_port}/login/")
        worker = start("worker", [PY, "-m", "celery", "-A", "backoffice", "worker", "-l", "WARNING",
                                  "-c", str(args.concurrency), "--without-mingle",
                                  "--without-gossip"])  # fmt: skip
        time.sleep(4)
        requests.post(f"{sandbox_url}/_sandbox/reset", json={}, timeout=10)
        requests.post(f"{sandbox_url}/_sandbox/faults", json=latency, timeout=10)
        expected = prepare(args.kind, args.orders, sandbox_url)
        if args.busy:
            spinners = [
                subprocess.Popen([PY, "-c", "while True: pass"], start_new_session=True)
                for _ in range(2)
            ]
        cpu_before = {"worker": group_cpu(worker.pid), "sandbox": group_cpu(sandbox.pid)}
        elapsed, rss = run_job(manager, args.kind, web_port, worker.pid, web.pid)
        cpu = {name: group_cpu(pid) - cpu_before[name]
               for name, pid in (("worker", worker.pid), ("sandbox", sandbox.pid))}  # fmt: skip
        entries = ledger_entries(sandbox_url, args.kind)
        times = arrival_times(entries)
        if args.arrivals:
            write_arrivals(args.arrivals, times)
        duplicated, lost = judge(entries, expected)
        if len(times) != args.orders:
            raise SystemExit(f"the sandbox applied {len(times)} requests, not {args.orders}")
        for spinner in spinners:
            spinner.kill()
        naive = naive_rate(sandbox_url, args.naive_sample)
    finally:
        for spinner in spinners:
            spinner.kill()
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    effects = {"duplicated": duplicated, "lost": lost}
    per_item = {name: seconds / args.orders for name, seconds in cpu.items()}
    report(args, times, elapsed, naive, rss, queries, preview_seconds, create_seconds, per_item,
           effects)  # fmt: skip


def wait_for(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer")


def make_manager() -> Any:
    from django.contrib.auth.models import Group, User

    from resends.roles import MANAGERS

    manager = User.objects.create_user("bench-manager", "bench@example.invalid", "bench-password")
    manager.groups.add(Group.objects.get(name=MANAGERS))
    return manager


def prepare(kind: str, count: int, sandbox_url: str) -> set[str]:
    """The job's orders in our mirror (and, for Chargebee, at the sandbox): their ids."""
    from resends.accounts import default_account
    from resends.models import Order

    moment = datetime(2026, 6, 1, tzinfo=UTC)
    if kind == "chargebee":
        ids = chargebee_backlog(sandbox_url, count)
    else:
        ids = [str(uuid.uuid4()) for _ in range(count)]
    Order.objects.bulk_create(
        [
            Order(
                account=default_account(kind),
                external_id=external_id,
                status="shipped",
                provider_created_at=moment,
                provider_updated_at=moment,
            )
            for external_id in ids
        ],
        batch_size=5000,
    )
    return set(ids)


def chargebee_backlog(sandbox_url: str, count: int) -> list[str]:
    import requests

    answer = requests.post(
        f"{sandbox_url}/_sandbox/chargebee/orders", json={"count": count}, timeout=300
    )
    answer.raise_for_status()
    return [order["id"] for order in answer.json()["orders"]]


CRITERIA = {"updated_from": "2026-05-01T00:00:00+00:00", "updated_to": "2026-07-01T00:00:00+00:00"}


def queries_per_item(manager: Any, kind: str, sandbox_url: str, items: int = 40) -> float:
    """SQL per item for a small job stepped in-process, fan-out and engine (budget, claim, send,
    record), the calls sent in batches as the worker sends them."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from resends.accounts import default_account
    from resends.engine.batch import process_batch
    from resends.models import BulkKind, Order, ProviderCall
    from resends.services import bulk_jobs, bulk_run

    account = default_account(kind)
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    ids = (
        chargebee_backlog(sandbox_url, items)
        if kind == "chargebee"
        else [str(uuid.uuid4()) for _ in range(items)]
    )
    Order.objects.bulk_create(
        Order(account=account, external_id=i, status="shipped", provider_updated_at=moment)
        for i in ids
    )
    job, _ = bulk_jobs.create_job(
        actor=manager, account=account, reason_code=settings.CHARGEBEE["reason_codes"][0],
        kind=BulkKind.CHARGEBEE_FULL if kind == "chargebee" else BulkKind.JUNCTION_ORDERS,
        criteria={"updated_from": "2024-12-01T00:00:00+00:00", "updated_to": "2025-02-01T00:00:00+00:00"},
    )  # fmt: skip
    rate, settings.RATE_PER_SECOND = (
        settings.RATE_PER_SECOND,
        dict.fromkeys(settings.RATE_PER_SECOND, 0.0),
    )
    try:
        with CaptureQueriesContext(connection) as captured:
            while bulk_run.advance(job.pk, None):
                pending = list(
                    ProviderCall.objects.filter(request__bulk_job=job, state="pending")
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                size = int(settings.ENGINE_BATCH_SIZE)
                for start in range(0, len(pending), size):
                    process_batch(pending[start : start + size], worker="bench")
    finally:
        settings.RATE_PER_SECOND = rate
    sent = ProviderCall.objects.filter(request__bulk_job=job, state="succeeded").count()
    if sent != items:
        raise SystemExit(f"the in-process job sent {sent} of {items}")
    return len(captured) / items


def preview_timing(manager: Any, count: int) -> tuple[float, float]:
    from resends.accounts import default_account
    from resends.models import BulkKind, Order
    from resends.selectors import bulk_selection
    from resends.services import bulk_jobs

    chargebee = default_account("chargebee")
    moment = datetime(2026, 2, 1, tzinfo=UTC)
    Order.objects.bulk_create(
        (
            Order(
                account=chargebee,
                external_id=f"cb_bench_{i}",
                status="shipped",
                resend_count=i % 6,
                provider_updated_at=moment,
            )
            for i in range(count)
        ),
        batch_size=10_000,
    )
    criteria = {
        "updated_from": "2026-01-01T00:00:00+00:00",
        "updated_to": "2026-03-01T00:00:00+00:00",
    }
    began = time.perf_counter()
    counted = bulk_selection.preview(BulkKind.CHARGEBEE_FULL, chargebee, criteria)
    preview_seconds = time.perf_counter() - began
    assert counted.matched == count, counted.matched
    began = time.perf_counter()
    bulk_jobs.create_job(actor=manager, kind=BulkKind.CHARGEBEE_FULL, account=chargebee,
                    criteria=criteria, reason_code="Damaged", dry_run=True)  # fmt: skip
    return preview_seconds, time.perf_counter() - began


def run_job(
    manager: Any, kind: str, web_port: int, worker_pid: int, web_pid: int
) -> tuple[float, dict[str, int]]:
    import requests
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    from resends.accounts import default_account
    from resends.models import BulkJob, BulkKind, BulkState
    from resends.models.audit import RequestState
    from resends.services import bulk_jobs

    session = SessionStore()
    session["_auth_user_id"] = str(manager.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = manager.get_session_auth_hash()
    session.save()
    browser = requests.Session()
    browser.cookies.set(settings.SESSION_COOKIE_NAME, session.session_key)

    job, _ = bulk_jobs.create_job(
        actor=manager, account=default_account(kind), criteria=CRITERIA,
        kind=BulkKind.CHARGEBEE_FULL if kind == "chargebee" else BulkKind.JUNCTION_ORDERS,
        reason_code=settings.CHARGEBEE["reason_codes"][0] if kind == "chargebee" else "",
    )  # fmt: skip
    began = time.monotonic()
    url = f"http://127.0.0.1:{web_port}/bulk/{job.public_id}/progress/"
    while True:
        answer = browser.get(url, headers={"HX-Request": "true"}, timeout=30)
        assert answer.status_code in (200, 286), answer.status_code
        state = BulkJob.objects.values_list("state", flat=True).get(pk=job.pk)
        if state != BulkState.RUNNING and state != BulkState.QUEUED:
            break
        if time.monotonic() - began > 3600:
            raise SystemExit("the job did not finish within an hour")
        time.sleep(1)
    unsent = job.requests.exclude(state=RequestState.SUCCEEDED).count()
    if state != BulkState.FINISHED or unsent:
        raise SystemExit(f"the job ended {state} with {unsent} resends not succeeded")
    # VmHWM is each process's own peak, so reading it once at the end is enough.
    return time.monotonic() - began, {"worker": group_hwm(worker_pid), "web": group_hwm(web_pid)}


def _group(pid: int) -> list[int]:
    pgid = os.getpgid(pid)
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    found.append(int(entry.name))
            except ProcessLookupError:
                continue
    return found


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


def group_hwm(pid: int) -> int:
    """The largest peak RSS (kB) of one process in the group (a worker pool child or main)."""
    return max((_status_kb(p, "VmHWM") for p in _group(pid)), default=0)


def ledger_entries(sandbox_url: str, provider: str) -> list[dict[str, Any]]:
    import requests

    answer = requests.get(
        f"{sandbox_url}/_sandbox/ledger", params={"provider": provider}, timeout=120
    )
    return list(answer.json()["entries"])


def arrival_times(entries: list[dict[str, Any]]) -> list[float]:
    return sorted(
        # when each request reached the sandbox ("applied_at" adds the injected latency)
        datetime.fromisoformat(e["received_at"].replace("Z", "+00:00")).timestamp()
        for e in entries
    )


def judge(entries: list[dict[str, Any]], expected: set[str]) -> tuple[int, int]:
    """Duplicated and lost effects: each of the job's orders should be in the ledger once."""
    seen: dict[str, int] = {}
    for entry in entries:
        for order_id in entry_orders(entry):
            seen[order_id] = seen.get(order_id, 0) + 1
    duplicated = sum(n - 1 for order_id, n in seen.items() if order_id in expected and n > 1)
    lost = len(expected - set(seen))
    return duplicated, lost


def entry_orders(entry: dict[str, Any]) -> list[str]:
    """The orders one ledger entry resent (its target: an order id, or a replay's ids)."""
    target = entry.get("target")
    if isinstance(target, list):
        return [str(t) for t in target]
    return [str(target)] if target else []


def group_cpu(pid: int) -> float:
    """CPU seconds used by a process group so far: every live process, plus the children its
    leader has already reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in _group(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if member == pid:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / tick


def write_arrivals(path: Path, times: list[float]) -> None:
    """One line per calendar second from the first arrival to the last: its offset and count."""
    first = int(min(times))
    counts = [0] * (int(max(times)) - first + 1)
    for moment in times:
        counts[int(moment) - first] += 1
    path.write_text("".join(f"{second} {count}\n" for second, count in enumerate(counts)))


def naive_rate(sandbox_url: str, count: int) -> float:
    """One request at a time, as a script would: POST, wait for the answer, POST the next."""
    import requests

    session = requests.Session()
    began = time.monotonic()
    for _ in range(count):
        session.post(f"{sandbox_url}/junction/v3/order/resend_events",
                     json={"order_ids": [str(uuid.uuid4())]},
                     headers={"x-vital-api-key": "sk_us_sandbox_key"}, timeout=30)  # fmt: skip
    return count / (time.monotonic() - began)


def most_in_one_second(times: list[float]) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def tightest_span(times: list[float], count: int) -> float:
    """The shortest time in which `count` consecutive requests arrived (R + 1 of them inside one
    second would break the budget, so above 1 s is the margin left)."""
    spans = [times[i + count - 1] - times[i] for i in range(len(times) - count + 1)]
    return min(spans, default=float("nan"))


def report(args: argparse.Namespace, times: list[float], elapsed: float, naive: float,
           rss: dict[str, int], queries: float, preview_seconds: float, create_seconds: float,
           cpu: dict[str, float], effects: dict[str, int]) -> None:  # fmt: skip
    sent = len(times)
    span = times[-1] - times[0] if sent > 1 else float("nan")
    achieved = (sent - 1) / span if sent > 1 else 0.0
    per_second = [
        sum(1 for t in times if s <= t < s + 1)
        for s in range(int(times[0]) + 1, int(times[-1]))  # whole seconds only
    ]
    print(
        f"\nBulk replay of {args.orders} {'Chargebee orders (full resends)' if args.kind == 'chargebee' else 'Junction orders, one id per request'}, {args.latency_ms} ms latency, R = {args.rate:g}/s, {args.concurrency} worker processes, batches of {args.batch}{', CPUs busy (two spinning processes)' if args.busy else ''}"
    )
    print(
        f"  requests applied by the sandbox: {sent} in {span:.1f} s (job finished after {elapsed:.1f} s)"
    )
    ratio = achieved / args.rate
    print(
        f"  achieved rate: {achieved:.2f}/s = {ratio:.3f} × R   goal ≥ 0.95   {'met' if ratio >= 0.95 else 'MISSED'}"
    )
    peak = most_in_one_second(times)
    print(
        f"  most requests in any 1-second window: {peak} (R = {args.rate:g})   {'met' if peak <= args.rate else 'MISSED'}"
    )
    print(
        f"  tightest span of R + 1 consecutive arrivals: {tightest_span(times, int(args.rate) + 1):.3f} s (above 1 s means no 1-second window holds more than R)"
    )
    if per_second:
        print(
            f"  per calendar second: median {statistics.median(per_second):.0f}, min {min(per_second)}, max {max(per_second)}"
        )
    print(f"  naive one-at-a-time loop: {naive:.2f}/s = {naive / args.rate:.3f} × R")
    print(
        f"  peak RSS: worker {rss['worker'] / 1024:.0f} MB (largest process of its group), web {rss['web'] / 1024:.0f} MB"
    )
    print(f"  SQL queries per item (fan-out and engine): {queries:.1f}")
    print(
        f"  CPU seconds per item: worker {cpu['worker'] * 1000:.1f} ms, sandbox {cpu['sandbox'] * 1000:.1f} ms"
    )
    print(
        f"  effects in the sandbox's ledger: duplicated {effects['duplicated']}, lost {effects['lost']}"
    )
    print(
        f"  preview of a job matching {args.preview_orders:,} orders: {preview_seconds:.2f} s; create: {create_seconds:.2f} s   goal < 2 s   {'met' if max(preview_seconds, create_seconds) < 2 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
