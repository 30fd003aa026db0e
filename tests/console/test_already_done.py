"""The preview says "already done" before Submit: when the same resend was submitted moments ago
or is still in progress, it names who submitted it, when, and links to it, and offers no Submit.
A submit of the same content lands on that same request (checks.same_resend is the one rule
both ask), so what the preview says is what the submit does."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from resends import rules
from resends.accounts import default_account
from resends.engine.outcome import refresh_request_state
from resends.models import Order, ProviderCall, ResendRequest, ReturnInventory
from resends.models.audit import CallState, RequestState

from ..engine.helpers import mirror_inventories
from ..factories import OrderFactory
from .helpers import signed_in, squash, text
from .test_resend_forms import (
    JUNCTION_A,
    JUNCTION_B,
    _local,
    chargebee_post,
    is_disabled,
    junction_post,
    request_url,
    rh_post,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client: Client, agent: User) -> Client:
    return signed_in(client, agent)


@pytest.fixture
def mona(manager: User) -> Client:
    """A second person, in another browser (another form token)."""
    return signed_in(Client(), manager)


def already_done(page: str) -> str:
    """The preview's "already done" note, as words; '' when it has none."""
    match = re.search(r'<div class="callout" id="already-done">(.*?)</div>', page, re.S)
    return squash(match.group(1)) if match else ""


def stamp(resend: ResendRequest) -> str:
    return f"{timezone.localtime(resend.submitted_at):%Y-%m-%d %H:%M:%S} UTC"


def settle(resend: ResendRequest, state: str, *, ago: timedelta = timedelta(0)) -> None:
    """The request's calls in `state`, as the engine leaves them, submitted `ago`."""
    resend.calls.update(state=state, attempts=1, finished_at=timezone.now())
    ResendRequest.objects.filter(pk=resend.pk).update(submitted_at=timezone.now() - ago)
    refresh_request_state(resend.pk)
    resend.refresh_from_db()


# --- Chargebee ---------------------------------------------------------------------------------
def test_a_resend_in_progress_is_named_in_the_preview_and_submit_is_disabled(
    alice: Client, mona: Client, order: Order
) -> None:
    chargebee_post(alice, order, {"li_kit": 1}, action="submit", reason="Damaged")
    first = ResendRequest.objects.get()
    assert first.state == RequestState.QUEUED

    page = text(chargebee_post(mona, order, {"li_kit": 1}, reason="Wrong Item"))
    note = already_done(page)
    assert note.startswith("Already in progress: the same resend was submitted by alice on ")
    assert stamp(first) in note and "(queued)" in note
    assert f'href="{request_url(first)}"' in page and f"Open resend #{first.pk}" in note
    assert is_disabled(page)
    assert "Sends 1 request" not in squash(page)

    # The submit agrees: the same content lands on alice's resend, nothing new is written.
    response = chargebee_post(mona, order, {"li_kit": 1}, action="submit", reason="Wrong Item")
    assert response["HX-Redirect"] == request_url(first)
    assert ResendRequest.objects.count() == 1 and ProviderCall.objects.count() == 1


def test_the_submitter_reads_you(alice: Client, order: Order) -> None:
    chargebee_post(alice, order, {"li_tube": 1}, action="submit")
    note = already_done(text(chargebee_post(alice, order, {"li_tube": 1})))
    assert note.startswith("Already in progress: the same resend was submitted by you on ")


def test_other_content_is_not_the_same_resend(alice: Client, mona: Client, order: Order) -> None:
    chargebee_post(alice, order, {"li_kit": 1}, action="submit")
    for picks in ({"li_kit": 2}, {"li_tube": 1}, {"li_kit": 1, "li_tube": 1}):
        page = text(chargebee_post(mona, order, picks))
        assert already_done(page) == "", picks
        assert not is_disabled(page), picks
        assert "Sends 1 request:" in squash(page)


def test_a_full_resend_is_not_the_same_as_a_partial_one(
    alice: Client, mona: Client, order: Order
) -> None:
    chargebee_post(alice, order, {"li_kit": 2, "li_tube": 1}, action="submit")
    page = text(chargebee_post(mona, order, {}, mode="full"))
    assert already_done(page) == "" and not is_disabled(page)


