"""A bulk job run by real Celery workers survives a SIGKILL of the worker mid-job: the sandbox
ledger shows every order resent exactly once."""

from __future__ import annotations

import signal
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from backoffice.celery import app
from resends.engine.sweeper import due_calls
from resends.models import BulkJob, BulkKind, BulkState, ProviderCall
from resends.models.audit import CallState
from resends.services import bulk_jobs, bulk_run
from resends.tasks import execute_call
from tests.engine.helpers import faults, ledger
from tests.engine.worker import celery_worker, stop, wait_until, worker_env

from .test_bulk_run import SINCE, mirror_chargebee

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis"),
    reason="kill tests need a broker with acknowledgements (Redis); the filesystem broker has none",
)
def test_a_bulk_job_survives_a_worker_sigkill_with_every_effect_once(
    sandbox, manager, tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    app.control.purge()
    settings.CALL_LEASE_SECONDS = 4
    settings.SWEEP_GRACE_SECONDS = 1
    env = worker_env(
        sandbox, CALL_LEASE_SECONDS="4", PROVIDER_HTTP_READ_TIMEOUT="2", BULK_WINDOW="4"
    )
    faults(sandbox, provider="chargebee", latency_ms=300)
    orders = mirror_chargebee(sandbox, 14)
    log = tmp_path / "worker.log"
    with celery_worker(env, log) as first:
        job, _ = bulk_jobs.create_job(
            actor=manager, kind=BulkKind.CHARGEBEE_FULL, account=orders[0].account,
            criteria=SINCE, reason_code="Damaged",
        )  # fmt: skip
        started = wait_until(lambda: len(ledger(sandbox, "chargebee")) >= 3, timeout=60)
        assert started, log.read_text()[-3000:]
        stop(first, signal.SIGKILL)
    job.refresh_from_db()
    assert job.state == BulkState.RUNNING, "the kill came after the job finished"

    def beat() -> None:  # what beat does every 30 s: re-ring stalled jobs and due calls
        bulk_run.restart_stalled(after_seconds=2)
        for call_id, _ in due_calls():
            execute_call.delay(call_id)

    with celery_worker(env, log):
        finished = wait_until(
            lambda: BulkJob.objects.get(pk=job.pk).state == BulkState.FINISHED,
            timeout=120, every=1, tick=beat,
        )  # fmt: skip
    assert finished, log.read_text()[-3000:]
    effects = Counter(entry["target"] for entry in ledger(sandbox, "chargebee"))
    assert effects == Counter(order.external_id for order in orders)  # each once, none missed
    assert set(ProviderCall.objects.values_list("state", flat=True)) == {CallState.SUCCEEDED}


def test_approve_from_a_script_and_follow_the_job_to_its_end(
    sandbox, manager, second_manager, tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    """`bulk_job approve` rings the job; `bulk_job status --follow` draws it until it stops."""
    settings.BULK_APPROVAL_THRESHOLD = 1
    faults(sandbox, provider="chargebee", latency_ms=200)  # slow enough to watch it move
    orders = mirror_chargebee(sandbox, 8)
    job, _ = bulk_jobs.create_job(
        actor=manager, kind=BulkKind.CHARGEBEE_FULL, account=orders[0].account,
        criteria=SINCE, reason_code="Damaged",
    )  # fmt: skip
    assert job.state == BulkState.AWAITING_APPROVAL
    log = tmp_path / "worker.log"
    out = StringIO()
    with celery_worker(worker_env(sandbox, BULK_WINDOW="2"), log):
        call_command("bulk_job", "approve", str(job.pk), "--by", second_manager.username)
        call_command("bulk_job", "status", str(job.pk), "--follow", "--interval", "0.2",
                     "--timeout", "120", stdout=out)  # fmt: skip
    frames = out.getvalue().splitlines()
    assert frames[-1] == f"Bulk job #{job.pk} stopped: finished.", log.read_text()[-3000:]
    bars = frames[:-1]
    percents = [int(frame.split("]")[1].split("%")[0]) for frame in bars]
    assert percents == sorted(percents) and percents[-1] == 100
    assert len(bars) >= 3, bars  # it was seen moving, one line per change
    assert f"done {len(orders)}  failed 0" in bars[-1]
    assert Counter(entry["target"] for entry in ledger(sandbox, "chargebee")) == Counter(
        order.external_id for order in orders
    )
