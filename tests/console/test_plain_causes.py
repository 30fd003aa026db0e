"""Plain causes: a resend's page (and its live-status panel, and the order's timeline) says which
class of trouble a call met (cannot reach the provider / the provider refused / the provider is
busy / outcome unknown) with the time of the last error, and a bulk job's page says why it is not
moving (paused, awaiting approval, the rate budget, an unreachable provider, no worker).

Everything a provider does here is done by the sandbox over real HTTP: its fault injection for
429 and 503, and an account pointed at a closed port for a refused connection."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from resends.accounts import default_account
from resends.engine import budget
from resends.engine.execution import process_call
from resends.engine.policy import MAX_ATTEMPTS
from resends.models import BulkJob, BulkKind, BulkState, Order, ProviderCall, ResendRequest
from resends.models.audit import CallState
from resends.presentation import Trouble, trouble_of
from resends.services import bulk_jobs, bulk_run
from resends.services.submit import submit_chargebee_resend
from tests.engine.helpers import faults, mirror_chargebee_order

from .helpers import HTMX, signed_in, squash, text

pytestmark = pytest.mark.django_db


# --- the one mapping ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error_class", "status", "trouble"),
    [
        ("transient", None, Trouble.UNREACHABLE),
        ("transient", 429, Trouble.BUSY),
        ("transient", 503, Trouble.BUSY),
        ("unknown", None, Trouble.UNKNOWN),
        ("unknown", 502, Trouble.UNKNOWN),
        ("permanent", 400, Trouble.REFUSED),
        ("permanent", 200, Trouble.REFUSED),  # Return Helper's refusals come as HTTP 200
        ("permanent", None, Trouble.NOT_SENT),
        ("", None, None),
    ],
)
def test_each_error_class_has_one_plain_cause(
    error_class: str, status: int | None, trouble: Trouble | None
) -> None:
    assert trouble_of(error_class, status) is trouble


# --- a resend's page ---------------------------------------------------------------------------
@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def order(sandbox: Any) -> Order:
    return mirror_chargebee_order(sandbox)


def submit(order: Order, agent: User, key: str = "causes-1") -> ResendRequest:
    line = order.line_items.first()
    assert line is not None
    return submit_chargebee_resend(
        actor=agent, order=order, lines=[(line, 1)], reason="Damaged", intent_key=key
    ).request


def run(call: ProviderCall) -> ProviderCall:
    process_call(call.pk, worker="test-worker")
    call.refresh_from_db()
    return call


def cause(page: str) -> tuple[str, str]:
    """The (trouble, words) of the first call's cause line on a page."""
    match = re.search(r'<div class="[^"]*cause[^"]*" data-trouble="(\w+)">(.*?)</div>', page, re.S)
    assert match, "no cause on the page"
    return match.group(1), squash(match.group(2))


def last_error_time(call: ProviderCall) -> str:
    attempt = call.attempt_rows.order_by("-number").first()
    assert attempt is not None and attempt.finished_at is not None
    return f"{timezone.localtime(attempt.finished_at):%H:%M:%S} UTC"


@pytest.fixture
def alice(client: Client, agent: User) -> Client:
    return signed_in(client, agent)


def pages(browser: Client, resend: ResendRequest) -> list[str]:
    """The resend's page and its live-status panel (what htmx polls)."""
    url = reverse("resends:request", args=[resend.public_id])
    status = reverse("resends:request-status", args=[resend.public_id])
    return [text(browser.get(url)), text(browser.get(status, headers=HTMX))]


def test_a_refused_connection_reads_cannot_reach_the_provider(
    alice: Client, agent: User, order: Order, closed_port: int, settings: Any
) -> None:
    resend = submit(order, agent)
    settings.CHARGEBEE = {**settings.CHARGEBEE, "base_url": f"http://127.0.0.1:{closed_port}"}
    call = run(resend.calls.get())
    assert call.state == CallState.PENDING and call.error_class == "transient"
    for page in pages(alice, resend):
        assert cause(page) == (
            "unreachable",
            f"Cannot reach the provider · last error at {last_error_time(call)}",
        )
        assert (
            f"Trying again at {timezone.localtime(call.next_attempt_at):%H:%M:%S %Z} (attempt 2)."
            in squash(page)
        )  # type: ignore[arg-type]
        assert "busy" not in squash(page)


