"""A real Celery worker process makes the calls; killing it mid-batch changes nothing at the
provider: the sandbox ledger shows every resend applied exactly once."""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse

from backoffice.celery import app
from resends.accounts import default_account
from resends.engine.sweeper import due_calls
from resends.models import CallAttempt, ProviderCall
from resends.models.audit import CallState
from resends.providers.chargebee.mirror import order_record_from_json as chargebee_order
from resends.services.mirrors import upsert_order
from resends.services.submit import submit_chargebee_resend
from resends.tasks import execute_call

from .helpers import chargebee_orders, configure, faults, ledger
from .worker import celery_worker, stop, wait_until, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
FINAL = [CallState.SUCCEEDED, CallState.FAILED, CallState.NEEDS_REVIEW]


def submit_batch(sandbox, count: int) -> list[ProviderCall]:  # type: ignore[no-untyped-def]
    agent = User.objects.create_user("batch-agent")
    account = default_account("chargebee")
    candidates = [
        raw
        for raw in chargebee_orders(sandbox)
        if not raw.get("resent_orders")
        and raw["status"] in ("queued", "awaiting_shipment", "shipped", "delivered")
    ][:count]
    for index, raw in enumerate(candidates):
        order, _ = upsert_order(account, chargebee_order(raw))
        line = order.line_items.first()
        assert line is not None
        submit_chargebee_resend(
            actor=agent,
            order=order,
            lines=[(line, 1)],
            reason="Damaged",
            intent_key=f"batch-{index}",
        )
    return list(ProviderCall.objects.all())


@pytest.fixture
def clean_queue() -> None:
    app.control.purge()


def assert_exactly_once(sandbox, calls: list[ProviderCall]) -> None:  # type: ignore[no-untyped-def]
    entries = ledger(sandbox, "chargebee")
    keys = Counter(entry["idempotency_key"] for entry in entries)
    assert len(entries) == len(calls), f"{len(entries)} effects for {len(calls)} intents"
    assert set(keys) == {str(call.idempotency_key) for call in calls}
    assert max(keys.values()) == 1
    assert set(ProviderCall.objects.values_list("state", flat=True)) == {CallState.SUCCEEDED}


def test_a_real_worker_runs_a_batch_and_a_planted_secret_goes_nowhere(
    sandbox, clean_queue, tmp_path: Path, manager, client
) -> None:  # type: ignore[no-untyped-def]
    planted = "test_PLANTED_" + uuid.uuid4().hex
    calls = submit_batch(sandbox, 12)
    configure(sandbox, chargebee_api_key=planted)  # the provider now expects the planted key
    log = tmp_path / "worker.log"
    faults(
        sandbox, provider="chargebee", error_rate=0.3, error_status=503
    )  # errors get recorded too
    with celery_worker(worker_env(sandbox, CHARGEBEE_API_KEY=planted), log):
        done = wait_until(
            lambda: ProviderCall.objects.filter(state__in=FINAL).count() == len(calls), timeout=120
        )
    assert done, log.read_text()[-3000:]
    assert_exactly_once(sandbox, calls)

    recorded = str(list(ProviderCall.objects.values())) + str(list(CallAttempt.objects.values()))
    assert CallAttempt.objects.filter(response_status=200).count() == len(calls)
    assert planted not in recorded and planted not in log.read_text()
    client.force_login(manager)
    for call in calls:
        page = client.get(reverse("admin:resends_providercall_change", args=[call.pk]))
        assert page.status_code == 200 and planted not in page.content.decode()


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis"),
    reason="kill tests need a broker with acknowledgements (Redis); the filesystem broker has none",
)
def test_sigkill_mid_batch_still_applies_every_resend_exactly_once(
    sandbox, clean_queue, tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CALL_LEASE_SECONDS = 4
    settings.SWEEP_GRACE_SECONDS = 1
    env = worker_env(sandbox, CALL_LEASE_SECONDS="4", PROVIDER_HTTP_READ_TIMEOUT="2")
    faults(sandbox, provider="chargebee", latency_ms=400)
    calls = submit_batch(sandbox, 16)
    log = tmp_path / "worker.log"
    with celery_worker(env, log) as first:
        started = wait_until(
            lambda: ProviderCall.objects.filter(state=CallState.SUCCEEDED).count() >= 3, timeout=60
        )
        assert started, log.read_text()[-3000:]
        stop(first, signal.SIGKILL)  # the whole process group: main process and pool children
    mid = ProviderCall.objects.exclude(state=CallState.SUCCEEDED).count()
    assert mid > 0, "the kill came after the batch finished; nothing was interrupted"

    def sweep() -> None:  # what beat does every 30 s
        for call_id, _ in due_calls():
            execute_call.delay(call_id)

    with celery_worker(env, log):
        done = wait_until(
            lambda: ProviderCall.objects.filter(state__in=FINAL).count() == len(calls),
            timeout=120,
            every=1,
            tick=sweep,
        )
    assert done, log.read_text()[-3000:]
    assert_exactly_once(sandbox, calls)
