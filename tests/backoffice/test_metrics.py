"""/metrics: refused without the token, off in production without one, and every figure read from
where all processes write (the database and Redis), in a number of queries that does not grow
with the calls."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from typing import Any

import pytest
import redis
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from kombu import Connection, Queue
from prometheus_client.parser import text_string_to_metric_families

from backoffice.apps import metrics_token_set
from resends import counters
from resends.accounts import default_account
from resends.engine import budget
from resends.models import BulkJob, BulkKind, BulkState, ProviderCall
from resends.models.audit import CallState, Lane
from resends.services import call_counts
from tests.engine import worker
from tests.factories import ProviderCallFactory, ResendRequestFactory
from tests.test_webhooks import cb_event, cb_post

from .helpers import closed_port
from .test_logs import run_command

TOKEN = "metrics-token-" + "k" * 30
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(autouse=True)
def fresh_counters(settings):  # type: ignore[no-untyped-def]
    """The shared counters live in the test broker's Redis across tests (rows roll back)."""

    url = settings.REDIS_URL  # as it was before the test changed it

    def clear() -> None:
        if url:
            redis.Redis.from_url(url).delete(counters.REDIS_KEY)

    clear()
    yield
    clear()


@pytest.fixture
def token(settings) -> str:  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client: Client) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    samples: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def calls(samples: Samples, state: str, error_class: str = "") -> float | None:
    return value(
        samples,
        "resends_provider_calls",
        provider="chargebee",
        account="chargebee",
        operation="chargebee.resend_order",
        state=state,
        error_class=error_class,
    )