def test_giving_up_on_an_unreachable_provider_does_not_say_it_refused(
    alice: Client, agent: User, order: Order, closed_port: int, settings: Any
) -> None:
    resend = submit(order, agent)
    settings.CHARGEBEE = {**settings.CHARGEBEE, "base_url": f"http://127.0.0.1:{closed_port}"}
    call = resend.calls.get()
    for _ in range(MAX_ATTEMPTS):
        ProviderCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
        call = run(call)
    assert call.state == CallState.FAILED
    page = pages(alice, resend)[0]
    assert cause(page)[0] == "unreachable"
    words = squash(page)
    assert f"Gave up after {MAX_ATTEMPTS} attempts; the provider took none of them" in words
    assert "The provider refused" not in words

    order_page = text(alice.get(reverse("resends:order", args=[order.pk])))  # the timeline
    assert "Cannot reach the provider (" in squash(order_page)


def test_a_429_reads_the_provider_is_busy(
    alice: Client, agent: User, order: Order, sandbox: Any
) -> None:
    resend = submit(order, agent)
    faults(sandbox, provider="chargebee", rate_limit_burst=1, retry_after=30)
    call = run(resend.calls.get())
    assert call.state == CallState.PENDING
    for page in pages(alice, resend):
        assert cause(page) == (
            "busy",
            f"The provider is busy · last error at {last_error_time(call)}",
        )


def test_a_503_on_the_resend_reads_outcome_unknown(
    alice: Client, agent: User, order: Order, sandbox: Any
) -> None:
    resend = submit(order, agent)
    faults(sandbox, provider="chargebee", error_rate=1.0, error_status=503)
    call = run(resend.calls.get())
    assert call.state == CallState.UNKNOWN
    for page in pages(alice, resend):
        assert cause(page) == (
            "unknown",
            f"Outcome unknown · last error at {last_error_time(call)}",
        )
        assert "checking with the provider before trying again" in squash(page)

    order_page = squash(text(alice.get(reverse("resends:order", args=[order.pk]))))
    assert "Outcome unknown · last error at" in order_page


def test_a_refusal_by_the_provider_reads_the_provider_refused(
    alice: Client, agent: User, order: Order, sandbox: Any
) -> None:
    # Chargebee cancels the order behind our back (a full resend made in its dashboard): the
    # mirror has not heard yet, so the console submits, and Chargebee answers 400.
    requests.post(
        f"{sandbox.chargebee_url}/api/v2/orders/{order.external_id}/resend",
        auth=("test_sandbox_key", ""),
        timeout=10,
    ).raise_for_status()
    resend = submit(order, agent)
    call = run(resend.calls.get())
    assert call.state == CallState.FAILED
    page = pages(alice, resend)[0]
    assert cause(page) == (
        "refused",
        f"The provider refused · last error at {last_error_time(call)}",
    )
    assert "The provider refused: " in squash(page)


def test_a_call_that_never_went_wrong_shows_no_cause(
    alice: Client, agent: User, order: Order
) -> None:
    resend = submit(order, agent)
    assert run(resend.calls.get()).state == CallState.SUCCEEDED
    for page in pages(alice, resend):
        assert "data-trouble" not in page


# --- a bulk job's page -------------------------------------------------------------------------
@pytest.fixture
def mona(manager: User) -> Client:
    return signed_in(Client(), manager)


def job_waiting(browser: Client, job: BulkJob) -> tuple[str, str]:
    """(cause, words) of the job page's "why it is not moving", and the same from its live panel."""
    found = []
    for page in (
        text(browser.get(reverse("resends:bulk-job", args=[job.public_id]))),
        text(browser.get(reverse("resends:bulk-progress", args=[job.public_id]), headers=HTMX)),
    ):
        match = re.search(r'id="job-waiting" data-cause="(\w+)">(.*?)</div>', page, re.S)
        found.append((match.group(1), squash(match.group(2))) if match else ("", ""))
    assert found[0] == found[1] or not found[1][0]  # the panel polls only while the job is live
    return found[0]


@pytest.fixture
def chargebee_job(sandbox: Any, manager: User, second_manager: User) -> BulkJob:
    """A queued Chargebee job of three orders, by max."""
    for resends in (0, 0, 0):
        mirror = mirror_chargebee_order(sandbox, resends=resends)
        mirror.provider_updated_at = timezone.now()
        mirror.save()
    job, _ = bulk_jobs.create_job(
        actor=second_manager, kind=BulkKind.CHARGEBEE_FULL, account=default_account("chargebee"),
        criteria={"updated_from": (timezone.now() - timedelta(hours=1)).isoformat()},
        reason_code="Damaged",
    )  # fmt: skip
    assert job.state == BulkState.QUEUED and job.preview["to_send"] >= 1
    return job


@pytest.fixture
def rate_budget(settings: Any) -> Iterator[None]:
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "chargebee": 50.0}
    account = default_account("chargebee")
    budget.reset(account)
    yield
    budget.reset(account)


