"""Managers run bulk Junction replays in a real browser: the preview counts the matching orders and
says why one is left out, a second manager approves the job, the live progress follows it to the
end, and a larger job is paused and resumed with honest counts in between. A real worker makes
the calls; the sandbox's effect ledger shows every order replayed exactly once, in batches."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from resends import rules
from resends.accounts import default_account
from resends.models import BulkJob, BulkKind, BulkState, Order, ResendRequest
from resends.models.audit import RequestState
from resends.roles import AGENTS, MANAGERS
from resends.services.submit import submit_junction_orders
from tests.conftest import make_user
from tests.engine.helpers import faults, ledger
from tests.engine.worker import celery_worker, wait_until, worker_env

from .conftest import audit, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker]
SETTLE_MS = 60_000
# Small batches and a small window, in the worker and in the web process alike, so that a job of
# a few dozen orders takes several steps and several provider requests.
BATCH = 5  # JUNCTION_BATCH_SIZE: order ids per resend_events request
WINDOW = 2  # BULK_WINDOW: resends a running job keeps in progress
JOB_PAGE = re.compile(r"/bulk/[0-9a-f-]{36}/$")


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, sandbox_server, tmp_path_factory) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The conftest's worker, started with this module's batch size and window."""
    from backoffice.celery import app

    with django_db_blocker.unblock():
        app.control.purge()
        log = tmp_path_factory.mktemp("worker") / "worker.log"
        env = worker_env(sandbox_server, JUNCTION_BATCH_SIZE=str(BATCH), BULK_WINDOW=str(WINDOW))
        with celery_worker(env, log) as proc:
            yield proc


@pytest.fixture
def small_batches(settings) -> None:  # type: ignore[no-untyped-def]
    settings.JUNCTION = {**settings.JUNCTION, "batch_size": BATCH}
    settings.BULK_WINDOW = WINDOW
    assert rules.junction_batch_size() == BATCH


def orders_updated_together(count: int) -> tuple[datetime, datetime, list[Order]]:
    """A whole-minute range of "updated" times that exactly `count` demo Junction orders fall in
    (the demo orders are the sandbox's own, so a replay of them reaches the ledger)."""
    orders = list(
        Order.objects.filter(
            account__provider="junction", provider_updated_at__isnull=False
        ).order_by("provider_updated_at")
    )
    times = [o.provider_updated_at for o in orders if o.provider_updated_at is not None]
    for first in range(len(orders) - count, 0, -1):  # the newest such range
        start = times[first].replace(second=0, microsecond=0)
        end = times[first + count - 1].replace(second=0, microsecond=0) + timedelta(minutes=1)
        after = times[first + count] if first + count < len(times) else None
        if times[first - 1] < start and (after is None or after >= end):
            return start, end, orders[first : first + count]
    raise AssertionError(f"no minute range holds exactly {count} demo Junction orders")


def minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def fact(scope: Any, term: str) -> Any:
    """The <dd> beside the <dt> that says `term` in a facts list."""
    return scope.locator(f"xpath=.//dt[normalize-space()='{term}']/following-sibling::dd[1]")


def fill_bulk_form(page: Any, start: datetime, end: datetime, note: str) -> None:
    page.get_by_role("link", name="Bulk jobs").click()
    page.wait_for_url(re.compile(r"/bulk/$"))
    audit(page)
    page.get_by_role("link", name="New bulk job…").click()
    # By value: other kinds may be added to this list in any order.
    page.get_by_label("What to do").select_option(value=BulkKind.JUNCTION_ORDERS)
    page.get_by_label("Orders updated from (UTC)").fill(minute(start))
    page.get_by_label("Orders updated before (UTC)").fill(minute(end))
    page.get_by_label("Note for the audit").fill(note)


def replayed_ids(entries: list[dict[str, Any]]) -> list[str]:
    return [order_id for entry in entries for order_id in entry["target"]]