@pytest.mark.django_db
def test_refused_without_the_token_or_with_a_wrong_one(client: Client, token: str) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-" + token[6:]},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": f"Basic {token}"},
        {"Authorization": token},
    ):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"resends_" not in refused.content
    answered = client.get("/metrics", headers={"Authorization": f"bearer  {token}"})
    assert answered.status_code == 200
    assert answered["Content-Type"].startswith("text/plain; version=")
    assert b"# TYPE resends_provider_calls gauge" in answered.content
    assert client.post("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 405


@pytest.mark.django_db
def test_off_in_production_without_a_token_and_check_deploy_says_so(
    client: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert [message.id for message in metrics_token_set()] == ["backoffice.W001"]
    settings.DEBUG = True  # on a developer's machine it answers without a token
    assert client.get("/metrics").status_code == 200
    settings.METRICS_TOKEN = TOKEN
    assert metrics_token_set() == []


@pytest.mark.django_db
def test_the_token_travels_only_over_https(client: Client, settings, token: str) -> None:  # type: ignore[no-untyped-def]
    settings.SECURE_SSL_REDIRECT = True
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/metrics", headers=auth).status_code == 301
    through_the_proxy = client.get("/metrics", headers={**auth, "X-Forwarded-Proto": "https"})
    assert through_the_proxy.status_code == 200


def test_the_token_is_masked_in_logs_like_every_secret() -> None:
    planted = "planted-metrics-token-" + "z" * 20
    result = run_command(
        f"import logging; logging.getLogger('ops').warning('token {planted}')",
        DEBUG="1",
        METRICS_TOKEN=planted,
    )
    assert result.returncode == 0, result.stderr
    assert "token ***" in result.stderr and planted not in result.stderr


@pytest.mark.django_db
def test_calls_by_state_needs_review_and_bulk_jobs(
    client: Client, token: str, manager: Any
) -> None:
    request = ResendRequestFactory.create()
    made = [ProviderCallFactory.create(request=request) for _ in range(6)]
    ProviderCall.objects.filter(pk__in=[c.pk for c in made[:2]]).update(
        state=CallState.FAILED, error_class="permanent"
    )
    call_counts.compact()  # half folded, half still appended
    ProviderCall.objects.filter(pk=made[2].pk).update(state=CallState.NEEDS_REVIEW)
    account = default_account("chargebee")
    for state in (BulkState.RUNNING, BulkState.RUNNING, BulkState.FINISHED):
        BulkJob.objects.create(
            created_by=manager, account=account, kind=BulkKind.CHARGEBEE_FULL, state=state
        )

    samples = scrape(client)
    assert calls(samples, "pending") == 3
    assert calls(samples, "failed", "permanent") == 2
    assert calls(samples, "needs_review") == 1
    assert calls(samples, "succeeded") is None  # a key with no calls is not reported
    assert value(samples, "resends_provider_calls_needs_review") == 1
    assert value(samples, "resends_bulk_jobs", state="running") == 2
    assert value(samples, "resends_bulk_jobs", state="finished") == 1
    assert value(samples, "resends_bulk_jobs", state="awaiting_approval") == 0
    for source in ("calls", "bulk_jobs", "queues", "rate_budget", "webhooks"):
        assert value(samples, "resends_metrics_source_up", source=source) == 1, source


@pytest.mark.django_db
def test_a_scrape_makes_the_same_queries_for_10_calls_or_300(client: Client, token: str) -> None:
    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return [q["sql"] for q in captured.captured_queries]

    request = ResendRequestFactory.create()
    ProviderCallFactory.create_batch(10, request=request)
    few = queries()
    calls = ProviderCallFactory.create_batch(290, request=request)
    ProviderCall.objects.filter(pk__in=[c.pk for c in calls[:100]]).update(
        state=CallState.SUCCEEDED, finished_at=request.submitted_at
    )
    call_counts.compact()
    many = queries()
    assert len(many) == len(few) <= 8, many
    assert not [sql for sql in many if ProviderCall._meta.db_table in sql]  # never the calls


@pytest.mark.django_db
def test_queue_depth_per_queue(client: Client, token: str, settings) -> None:  # type: ignore[no-untyped-def]
    before = scrape(client)
    bulk = Queue(settings.BULK_QUEUE, routing_key=settings.BULK_QUEUE)
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
    ) as conn:
        producer = conn.Producer()
        for n in range(2):
            producer.publish({"n": n}, routing_key=bulk.name, declare=[bulk])
        try:
            after = scrape(client)
        finally:
            conn.default_channel.queue_purge(bulk.name)

    def depth(samples: Samples, queue: str) -> float:
        found = value(samples, "resends_queue_depth", queue=queue)
        assert found is not None, queue
        return found

    assert depth(after, "bulk") - depth(before, "bulk") == 2
    assert depth(after, "calls") == depth(before, "calls")
    assert depth(after, "maintenance") == depth(before, "maintenance")


@pytest.mark.django_db
def test_an_unreadable_source_drops_its_figures_not_the_scrape(
    client: Client, token: str, settings
) -> None:  # type: ignore[no-untyped-def]
    ProviderCallFactory.create()
    settings.CELERY_BROKER_URL = "memory://"  # a broker whose depth we cannot read
    samples = scrape(client)
    assert value(samples, "resends_metrics_source_up", source="queues") == 0
    assert not [key for key in samples if key[0] == "resends_queue_depth"]
    assert calls(samples, "pending") == 1

    port = closed_port()
    settings.CELERY_BROKER_URL = settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "chargebee": 5.0}
    samples = scrape(client)
    for source in ("queues", "rate_budget", "webhooks"):
        assert value(samples, "resends_metrics_source_up", source=source) == 0, source
    assert value(samples, "resends_metrics_source_up", source="calls") == 1
    assert calls(samples, "pending") == 1


@pytest.fixture
def chargebee_budget(settings):  # type: ignore[no-untyped-def]
    account = default_account("chargebee")
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "chargebee": 1.0}
    budget.reset(account)
    yield account
    budget.reset(account)


