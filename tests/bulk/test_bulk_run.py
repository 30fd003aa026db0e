"""Running bulk jobs against the sandbox over real HTTP, stepped in-process: fan-out in windows,
every effect exactly once, pause/resume/cancel with honest partial results, retry, emails."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail

from resends import rules
from resends.accounts import default_account
from resends.engine.execution import process_call
from resends.models import BulkJob, BulkKind, BulkState, ProviderCall
from resends.models.audit import CallState, RequestState
from resends.providers.chargebee.mirror import order_record_from_json as chargebee_order
from resends.providers.junction.mirror import order_record_from_json as junction_order
from resends.selectors import bulk_progress
from resends.services import bulk_jobs, bulk_run
from resends.services.mirrors import upsert_order
from sandbox.dataset import build_dataset
from tests.engine.helpers import chargebee_orders, clear_faults, faults, ledger

pytestmark = pytest.mark.django_db
SINCE = {"updated_from": "2000-01-01T00:00:00Z"}


def mirror_chargebee(sandbox: Any, count: int) -> list[Any]:
    account = default_account("chargebee")
    picked = [
        raw
        for raw in chargebee_orders(sandbox)
        if not raw.get("resent_orders") and raw["status"] in ("queued", "shipped", "delivered")
    ][:count]
    return [upsert_order(account, chargebee_order(raw))[0] for raw in picked]


def send_due_calls() -> int:
    due = list(ProviderCall.objects.filter(state=CallState.PENDING, next_attempt_at__isnull=True))
    for call in due:
        process_call(call.pk, worker="test")
    return len(due)


def run_to_the_end(job: BulkJob, steps: int = 50) -> BulkJob:
    for _ in range(steps):
        going = bulk_run.advance(job.pk)
        send_due_calls()
        if not going:
            break
    job.refresh_from_db()
    return job


def new_job(user: User, kind: str = BulkKind.CHARGEBEE_FULL, **criteria: Any) -> BulkJob:
    account = default_account("junction" if kind.startswith("junction") else "chargebee")
    job, created = bulk_jobs.create_job(
        actor=user, kind=kind, account=account, criteria=criteria or SINCE,
        reason_code="Damaged" if kind == BulkKind.CHARGEBEE_FULL else "",
    )  # fmt: skip
    assert created
    return job


def test_a_chargebee_job_resends_each_order_once_in_windows(
    sandbox, agent, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.BULK_WINDOW = 3
    orders = mirror_chargebee(sandbox, 8)
    capped = orders[-1]
    capped.resend_count = 5
    capped.save()
    job = new_job(agent)
    assert job.preview["to_send"] == 7 and job.state == BulkState.QUEUED

    bulk_run.advance(job.pk)
    assert job.requests.count() == 3  # one window, not everything at once
    with django_capture_on_commit_callbacks(execute=True):  # emails go after commit
        job = run_to_the_end(job)

    assert job.state == BulkState.FINISHED
    effects = ledger(sandbox, "chargebee")
    assert sorted(e["target"] for e in effects) == sorted(o.external_id for o in orders[:7])
    progress = bulk_progress.progress(job)
    assert (progress.done, progress.failed, progress.skipped, progress.remaining) == (7, 0, 1, 0)
    assert job.skip_counts == {"all 5 resends used": 1}
    assert [m.to for m in mail.outbox] == [[agent.email]]
    assert "finished" in mail.outbox[0].subject and "Succeeded: 7" in mail.outbox[0].body


def test_pause_holds_the_sent_window_and_cancel_keeps_what_was_done(
    sandbox, agent, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.BULK_WINDOW = 2
    mirror_chargebee(sandbox, 6)
    job = new_job(agent)
    bulk_run.advance(job.pk)
    first_two = list(ProviderCall.objects.values_list("pk", flat=True))
    process_call(first_two[0], worker="test")  # one goes out before the pause

    bulk_run.pause(job)
    process_call(first_two[1], worker="test")  # queued before the pause: held, not sent
    assert not bulk_run.advance(job.pk)  # a paused job creates nothing
    assert len(ledger(sandbox, "chargebee")) == 1
    held = ProviderCall.objects.get(pk=first_two[1])
    assert held.state == CallState.PENDING and held.attempts == 0

    bulk_run.resume(job)
    process_call(first_two[1], worker="test")
    assert len(ledger(sandbox, "chargebee")) == 2
    bulk_run.advance(job.pk)  # the next window
    assert job.requests.count() == 4

    bulk_run.cancel(job)
    assert send_due_calls() == 0  # the queued ones were cancelled, nothing more leaves
    job.refresh_from_db()
    assert job.state == BulkState.CANCELLED
    assert len(ledger(sandbox, "chargebee")) == 2
    progress = bulk_progress.progress(job)
    assert (progress.done, progress.failed) == (2, 2)  # two sent, two cancelled before sending
    assert set(job.requests.values_list("state", flat=True)) == {
        RequestState.SUCCEEDED,
        RequestState.CANCELLED,
    }


def test_failed_items_are_retried_by_a_linked_job(sandbox, agent, manager, settings) -> None:  # type: ignore[no-untyped-def]
    mirror_chargebee(sandbox, 3)
    faults(sandbox, provider="chargebee", error_rate=1.0, error_status=400, error_count=2)
    job = run_to_the_end(new_job(agent))
    assert bulk_progress.progress(job).failed == 2 and len(ledger(sandbox, "chargebee")) == 1
    clear_faults(sandbox)

    # A bulk job's resends are retried by managers only (README, "Who may retry or cancel what").
    retry = bulk_jobs.create_retry_job(job, actor=manager)
    retry = run_to_the_end(retry)
    assert retry.state == BulkState.FINISHED and retry.retry_of == job
    assert len(ledger(sandbox, "chargebee")) == 3
    assert all(r.retry_of and r.retry_of.bulk_job == job for r in retry.requests.all())
    assert {(r.channel, r.submitted_by) for r in retry.requests.all()} == {("bulk", manager)}
    with pytest.raises(rules.RuleViolation, match="Nothing in this job failed"):
        bulk_jobs.create_retry_job(retry, actor=manager)


def test_a_retry_of_more_failures_than_the_threshold_waits_for_approval(
    sandbox, agent, manager, second_manager, settings
) -> None:  # type: ignore[no-untyped-def]
    mirror_chargebee(sandbox, 3)
    faults(sandbox, provider="chargebee", error_rate=1.0, error_status=400, error_count=2)
    job = run_to_the_end(new_job(agent))
    clear_faults(sandbox)
    settings.BULK_APPROVAL_THRESHOLD = 1

    retry = bulk_jobs.create_retry_job(job, actor=manager)
    assert retry.state == BulkState.AWAITING_APPROVAL and retry.channel == "web"
    assert bulk_run.advance(retry.pk) is False and not retry.requests.exists()  # nothing sent
    bulk_jobs.decide(retry, manager=second_manager, approve=True, note="")
    assert run_to_the_end(retry).state == BulkState.FINISHED
    assert len(ledger(sandbox, "chargebee")) == 3


def test_junction_orders_go_in_batches_of_100(sandbox, agent) -> None:  # type: ignore[no-untyped-def]
    account = default_account("junction")
    raws = build_dataset(seed=42).junction_orders
    for raw in raws:
        upsert_order(account, junction_order(raw))
    job = run_to_the_end(new_job(agent, BulkKind.JUNCTION_ORDERS))
    sent = ledger(sandbox, "junction")
    sizes = sorted(len(e["details"]["requested_order_ids"]) for e in sent)
    assert sizes == [len(raws) - 200, 100, 100]
    assert job.state == BulkState.FINISHED and bulk_progress.progress(job).done == len(raws)


def test_a_failure_rate_past_the_threshold_is_emailed_once(
    sandbox, agent, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.BULK_FAILURE_ALERT_MIN_ITEMS = 2
    settings.BULK_WINDOW = 2
    mirror_chargebee(sandbox, 4)
    faults(sandbox, provider="chargebee", error_rate=1.0, error_status=400)
    with django_capture_on_commit_callbacks(execute=True):
        job = run_to_the_end(new_job(agent))
    subjects = [m.subject for m in mail.outbox]
    assert sum("failed" in s and "%" in s for s in subjects) == 1
    assert job.state == BulkState.FINISHED


def test_the_window_holds_seconds_of_the_accounts_rate_unless_set(settings) -> None:  # type: ignore[no-untyped-def]
    job = BulkJob(account=default_account("chargebee"), kind=BulkKind.CHARGEBEE_FULL)
    settings.BULK_WINDOW, settings.BULK_WINDOW_SECONDS = 0, 8.0
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "chargebee": 58.0}
    assert bulk_run.window_for(job) == 464  # 8 s at 58/s: it outlasts a few late steps
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "chargebee": 2.0}
    assert bulk_run.window_for(job) == bulk_run.MIN_WINDOW
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "chargebee": 0.0}  # no limit
    assert bulk_run.window_for(job) == bulk_run.MIN_WINDOW
    settings.BULK_WINDOW = 3
    assert bulk_run.window_for(job) == 3


def test_steps_have_a_queue_of_their_own() -> None:
    """In the calls' queue a step would wait behind every batch of the window it tops up."""
    from django.conf import settings

    from resends import doorbell

    route = settings.CELERY_TASK_ROUTES[doorbell.ADVANCE_BULK_JOB]["queue"]
    assert route == settings.BULK_STEPS_QUEUE
    assert route not in settings.CALL_QUEUES.values()
    assert route in {queue.name for queue in settings.CELERY_TASK_QUEUES}