def test_a_bulk_replay_approved_by_a_second_manager_replays_each_order_once(  # type: ignore[no-untyped-def]
    console, page, new_context, small_batches, settings
) -> None:
    settings.BULK_APPROVAL_THRESHOLD = 2
    alice = make_user("alice", group=AGENTS)
    make_user("mona", group=MANAGERS, staff=True)
    make_user("max", group=MANAGERS, staff=True)
    start, end, orders = orders_updated_together(12)
    # An agent replayed one of them a moment ago: the bulk job must leave that one out.
    recent = orders[4]
    submitted = submit_junction_orders(
        actor=alice, account=default_account("junction"), order_ids=[recent.external_id],
        intent_key="web:browser-test-agent-replay",
    )  # fmt: skip
    assert wait_until(
        lambda: ResendRequest.objects.get(pk=submitted.request.pk).state == RequestState.SUCCEEDED,
        timeout=30,
    )
    to_send = [o.external_id for o in orders if o != recent]
    batches = math.ceil(len(to_send) / BATCH)  # 11 orders in batches of 5: 3 requests
    assert batches > settings.BULK_APPROVAL_THRESHOLD

    sign_in(page, console.url, "mona")
    fill_bulk_form(page, start, end, "Webhook outage: replay the day's lab orders")
    preview = page.locator("#preview")
    expect(page.locator("#matched")).to_have_text("12")
    expect(page.locator("#to-send")).to_have_text("11")
    expect(fact(preview, "Skipped")).to_have_text("1")
    expect(fact(preview, "Provider requests")).to_have_text(str(batches))
    skip_rows = preview.locator("tbody tr")
    expect(skip_rows).to_have_count(1)
    expect(skip_rows.locator("td")).to_have_text([rules.SKIP_RECENT, "1", recent.external_id])
    expect(page.locator("#create-button")).to_be_enabled()
    page.camera("preview")

    page.locator("#create-button").click()
    page.wait_for_url(JOB_PAGE)
    job_url = page.url
    job = BulkJob.objects.get()
    assert job_url.endswith(f"/bulk/{job.public_id}/")
    expect(page.locator(".messages")).to_contain_text("waits for another manager's approval")
    expect(page.locator("#job-state")).to_have_text("Awaiting approval")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator("#job-waiting")).to_contain_text(
        "Waiting for approval: a manager other than mona must approve it"
    )
    page.camera("awaiting-approval")
    # Forced (a crafted post): the server refuses the creator's own approval too.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    status = page.evaluate(
        """([url, token]) => fetch(url, {method: "POST", headers: {"X-CSRFToken": token},
            body: new URLSearchParams({note: "myself"})}).then(r => r.status)""",
        [f"{job_url}approve/", token],
    )
    assert status == 403
    job.refresh_from_db()
    assert job.state == BulkState.AWAITING_APPROVAL and job.approved_by is None
    assert replayed_ids(ledger(console.sandbox, "junction")) == [recent.external_id]

    second = new_context()
    other = second.new_page()
    polls: list[str] = []
    other.on("request", lambda r: polls.append(r.url) if "/progress/" in r.url else None)
    sign_in(other, console.url, "max")
    other.goto(job_url)
    approval = other.locator("form").filter(has=other.get_by_role("button", name="Approve"))
    expect(approval).to_contain_text(f"mona asks to send {batches} provider requests")
    other.get_by_label("Note (required to reject)").fill("Outage confirmed with the lab")
    page.camera.shoot(other, "second-manager-approves")
    other.get_by_role("button", name="Approve").click()
    other.wait_for_url(job_url)
    expect(other.locator(".messages")).to_contain_text("Approved and started.")
    page.camera.shoot(other, "running")
    # Its live panel follows the job to the end by polling, without a reload.
    expect(other.locator("#job-state")).to_have_text("Finished", timeout=SETTLE_MS)
    assert polls, "the progress panel never polled"
    expect(other.locator("#count-done")).to_have_text("11")
    expect(other.locator("#count-failed")).to_have_text("0")
    expect(other.locator("#count-skipped")).to_contain_text(f"1 × {rules.SKIP_RECENT}")
    expect(other.locator("#count-remaining")).to_have_text("0")
    expect(other.locator("#job-progress")).to_have_attribute("value", "100")
    expect(fact(other.locator("aside"), "Decided")).to_contain_text("max at", use_inner_text=True)
    expect(other.locator("aside")).to_contain_text("Outage confirmed with the lab")
    page.camera.shoot(other, "finished")
    finished_polls = len(polls)
    other.wait_for_timeout(2_500)  # one polling period: a finished job is no longer polled
    assert len(polls) == finished_polls

    page.reload()
    expect(page.locator("#job-state")).to_have_text("Finished")
    expect(page.locator("#count-done")).to_have_text("11")
    page.camera("finished-for-the-creator")

    effects = ledger(console.sandbox, "junction")
    assert effects[0]["target"] == [recent.external_id]  # the agent's own replay
    bulk = effects[1:]
    assert {e["operation"] for e in bulk} == {"resend_events"}
    assert sorted(len(e["target"]) for e in bulk) == [1, BATCH, BATCH]  # 11 in batches of 5
    assert Counter(replayed_ids(bulk)) == Counter(to_send)  # each once, none missed
    assert Counter(replayed_ids(effects)) == Counter(o.external_id for o in orders)
    job.refresh_from_db()
    assert job.state == BulkState.FINISHED and job.approved_by is not None
    assert (job.approved_by.username, job.decision_note) == ("max", "Outage confirmed with the lab")
    assert job.requests.count() == batches
    assert set(job.requests.values_list("state", flat=True)) == {RequestState.SUCCEEDED}