@pytest.mark.django_db
def test_rate_budget_per_account_with_waits_per_lane(
    client: Client, token: str, chargebee_budget: Any
) -> None:
    slots = [budget.reserve(chargebee_budget, Lane.BULK) for _ in range(6)]
    assert slots[0].wait == 0 and slots[1].reserved and slots[1].wait > 0.9  # a slot a second on
    assert not slots[-1].reserved  # a bulk request may book only two slots ahead
    held_back = [slot.wait for slot in slots if slot.wait > 0]
    budget.cool_down(chargebee_budget, 30)

    samples = scrape(client)
    account = {"provider": "chargebee", "account": "chargebee"}
    assert value(samples, "resends_rate_budget_rate_per_second", **account) == 1.0
    assert value(samples, "resends_rate_budget_rate_per_second", provider="junction",
                 account="junction") == 0  # fmt: skip
    cooldown = value(samples, "resends_rate_budget_cooldown_seconds", **account)
    assert cooldown is not None and 25 < cooldown <= 30
    next_slot = value(samples, "resends_rate_budget_next_slot_seconds", **account)
    assert next_slot is not None and next_slot > 1
    assert value(samples, "resends_rate_budget_waits_total", lane="bulk", **account) == len(
        held_back
    )
    waited = value(samples, "resends_rate_budget_wait_seconds_total", lane="bulk", **account)
    assert waited == pytest.approx(sum(held_back), abs=0.001 * len(held_back))
    assert value(samples, "resends_rate_budget_waits_total", lane="single", **account) == 0
    counters.add(counters.GATE_LATE_PASSES, account="chargebee")  # as budget.depart counts one
    late = value(scrape(client), "resends_rate_gate_late_passes_total", **account)
    assert late == 1


WAITER = """
import os, sys
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
import django
django.setup()
from resends.engine import budget
from resends.models import ProviderAccount
account = ProviderAccount.objects.get(code="chargebee")
print(sum(budget.reserve(account, budget.Lane.BULK).wait > 0 for _ in range(8)))
"""


@pytest.mark.django_db(transaction=True)
def test_waits_counted_in_every_process_add_up(
    client: Client, token: str, chargebee_budget: Any, settings
) -> None:  # type: ignore[no-untyped-def]
    env = {
        "DEBUG": "1",
        "IGNORE_DOTENV": "1",
        "DATABASE_URL": worker.test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "VAR_DIR": str(settings.VAR_DIR),
        "CHARGEBEE_RATE_PER_SECOND": "1",
        "LOG_LEVEL": "WARNING",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WAITER],
            cwd=worker.ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    told_to_wait = 0
    for process in processes:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        told_to_wait += int(out.strip())
    assert told_to_wait >= 14  # 16 asked for a slot at 1/s; one or two went at once
    samples = scrape(client)
    assert value(samples, "resends_rate_budget_waits_total", provider="chargebee",
                 account="chargebee", lane="bulk") == told_to_wait  # fmt: skip


@pytest.mark.django_db
def test_webhooks_received_and_rejected_per_provider(client: Client, token: str, settings) -> None:  # type: ignore[no-untyped-def]
    assert cb_post(client, cb_event("ev_1", 1_700_000_100, "queued")).status_code == 200
    assert cb_post(client, cb_event("ev_1", 1_700_000_100, "queued")).status_code == 200  # again
    assert cb_post(client, cb_event("ev_2", 1, "queued"), password="guess").status_code == 401
    config = settings.CHARGEBEE
    basic = base64.b64encode(
        f"{config['webhook_username']}:{config['webhook_password']}".encode()
    ).decode()
    malformed = client.post(
        "/webhooks/chargebee/",
        "{",
        content_type="application/json",
        headers={"Authorization": f"Basic {basic}"},
    )
    assert malformed.status_code == 400
    # Not webhooks: a GET, and a provider we do not have (its name never becomes a label).
    assert client.get("/webhooks/chargebee/").status_code == 405
    assert (
        client.post("/webhooks/nosuch/", "{}", content_type="application/json").status_code == 404
    )

    samples = scrape(client)
    assert value(samples, "resends_webhooks_received_total", provider="chargebee") == 2
    assert value(samples, "resends_webhooks_received_total", provider="junction") == 0
    rejected = {key: n for key, n in samples.items() if key[0] == "resends_webhooks_rejected_total"}
    assert rejected == {
        ("resends_webhooks_rejected_total", frozenset({("provider", "chargebee"), (s, c)})): 1
        for s, c in (("status", "401"), ("status", "400"))
    }
    assert not [key for key in samples if ("provider", "nosuch") in key[1]]