def test_a_resend_that_succeeded_moments_ago_is_already_done(
    alice: Client, mona: Client, order: Order
) -> None:
    chargebee_post(alice, order, {"li_kit": 1}, action="submit")
    first = ResendRequest.objects.get()
    settle(first, CallState.SUCCEEDED, ago=timedelta(minutes=2))
    note = already_done(text(chargebee_post(mona, order, {"li_kit": 1})))
    assert note.startswith("Already done: the same resend was submitted by alice on ")
    assert stamp(first) in note and "(succeeded)" in note


@pytest.mark.parametrize(
    ("state", "ago"),
    [
        (CallState.SUCCEEDED, rules.DUPLICATE_WINDOW + timedelta(minutes=1)),
        (CallState.FAILED, timedelta(minutes=1)),
    ],
)
def test_an_older_success_or_a_failure_is_not_in_the_way(
    alice: Client, mona: Client, order: Order, state: str, ago: timedelta
) -> None:
    chargebee_post(alice, order, {"li_kit": 1}, action="submit")
    settle(ResendRequest.objects.get(), state, ago=ago)
    page = text(chargebee_post(mona, order, {"li_kit": 1}))
    assert already_done(page) == "" and not is_disabled(page)
    # ...and the submit agrees: it writes a second resend.
    chargebee_post(mona, order, {"li_kit": 1}, action="submit")
    assert ResendRequest.objects.count() == 2


def test_without_javascript_the_page_says_it_too(alice: Client, mona: Client, order: Order) -> None:
    chargebee_post(alice, order, {"li_kit": 1}, action="submit")
    page = text(chargebee_post(mona, order, {"li_kit": 1}, htmx=False))
    assert "<html" in page and already_done(page).startswith("Already in progress")
    assert is_disabled(page)


# --- Junction ----------------------------------------------------------------------------------
def test_the_same_junction_orders_in_another_order_are_the_same_resend(
    alice: Client, mona: Client
) -> None:
    OrderFactory.create(account=default_account("junction"), external_id=JUNCTION_A)
    junction_post(alice, order_ids=f"{JUNCTION_A}\n{JUNCTION_B}", action="submit")
    first = ResendRequest.objects.get()
    page = text(junction_post(mona, order_ids=f"{JUNCTION_B}, {JUNCTION_A.upper()}"))
    assert already_done(page).startswith("Already in progress: the same resend was submitted by")
    assert f'href="{request_url(first)}"' in page and is_disabled(page)
    response = junction_post(mona, order_ids=f"{JUNCTION_B}\n{JUNCTION_A}", action="submit")
    assert response["HX-Redirect"] == request_url(first)
    assert ResendRequest.objects.count() == 1

    page = text(junction_post(mona, order_ids=JUNCTION_A))  # a part of it is another resend
    assert already_done(page) == "" and not is_disabled(page)


def test_the_same_junction_window_is_the_same_resend(alice: Client, mona: Client) -> None:
    end = timezone.now().replace(second=0, microsecond=0)
    window = {"mode": "window", "start": _local(end - timedelta(days=3)), "end": _local(end)}
    junction_post(alice, action="submit", **window)
    first = ResendRequest.objects.get()
    page = text(junction_post(mona, **window))
    assert f'href="{request_url(first)}"' in page and is_disabled(page)
    assert junction_post(mona, action="submit", **window)["HX-Redirect"] == request_url(first)

    other = {**window, "start": _local(end - timedelta(days=4))}
    page = text(junction_post(mona, **other))
    assert already_done(page) == "" and not is_disabled(page)


# --- Return Helper -----------------------------------------------------------------------------
@pytest.fixture
def held(sandbox: Any) -> list[ReturnInventory]:
    return mirror_inventories(sandbox, 3)


def test_the_same_return_helper_items_are_the_same_resend(
    alice: Client, mona: Client, held: list[ReturnInventory]
) -> None:
    picked = held[:2]
    rh_post(alice, picked, picked, action="submit")
    first = ResendRequest.objects.get()
    page = text(rh_post(mona, picked, list(reversed(picked))))
    assert already_done(page).startswith("Already in progress: the same resend was submitted by")
    assert f'href="{request_url(first)}"' in page and is_disabled(page)
    assert rh_post(mona, picked, picked, action="submit")["HX-Redirect"] == request_url(first)
    assert ResendRequest.objects.count() == 1

    page = text(rh_post(mona, held, held[2:]))  # another item: another resend
    assert already_done(page) == "" and not is_disabled(page)
