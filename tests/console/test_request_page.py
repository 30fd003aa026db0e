"""A resend's own page: its state and calls, the live status panel (polls until settled), retry
of what failed as a new linked resend, cancel of an accepted Return Helper resend; and the lists."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from resends.engine.outcome import refresh_request_state
from resends.models import ProviderCall, ResendRequest
from resends.models.audit import CallState, Channel, RequestState
from resends.roles import AGENTS
from resends.rules import RuleViolation
from resends.services.retry import retry_failed

from ..conftest import make_user
from ..factories import ResendRequestFactory, ResendTargetFactory
from .helpers import HTMX, accept_returnhelper, messages_of, signed_in, squash, text

pytestmark = pytest.mark.django_db

Op = ProviderCall.Operation


@pytest.fixture
def browser(client: Client, agent: User) -> Client:
    return signed_in(client, agent)


def page_of(resend: ResendRequest) -> str:
    return reverse("resends:request", args=[resend.public_id])


def status_of(resend: ResendRequest) -> str:
    return reverse("resends:request-status", args=[resend.public_id])


def succeed(resend: ResendRequest, reference: str = "cb_order_1_r1") -> None:
    resend.calls.update(
        state=CallState.SUCCEEDED,
        provider_reference=reference,
        attempts=1,
        finished_at=timezone.now(),
    )
    refresh_request_state(resend.pk)
    resend.refresh_from_db()


# --- The page ------------------------------------------------------------------------------------
def test_the_page_shows_the_state_the_call_and_what_is_resent(
    browser: Client, resend: ResendRequest
) -> None:
    page = text(browser.get(page_of(resend)))
    words = squash(page)
    assert re.search(r'id="request-state">\s*Queued\s*<', page)
    assert "Chargebee resend order cb_order_1 Pending Waiting to be sent." in words
    assert "0 attempts" in words
    assert "Blood test kit li_kit × 1" in words
    assert "by alice (Console)" in words
    assert "Retry failed items" not in words and "Cancel this resend" not in words


def test_a_failed_call_shows_the_providers_reason_and_offers_a_retry(
    browser: Client, failed_resend: ResendRequest
) -> None:
    page = text(browser.get(page_of(failed_resend)))
    words = squash(page)
    assert re.search(r'id="request-state">\s*Failed\s*<', page)
    assert "The provider refused: Order is locked for fulfilment." in words
    assert 'data-call-state="failed"' in page
    assert reverse("resends:request-retry", args=[failed_resend.public_id]) in page


def test_an_accepted_return_helper_resend_offers_a_cancel(
    browser: Client, rh_resend: ResendRequest
) -> None:
    words = squash(text(browser.get(page_of(rh_resend))))
    assert "Return Helper accepted resend RS-000123. Status: pending." in words
    assert "Cancel this resend" in words


# --- The live status panel -----------------------------------------------------------------------
def test_the_status_panel_polls_while_calls_are_pending(
    browser: Client, resend: ResendRequest
) -> None:
    response = browser.get(status_of(resend), headers=HTMX)
    page = text(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="status"') and "<html" not in page
    assert 'hx-trigger="every 2s"' in page
    assert f'hx-get="{status_of(resend)}"' in page


def test_the_status_panel_stops_polling_once_settled(
    browser: Client, resend: ResendRequest
) -> None:
    succeed(resend)
    assert resend.state == RequestState.SUCCEEDED
    response = browser.get(status_of(resend), headers=HTMX)
    page = text(response)
    assert response.status_code == 286  # htmx stops polling on 286
    assert re.search(r'id="request-state">\s*Succeeded\s*<', page)
    assert "Chargebee created the resend order cb_order_1_r1." in squash(page)
    assert "hx-trigger" not in page


def test_the_status_panel_keeps_polling_for_a_return_helper_label(
    browser: Client, rh_resend: ResendRequest
) -> None:
    """Accepted, but the label and tracking come later by webhook: still worth watching."""
    assert rh_resend.state == RequestState.SUCCEEDED
    response = browser.get(status_of(rh_resend), headers=HTMX)
    assert response.status_code == 200 and 'hx-trigger="every 2s"' in text(response)


def test_the_status_url_without_htmx_redirects_to_the_page(
    browser: Client, resend: ResendRequest
) -> None:
    response = browser.get(status_of(resend))
    assert response.status_code == 302 and response["Location"] == page_of(resend)


# --- Retry ---------------------------------------------------------------------------------------
def retry(browser: Client, resend: ResendRequest, token: str) -> Any:
    url = reverse("resends:request-retry", args=[resend.public_id])
    return browser.post(url, {"token": token})


def test_a_retry_of_a_failed_resend_is_a_new_linked_resend_made_once(
    client: Client, failed_resend: ResendRequest, manager: User
) -> None:
    browser = signed_in(client, manager)
    token = str(uuid.uuid4())
    response = retry(browser, failed_resend, token)
    new = ResendRequest.objects.exclude(pk=failed_resend.pk).get()
    assert response.status_code == 302 and response["Location"] == page_of(new)
    assert (new.retry_of, new.submitted_by, new.state) == (
        failed_resend,
        manager,
        RequestState.QUEUED,
    )
    [old_call] = failed_resend.calls.all()
    [new_call] = new.calls.all()
    assert (new_call.state, new_call.operation, new_call.payload) == (
        CallState.PENDING,
        old_call.operation,
        old_call.payload,
    )
    assert new_call.idempotency_key != old_call.idempotency_key
    assert {(t.line_item_id, t.quantity) for t in new.targets.all()} == {
        (t.line_item_id, t.quantity) for t in failed_resend.targets.all()
    }
    failed_resend.refresh_from_db()
    assert failed_resend.state == RequestState.FAILED  # the original stays as it was

    again = retry(browser, failed_resend, token)  # double click: the same page token
    assert again["Location"] == page_of(new)
    assert ResendRequest.objects.count() == 2 and ProviderCall.objects.count() == 2

    words = squash(text(browser.get(page_of(new))))
    assert f"Retry of #{failed_resend.pk}" in words
    words = squash(text(browser.get(page_of(failed_resend))))
    assert f"Retried as #{new.pk} (Queued)" in words


def test_a_second_retry_lands_on_the_first_even_when_that_used_the_last_resend(
    client: Client, failed_resend: ResendRequest, manager: User, agent: User
) -> None:
    from resends.models import Order

    order_ids = failed_resend.targets.values_list("order_id", flat=True)
    Order.objects.filter(pk__in=order_ids).update(resend_count=4)  # the retry is the 5th
    first = retry(signed_in(client, manager), failed_resend, str(uuid.uuid4()))
    new = ResendRequest.objects.exclude(pk=failed_resend.pk).get()
    assert first["Location"] == page_of(new)

    # Another agent, another page: the first retry, not "5 of 5 resends used".
    second = retry(signed_in(Client(), agent), failed_resend, str(uuid.uuid4()))
    assert second.status_code == 302 and second["Location"] == page_of(new)
    assert ResendRequest.objects.count() == 2 and ProviderCall.objects.count() == 2


def test_a_retry_of_a_succeeded_resend_is_refused(browser: Client, resend: ResendRequest) -> None:
    succeed(resend)
    response = retry(browser, resend, str(uuid.uuid4()))
    assert response.status_code == 302 and response["Location"] == page_of(resend)
    assert ResendRequest.objects.count() == 1 and ProviderCall.objects.count() == 1
    page = browser.get(response["Location"])
    assert messages_of(page) == ["Not retried: Nothing in this resend failed."]
    assert "Retry failed items" not in squash(text(page))


def test_a_retry_without_a_page_token_is_refused(
    browser: Client, failed_resend: ResendRequest
) -> None:
    response = retry(browser, failed_resend, "")
    assert response.status_code == 302
    assert ResendRequest.objects.count() == 1
    page = browser.get(response["Location"])
    assert messages_of(page) == ["This page has expired; reload it and try again."]


# --- Cancel --------------------------------------------------------------------------------------
def cancel(browser: Client, resend: ResendRequest) -> Any:
    return browser.post(reverse("resends:request-cancel", args=[resend.public_id]))


def test_a_pending_return_helper_resend_is_cancelled_by_the_user_who_asked(
    client: Client, rh_resend: ResendRequest, manager: User
) -> None:
    browser = signed_in(client, manager)
    response = cancel(browser, rh_resend)
    assert response.status_code == 302 and response["Location"] == page_of(rh_resend)
    call = rh_resend.calls.get(operation=Op.RETURNHELPER_CANCEL_RESEND)
    assert (call.requested_by, call.state, call.payload, call.subject) == (
        manager,
        CallState.PENDING,
        {"resend_id": 123},
        "123",
    )
    page = browser.get(response["Location"])
    assert messages_of(page) == ["Cancellation sent to Return Helper; this page shows its answer."]
    words = squash(text(page))
    assert "asked for by mona" in words
    assert "Cancel this resend" not in words  # already on its way

    cancel(browser, rh_resend)  # a second click does not send a second cancel
    assert rh_resend.calls.filter(operation=Op.RETURNHELPER_CANCEL_RESEND).count() == 1


def test_a_shipped_return_helper_resend_cannot_be_cancelled(
    browser: Client, rh_resend: ResendRequest
) -> None:
    accept_returnhelper(rh_resend, status="shipped")
    response = cancel(browser, rh_resend)
    assert response.status_code == 302
    assert not rh_resend.calls.filter(operation=Op.RETURNHELPER_CANCEL_RESEND).exists()
    page = browser.get(response["Location"])
    assert messages_of(page) == [
        "Not cancelled: The resend is already shipped; Return Helper cancels only while it is "
        "pending. Contact Return Helper support."
    ]
    assert "Cancel this resend" not in squash(text(page))


def test_cancel_is_offered_only_when_the_service_would_take_it(
    browser: Client, rh_resend: ResendRequest
) -> None:
    call = accept_returnhelper(rh_resend, status="pending")
    assert "Cancel this resend" in squash(text(browser.get(page_of(rh_resend))))
    ProviderCall.objects.filter(pk=call.pk).update(provider_reference="")  # no resend id back
    assert "Cancel this resend" not in squash(text(browser.get(page_of(rh_resend))))
    ProviderCall.objects.filter(pk=call.pk).update(
        provider_reference="123", provider_status="packing"
    )
    assert "Cancel this resend" not in squash(text(browser.get(page_of(rh_resend))))


def test_a_chargebee_resend_cannot_be_cancelled(browser: Client, resend: ResendRequest) -> None:
    succeed(resend)
    page = browser.get(cancel(browser, resend)["Location"])
    assert messages_of(page) == [
        "Not cancelled: Only a resend Return Helper has accepted can be cancelled."
    ]
    assert resend.calls.count() == 1


# --- Who may retry or cancel what (README) -------------------------------------------------------
@pytest.fixture
def bob(db: None) -> User:
    return make_user("bob", group=AGENTS)


def made_by(resend: ResendRequest, channel: str, submitter: User | None = None) -> ResendRequest:
    """The resend as if a bulk job or a schedule (or someone else) had made it."""
    ResendRequest.objects.filter(pk=resend.pk).update(
        channel=channel, submitted_by=submitter or resend.submitted_by
    )
    resend.refresh_from_db()
    return resend


def test_an_agent_may_not_retry_another_agents_resend(
    client: Client, failed_resend: ResendRequest, bob: User
) -> None:
    browser = signed_in(client, bob)
    words = squash(text(browser.get(page_of(failed_resend))))
    assert "Retry failed items" not in words
    assert "Only the person who submitted this resend, or a manager, may retry it." in words
    page = browser.get(retry(browser, failed_resend, str(uuid.uuid4()))["Location"])
    assert messages_of(page) == [
        "Not retried: Only the person who submitted this resend, or a manager, may retry it."
    ]
    assert ResendRequest.objects.count() == 1


@pytest.mark.parametrize("channel", [Channel.BULK, Channel.SCHEDULE])
def test_only_managers_retry_a_bulk_jobs_or_a_schedules_resend(
    browser: Client, failed_resend: ResendRequest, channel: str
) -> None:
    made_by(failed_resend, channel)  # even one alice's own job made
    words = squash(text(browser.get(page_of(failed_resend))))
    assert "Retry failed items" not in words
    refusal = "Only a manager may retry a resend made by a bulk job or a schedule."
    assert refusal in words
    page = browser.get(retry(browser, failed_resend, str(uuid.uuid4()))["Location"])
    assert messages_of(page) == [f"Not retried: {refusal}"]
    assert ResendRequest.objects.count() == 1


def test_a_managers_retry_of_a_bulk_resend_is_theirs_from_the_console(
    client: Client, failed_resend: ResendRequest, manager: User, second_manager: User
) -> None:
    made_by(failed_resend, Channel.BULK, second_manager)
    browser = signed_in(client, manager)
    assert "Retry failed items" in squash(text(browser.get(page_of(failed_resend))))
    retry(browser, failed_resend, str(uuid.uuid4()))
    new = ResendRequest.objects.exclude(pk=failed_resend.pk).get()
    assert (new.retry_of, new.submitted_by, new.channel) == (failed_resend, manager, Channel.WEB)
    words = squash(text(browser.get(page_of(new))))
    assert "by mona (Console)" in words


def test_a_retry_records_the_channel_it_came_from(
    failed_resend: ResendRequest, manager: User
) -> None:
    made_by(failed_resend, Channel.BULK)
    new = retry_failed(
        actor=manager, request=failed_resend, intent_key="cli:1", channel=Channel.CLI
    ).request
    assert (new.submitted_by, new.channel) == (manager, Channel.CLI)
    with pytest.raises(RuleViolation, match="Only a manager may retry"):
        retry_failed(
            actor=failed_resend.submitted_by,
            request=failed_resend,
            intent_key="cli:2",
            channel=Channel.CLI,
        )


def test_only_managers_cancel_a_schedules_resend(
    client: Client, rh_resend: ResendRequest, agent: User, manager: User
) -> None:
    made_by(rh_resend, Channel.BULK)
    browser = signed_in(client, agent)
    words = squash(text(browser.get(page_of(rh_resend))))
    assert "Cancel this resend" not in words
    assert "Only a manager may cancel a resend made by a bulk job or a schedule." in words
    cancel(browser, rh_resend)
    assert not rh_resend.calls.filter(operation=Op.RETURNHELPER_CANCEL_RESEND).exists()

    browser = signed_in(Client(), manager)
    assert "Cancel this resend" in squash(text(browser.get(page_of(rh_resend))))
    cancel(browser, rh_resend)
    call = rh_resend.calls.get(operation=Op.RETURNHELPER_CANCEL_RESEND)
    assert call.requested_by == manager


def test_an_agent_may_not_cancel_another_agents_resend(
    client: Client, rh_resend: ResendRequest, bob: User
) -> None:
    browser = signed_in(client, bob)
    assert "Cancel this resend" not in squash(text(browser.get(page_of(rh_resend))))
    page = browser.get(cancel(browser, rh_resend)["Location"])
    assert messages_of(page) == [
        "Not cancelled: Only the person who submitted this resend, or a manager, may cancel it."
    ]
    assert not rh_resend.calls.filter(operation=Op.RETURNHELPER_CANCEL_RESEND).exists()


# --- The lists -----------------------------------------------------------------------------------
LISTED = re.compile(r'href="/resends/([0-9a-f-]{36})/"')


@pytest.fixture
def history(agent: User, manager: User) -> dict[str, ResendRequest]:
    week_old = timezone.now() - timedelta(days=20)
    return {
        "alice_failed_1": ResendRequestFactory.create(submitted_by=agent, state="failed"),
        "alice_failed_2": ResendRequestFactory.create(submitted_by=agent, state="failed"),
        "alice_succeeded": ResendRequestFactory.create(submitted_by=agent, state="succeeded"),
        "alice_old": ResendRequestFactory.create(
            submitted_by=agent, state="succeeded", submitted_at=week_old
        ),
        "mona_queued": ResendRequestFactory.create(submitted_by=manager, state="queued"),
    }


def listed(browser: Client, query: str) -> tuple[set[str], str]:
    response = browser.get(f"{reverse('resends:requests')}?{query}")
    assert response.status_code == 200
    page = text(response)
    return set(LISTED.findall(page)), squash(page)


def ids(history: dict[str, ResendRequest], *names: str) -> set[str]:
    return {str(history[name].public_id) for name in names}


def test_my_resends_are_only_mine(browser: Client, history: dict[str, ResendRequest]) -> None:
    shown, words = listed(browser, "scope=mine")
    assert shown == ids(history, "alice_failed_1", "alice_failed_2", "alice_succeeded")
    assert "3 resends: Succeeded 1 Failed 2" in words
    assert listed(browser, "")[0] == shown  # "mine" is the default


def test_all_resends_include_other_peoples(
    browser: Client, history: dict[str, ResendRequest]
) -> None:
    shown, words = listed(browser, "scope=all")
    assert shown == ids(
        history, "alice_failed_1", "alice_failed_2", "alice_succeeded", "mona_queued"
    )
    assert "4 resends: Queued 1 Succeeded 1 Failed 2" in words
    assert "mona" in words


def test_a_state_filter_keeps_the_counts_of_every_state(
    browser: Client, history: dict[str, ResendRequest]
) -> None:
    shown, words = listed(browser, "scope=all&state=failed")
    assert shown == ids(history, "alice_failed_1", "alice_failed_2")
    assert "4 resends: Queued 1 Succeeded 1 Failed 2" in words


def test_a_longer_period_includes_older_resends(
    browser: Client, history: dict[str, ResendRequest]
) -> None:
    shown, words = listed(browser, "scope=mine&days=30")
    assert shown == ids(history, "alice_failed_1", "alice_failed_2", "alice_succeeded", "alice_old")
    assert "4 resends: Succeeded 2 Failed 2" in words


def test_one_bulk_jobs_resends_are_listed_with_their_orders_however_old(
    browser: Client, history: dict[str, ResendRequest], manager: User
) -> None:
    from resends.models import BulkJob, BulkKind, BulkState

    job = BulkJob.objects.create(
        created_by=manager, account=history["alice_old"].account, kind=BulkKind.CHARGEBEE_FULL,
        state=BulkState.FINISHED,
    )  # fmt: skip
    mine = [history["alice_old"], history["alice_failed_1"]]
    ResendRequest.objects.filter(pk__in=[r.pk for r in mine]).update(bulk_job=job)
    for index, resend in enumerate(mine):
        ResendTargetFactory.create(request=resend, external_ref=f"ord_bulk_{index}")

    shown, words = listed(browser, f"job={job.public_id}")
    assert shown == ids(history, "alice_old", "alice_failed_1")  # 20 days old, and not mine only
    assert f"Resends of bulk job #{job.pk}" in words
    assert "ord_bulk_0" in words and "ord_bulk_1" in words
    assert "2 resends: Succeeded 1 Failed 1" in words
    failed, _ = listed(browser, f"job={job.public_id}&state=failed")
    assert failed == ids(history, "alice_failed_1")
    one, words = listed(browser, f"job={job.public_id}&item=+ord_bulk_0+")  # what became of it
    assert one == ids(history, "alice_old") and "1 resend: Succeeded 1" in words
    assert listed(browser, f"job={job.public_id}&item=ord_elsewhere")[0] == set()
    job_page = signed_in(Client(), manager).get(reverse("resends:bulk-job", args=[job.public_id]))
    assert f"?job={job.public_id}" in text(job_page)
