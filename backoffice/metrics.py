"""GET /metrics: the Prometheus text format, for `Authorization: Bearer <METRICS_TOKEN>`.

Without METRICS_TOKEN the endpoint is off (404) unless DEBUG is on: the web, workers and beat
still start, because metrics are optional (like Sentry) and a deploy should not fail over them;
`manage.py check --deploy` warns instead (backoffice/apps.py). A wrong or missing token is a 401,
compared in constant time.

Every figure is read when scraped, from places every process writes to (the database, Redis),
never from this process's memory: web and worker processes are many. Each read is bounded by the
number of keys, not of calls (resends/selectors/metrics.py). A source that cannot be read drops
its figures and reports resends_metrics_source_up{source} 0; the scrape never fails for it.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from resends.models import BulkState
from resends.providers import registry as providers
from resends.selectors import metrics as reads

log = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token and not settings.DEBUG:
        return HttpResponse("Not found\n", status=404, content_type="text/plain")
    if token and not _bearer_matches(request.headers.get("Authorization", ""), token):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ResendsCollector())
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(registry), content_type=content_type)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    # compare_digest on bytes: its time does not depend on where the strings differ.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


class ResendsCollector:
    """Collects every figure once per scrape (prometheus_client calls collect())."""

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily(
            "resends_metrics_source_up",
            "1 when the source of a group of figures could be read during this scrape, else 0.",
            labels=["source"],
        )
        sources: dict[str, Callable[[], Iterable[Metric]]] = {
            "calls": _calls,
            "bulk_jobs": _bulk_jobs,
            "queues": _queues,
            "rate_budget": _rate_budget,
            "webhooks": _webhooks,
        }
        for source, read in sources.items():
            try:
                families = list(read())
            except Exception as exc:  # one source down must not cost the others (nor a 500)
                log.warning("metrics: %s unreadable: %s", source, type(exc).__name__)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from families
        yield up
        yield GaugeMetricFamily(
            "resends_metrics_scrape_duration_seconds",
            "How long this scrape took to read every source.",
            value=time.perf_counter() - started,
        )


def _calls() -> Iterator[Metric]:
    calls = GaugeMetricFamily(
        "resends_provider_calls",
        "Provider calls by where they stand now (a call moves from one state to the next).",
        labels=["provider", "account", "operation", "state", "error_class"],
    )
    needs_review = 0
    for row in reads.call_counts():
        calls.add_metric(
            [row.provider, row.account, row.operation, row.state, row.error_class], row.count
        )
        if row.state == "needs_review":
            needs_review += row.count
    yield calls
    yield GaugeMetricFamily(
        "resends_provider_calls_needs_review",
        "Provider calls waiting for a manager's decision (outcome unknown to us).",
        value=needs_review,
    )


def _bulk_jobs() -> Iterator[Metric]:
    family = GaugeMetricFamily("resends_bulk_jobs", "Bulk jobs by state.", labels=["state"])
    counted = reads.bulk_jobs_by_state()
    for state in BulkState.values:
        family.add_metric([state], counted.get(state, 0))
    yield family


def _queues() -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "resends_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"]
    )
    for queue, depth in queue_depths().items():
        family.add_metric([queue], depth)
    yield family


def queue_depths() -> dict[str, int]:
    """Messages waiting per queue: LLEN in Redis (over kombu's priority lists), or the files of
    the filesystem broker. Raises for another broker (the depth is unknown)."""
    queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    url = settings.CELERY_BROKER_URL
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss"):
        import redis
        from kombu.transport.redis import PRIORITY_STEPS, Channel

        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
        )
        try:
            pipe = client.pipeline(transaction=False)
            for queue in queues:
                for step in PRIORITY_STEPS:
                    pipe.llen(f"{queue}{Channel.sep}{step}" if step else queue)
            lengths = iter(pipe.execute())
        finally:
            client.close()
        return {queue: sum(next(lengths) for _ in PRIORITY_STEPS) for queue in queues}
    if scheme == "filesystem":
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        depths = dict.fromkeys(queues, 0)
        with os.scandir(folder) as entries:
            for entry in entries:
                # kombu names each message <time>_<uuid>.<queue>.msg
                queue = entry.name.partition(".")[2].removesuffix(".msg")
                if queue in depths:
                    depths[queue] += 1
        return depths
    raise LookupError(f"queue depth is unknown for a {scheme} broker")


def _rate_budget() -> Iterator[Metric]:
    labels = ["provider", "account"]
    rate = GaugeMetricFamily(
        "resends_rate_budget_rate_per_second",
        "Requests per second allowed to the account (0: unlimited).",
        labels=labels,
    )
    cooldown = GaugeMetricFamily(
        "resends_rate_budget_cooldown_seconds",
        "Seconds left of a cooldown after a 429 (nobody sends to the account meanwhile).",
        labels=labels,
    )
    next_slot = GaugeMetricFamily(
        "resends_rate_budget_next_slot_seconds",
        "Seconds until the next free sending slot (how far ahead the account is booked).",
        labels=labels,
    )
    held = GaugeMetricFamily(
        "resends_rate_budget_bulk_held_seconds",
        "Seconds bulk work is still held back for an agent's resend.",
        labels=labels,
    )
    recent = GaugeMetricFamily(
        "resends_rate_budget_recent_requests",
        "Requests that left for the account in the last departure window (about 1 s).",
        labels=labels,
    )
    waits = CounterMetricFamily(
        "resends_rate_budget_waits",
        "Times a request could not leave at once (its slot was later, or none was free yet), "
        "by lane, counted by every worker.",
        labels=["provider", "account", "lane"],
    )
    waited = CounterMetricFamily(
        "resends_rate_budget_wait_seconds",
        "Seconds those requests were told to wait, by lane (its rate: workers held back).",
        labels=["provider", "account", "lane"],
    )
    late = CounterMetricFamily(
        "resends_rate_gate_late_passes",
        "Times a request was stamped at the departure gate again because its worker ran late "
        "after the first pass or before its bytes were written (a busy machine); many mean the "
        "allowance is too tight for this host.",
        labels=["provider", "account"],
    )
    counts = reads.budget_counts()
    for account in reads.account_budgets():
        key = [account.provider, account.account]
        rate.add_metric(key, account.rate_per_second)
        if account.state is not None:
            cooldown.add_metric(key, account.state.cooldown_for)
            next_slot.add_metric(key, account.state.next_slot_in)
            held.add_metric(key, account.state.priority_for)
            recent.add_metric(key, account.state.recent_departures)
        for lane in ("single", "bulk"):
            stored = (("account", account.account), ("lane", lane))
            waits.add_metric([*key, lane], counts.waits.get(stored, 0))
            waited.add_metric([*key, lane], counts.wait_seconds.get(stored, 0.0))
        late.add_metric(key, counts.late_passes.get((("account", account.account),), 0))
    yield from (rate, cooldown, next_slot, held, recent, waits, waited, late)


def _webhooks() -> Iterator[Metric]:
    received = CounterMetricFamily(
        "resends_webhooks_received",
        "Webhooks accepted (signature and body valid; a redelivery counts again).",
        labels=["provider"],
    )
    counted = reads.webhooks_received()
    for provider in providers.PACKAGES:
        received.add_metric([provider], counted.get((("provider", provider),), 0))
    rejected = CounterMetricFamily(
        "resends_webhooks_rejected",
        "Webhooks refused, by the status answered (401: signature, 400: unreadable body).",
        labels=["provider", "status"],
    )
    for labels, value in sorted(reads.webhooks_rejected().items()):
        given = dict(labels)
        rejected.add_metric([given.get("provider", ""), given.get("status", "")], value)
    yield from (received, rejected)