def send_due() -> None:
    for call in ProviderCall.objects.filter(state=CallState.PENDING, next_attempt_at__isnull=True):
        process_call(call.pk, worker="test-worker")


def test_a_job_that_moves_says_nothing(mona: Client, chargebee_job: BulkJob) -> None:
    assert job_waiting(mona, chargebee_job) == ("", "")


def test_a_paused_job_says_it_is_paused(mona: Client, chargebee_job: BulkJob) -> None:
    bulk_run.pause(chargebee_job)
    assert job_waiting(mona, chargebee_job) == (
        "paused",
        "Paused: nothing more is sent until a manager resumes it.",
    )


def test_a_job_awaiting_approval_says_whose(
    mona: Client, chargebee_job: BulkJob, manager: User
) -> None:
    BulkJob.objects.filter(pk=chargebee_job.pk).update(state=BulkState.AWAITING_APPROVAL)
    cause_, words = job_waiting(mona, chargebee_job)
    assert cause_ == "approval"
    assert words.startswith("Waiting for approval: a manager other than max must approve it")


def test_a_job_no_worker_picks_up_says_so(mona: Client, chargebee_job: BulkJob) -> None:
    rung_at = timezone.now() - timedelta(minutes=2)
    BulkJob.objects.filter(pk=chargebee_job.pk).update(stepped_at=rung_at)
    cause_, words = job_waiting(mona, chargebee_job)
    assert cause_ == "worker" and words.startswith("Waiting for a worker: none has picked")
    assert f"{timezone.localtime(rung_at):%Y-%m-%d %H:%M:%S} UTC" in words


def test_a_job_whose_provider_is_unreachable_says_so(
    mona: Client, chargebee_job: BulkJob, closed_port: int, settings: Any
) -> None:
    settings.CHARGEBEE = {**settings.CHARGEBEE, "base_url": f"http://127.0.0.1:{closed_port}"}
    bulk_run.advance(chargebee_job.pk)
    send_due()
    waiting = ProviderCall.objects.filter(request__bulk_job=chargebee_job)
    assert waiting.exists() and not waiting.exclude(state=CallState.PENDING).exists()
    cause_, words = job_waiting(mona, chargebee_job)
    assert cause_ == "unreachable"
    count = waiting.count()
    assert words.startswith(
        f"Cannot reach the provider (Chargebee): {count} resend{'s' if count > 1 else ''} wait"
    )
    latest = max(a.finished_at for c in waiting for a in c.attempt_rows.all() if a.finished_at)
    assert f"last error at {timezone.localtime(latest):%Y-%m-%d %H:%M:%S} UTC" in words


def test_a_job_held_by_the_rate_budget_says_so(
    mona: Client, chargebee_job: BulkJob, sandbox: Any, rate_budget: None
) -> None:
    faults(sandbox, provider="chargebee", rate_limit_burst=100, retry_after=60)
    bulk_run.advance(chargebee_job.pk)
    send_due()  # the first 429 asks every worker to wait a minute
    cause_, words = job_waiting(mona, chargebee_job)
    assert cause_ == "rate_budget"
    assert re.fullmatch(
        r"Waiting for the rate budget: Chargebee asked everyone to slow down \(HTTP 429\); "
        r"nothing is sent to it for another (\d+) s\.",
        words,
    ), words


def test_a_resend_of_a_paused_job_says_the_job_is_paused(
    mona: Client, chargebee_job: BulkJob
) -> None:
    bulk_run.advance(chargebee_job.pk)  # its first window, not sent yet
    resend = chargebee_job.requests.first()
    assert resend is not None
    assert 'id="job-paused"' not in pages(mona, resend)[0]
    bulk_run.pause(chargebee_job)
    for page in pages(mona, resend):
        assert "Its bulk job is paused: nothing more is sent until a manager resumes it." in (
            squash(page)
        )
        assert reverse("resends:bulk-job", args=[chargebee_job.public_id]) in page


def test_a_running_job_whose_due_resends_nobody_sends_says_so(
    mona: Client, chargebee_job: BulkJob
) -> None:
    bulk_run.advance(chargebee_job.pk)  # its first window: due, and (no worker here) not sent
    calls = ProviderCall.objects.filter(request__bulk_job=chargebee_job)
    assert job_waiting(mona, chargebee_job) == ("", "")  # written a moment ago: give it time
    long_ago = timezone.now() - timedelta(minutes=1)
    calls.update(created_at=long_ago, updated_at=long_ago)
    cause_, words = job_waiting(mona, chargebee_job)
    count = calls.count()
    assert cause_ == "worker"
    assert words.startswith(
        f"Waiting for a worker: {count} resend{'s are' if count > 1 else ' is'} due and none is "
        "being sent"
    )