def test_a_paused_bulk_replay_shows_honest_counts_and_resumes_to_the_end(  # type: ignore[no-untyped-def]
    console, page, small_batches
) -> None:
    make_user("mona", group=MANAGERS, staff=True)
    start, end, orders = orders_updated_together(40)
    expected = [o.external_id for o in orders]
    faults(console.sandbox, provider="junction", latency_ms=1000)  # each request takes a second

    sign_in(page, console.url, "mona")
    fill_bulk_form(page, start, end, "Replay after the lab's outage")
    expect(page.locator("#matched")).to_have_text("40")
    expect(page.locator("#to-send")).to_have_text("40")
    expect(fact(page.locator("#preview"), "Provider requests")).to_have_text(str(40 // BATCH))
    audit(page)
    page.locator("#create-button").click()
    page.wait_for_url(JOB_PAGE)
    expect(page.locator(".messages")).to_contain_text("Created and started.")

    done = page.locator("#count-done")
    expect(done).not_to_have_text("0", timeout=SETTLE_MS)
    page.camera("running")
    page.get_by_role("button", name="Pause").click()
    expect(page.locator(".messages")).to_contain_text("nothing more is sent until you resume")
    expect(page.locator("#job-state")).to_have_text("Paused")
    audit(page)

    # What was already on the wire lands; then nothing more leaves while the job is paused.
    def ledger_ids() -> list[str]:
        return replayed_ids(ledger(console.sandbox, "junction"))

    seen: list[int] = []

    def settled() -> bool:
        seen.append(len(ledger_ids()))
        return len(seen) >= 8 and len(set(seen[-8:])) == 1  # the same for 8 looks in a row

    assert wait_until(settled, timeout=20, every=0.3)
    sent = ledger_ids()
    assert 0 < len(sent) < len(expected), f"not a partial job: {len(sent)} sent"
    page.reload()
    expect(page.locator("#job-state")).to_have_text("Paused")
    expect(page.locator("#job-waiting")).to_have_text(
        "Paused: nothing more is sent until a manager resumes it."
    )
    expect(done).to_have_text(str(len(sent)))
    expect(page.locator("#count-failed")).to_have_text("0")
    expect(page.locator("#count-remaining")).to_have_text(str(len(expected) - len(sent)))
    percent = round(100 * len(sent) / len(expected))
    expect(page.locator("#job-progress")).to_have_attribute("value", str(percent))
    page.camera("paused")
    time.sleep(1.5)
    assert ledger_ids() == sent, "something was sent while the job was paused"

    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".messages")).to_contain_text("Resumed.")
    expect(page.locator("#job-state")).to_have_text("Finished", timeout=SETTLE_MS)
    expect(done).to_have_text("40")
    expect(page.locator("#count-failed")).to_have_text("0")
    expect(page.locator("#count-remaining")).to_have_text("0")
    page.camera("finished")

    effects = ledger(console.sandbox, "junction")
    assert [len(e["target"]) for e in effects] == [BATCH] * (40 // BATCH)
    assert Counter(replayed_ids(effects)) == Counter(expected)  # each once, none missed
    job = BulkJob.objects.get()
    assert job.state == BulkState.FINISHED and job.skipped == 0
