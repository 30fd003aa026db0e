"""Who reaches which console page, over every console URL: anonymous people are sent to sign in,
staff in neither role are refused, agents and managers get the page. State changes are POST-only
and need the CSRF token; sign-out is POST-only and an idle session expires."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from resends import urls as console_urls
from resends.accounts import default_account
from resends.models import (
    BulkKind,
    BulkState,
    Order,
    ProviderCall,
    ResendRequest,
    SavedFilter,
)
from resends.services import bulk_jobs
from resends.webhooks import urls as webhook_urls

from .helpers import HTMX, SHIPMENT, signed_in, text

pytestmark = pytest.mark.django_db

POST_ONLY = {"request-retry", "request-cancel", "bulk-action", "review-decide"}
REDIRECTS = {"order-by-reference"}
MANAGERS_ONLY = {
    "bulk-jobs",
    "bulk-new",
    "bulk-job",
    "bulk-progress",
    "bulk-action",
    "reports",
    "review-queue",
    "review",
    "review-provider",
    "review-decide",
}


def test_the_matrix_covers_every_console_url(targets: dict[str, Any]) -> None:
    # The webhooks' own URLs (signed by the providers, no sign-in) are the one include.
    [webhooks] = [p for p in console_urls.urlpatterns if isinstance(p, URLResolver)]
    assert webhooks.urlconf_module is webhook_urls
    names = [p.name or "" for p in console_urls.urlpatterns if isinstance(p, URLPattern)]
    assert set(names) == set(targets)  # an unnamed one fails the match


def test_anonymous_people_are_sent_to_sign_in(client: Client, targets: dict[str, Any]) -> None:
    login = reverse("login")
    for name, (url, headers) in targets.items():
        send = client.post if name in POST_ONLY else client.get
        response = send(url, headers=headers)
        assert response.status_code == 302, name
        location = urlsplit(response["Location"])
        assert location.path == login, name
        assert parse_qs(location.query)["next"] == [url], name


def test_staff_in_neither_role_are_refused(
    client: Client, outsider: User, targets: dict[str, Any]
) -> None:
    signed_in(client, outsider)
    before = (ResendRequest.objects.count(), ProviderCall.objects.count())
    for name, (url, headers) in targets.items():
        send = client.post if name in POST_ONLY else client.get
        assert send(url, headers=headers).status_code == 403, name
    assert (ResendRequest.objects.count(), ProviderCall.objects.count()) == before


@pytest.mark.parametrize("who", ["agent", "manager"])
def test_agents_and_managers_get_every_page(
    client: Client, request: pytest.FixtureRequest, targets: dict[str, Any], sandbox: Any, who: str
) -> None:
    user = request.getfixturevalue(who)
    signed_in(client, user)
    for name, (url, headers) in targets.items():
        if name in POST_ONLY:
            continue
        response = client.get(url, headers=headers)
        if who == "agent" and name in MANAGERS_ONLY:
            assert response.status_code == 403, name
            continue
        if name in REDIRECTS:  # a link from elsewhere, to the page it names
            assert response.status_code == 302, name
            response = client.get(response["Location"], headers=headers)
        assert response.status_code == 200, name
        if not headers:  # a whole page, signed in as this user
            assert f"Sign out {user.get_username()}" in text(response), name


@pytest.mark.parametrize("name", sorted(POST_ONLY))
@pytest.mark.parametrize("who", ["agent", "manager"])
def test_state_changes_refuse_get(
    client: Client,
    request: pytest.FixtureRequest,
    targets: dict[str, Any],
    who: str,
    name: str,
) -> None:
    signed_in(client, request.getfixturevalue(who))
    before = (ResendRequest.objects.count(), ProviderCall.objects.count())
    assert client.get(targets[name][0]).status_code == 405
    assert (ResendRequest.objects.count(), ProviderCall.objects.count()) == before


# --- CSRF ------------------------------------------------------------------------------------
def _chargebee(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    order: Order = request.getfixturevalue("order")
    kit = order.line_items.get(external_id="li_tube")
    data = {"token": str(uuid.uuid4()), "mode": "partial", f"pick_{kit.pk}": "on"}
    return reverse("resends:chargebee", args=[order.pk]), {**data, f"qty_{kit.pk}": "1"}


def _returnhelper(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    request.getfixturevalue("sandbox")  # the country and service-type lists come from it
    item = request.getfixturevalue("inventory")
    url = f"{reverse('resends:returnhelper')}?inventory={item.pk}"
    return url, {"token": str(uuid.uuid4()), "inventories": [item.pk], **SHIPMENT}


def _junction(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return reverse("resends:junction"), {
        "token": str(uuid.uuid4()),
        "mode": "orders",
        "account": default_account("junction").pk,
        "order_ids": str(uuid.uuid4()),
    }


def _retry(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    failed = request.getfixturevalue("failed_resend")
    return reverse("resends:request-retry", args=[failed.public_id]), {"token": str(uuid.uuid4())}


def _cancel(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    accepted = request.getfixturevalue("rh_resend")
    return reverse("resends:request-cancel", args=[accepted.public_id]), {}


POSTS: dict[str, Callable[[pytest.FixtureRequest], tuple[str, dict[str, Any]]]] = {
    "chargebee": _chargebee,
    "returnhelper": _returnhelper,
    "junction": _junction,
    "request-retry": _retry,
    "request-cancel": _cancel,
}


@pytest.mark.parametrize("name", POSTS)
def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(
    request: pytest.FixtureRequest, agent: User, name: str
) -> None:
    url, data = POSTS[name](request)
    data = {**data, "action": "submit"}
    browser = signed_in(Client(enforce_csrf_checks=True), agent)

    def rows() -> tuple[int, int]:
        return ResendRequest.objects.count(), ProviderCall.objects.count()

    before = rows()
    assert browser.post(url, data).status_code == 403
    assert browser.post(url, data, headers=HTMX).status_code == 403
    assert rows() == before

    # The same post with the token (as the page's form sends it) goes through: the refusal
    # above was the missing token, not the data.
    browser.get(reverse("resends:find"))
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    response = browser.post(url, {**data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302, text(response)[:2000]
    assert rows() != before


# --- Sign-out and idle sessions ----------------------------------------------------------------
def test_sign_out_is_post_only(client: Client, agent: User) -> None:
    signed_in(client, agent)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("resends:find")).status_code == 200  # still signed in

    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("resends:find")).status_code == 302


def test_the_sign_out_button_posts_with_the_csrf_token(client: Client, agent: User) -> None:
    page = text(signed_in(client, agent).get(reverse("resends:find")))
    form = page.split(f'action="{reverse("logout")}"', 1)
    assert len(form) == 2, "no sign-out form"
    assert 'method="post"' in form[0][-200:]
    assert 'name="csrfmiddlewaretoken"' in form[1].split("</form>", 1)[0]


def test_the_session_expires_when_idle(client: Client, agent: User) -> None:
    idle = int(os.environ.get("SESSION_IDLE_SECONDS", 60 * 60))
    assert idle == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is False  # the cookie carries the age

    signed_in(client, agent)
    key = client.session.session_key
    # Each request pushes the expiry forward by the idle time, in the database and the cookie.
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(seconds=90)
    )
    response = client.get(reverse("resends:find"))
    assert response.status_code == 200
    assert int(response.cookies[settings.SESSION_COOKIE_NAME]["max-age"]) == idle
    expiry = Session.objects.get(session_key=key).expire_date
    assert abs(expiry - (timezone.now() + timedelta(seconds=idle))) < timedelta(seconds=30)

    # Left idle past that, the next request is sent to sign in again.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))
    response = client.get(reverse("resends:find"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_bulk_actions_need_the_csrf_token_too(manager: User, second_manager: User) -> None:
    job, _ = bulk_jobs.create_job(
        actor=second_manager,
        kind=BulkKind.JUNCTION_WINDOW,
        account=default_account("junction"),
        criteria={"start_at": "2026-01-01T00:00:00Z", "end_at": "2026-01-02T00:00:00Z"},
    )
    url = reverse("resends:bulk-action", args=[job.public_id, "pause"])
    browser = signed_in(Client(enforce_csrf_checks=True), manager)
    assert browser.post(url).status_code == 403
    job.refresh_from_db()
    assert job.state == BulkState.QUEUED

    browser.get(reverse("resends:find"))
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    assert browser.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    job.refresh_from_db()
    assert job.state == BulkState.PAUSED


def test_only_managers_save_bulk_filters_and_only_with_the_csrf_token(
    agent: User, outsider: User, manager: User
) -> None:
    """Saving a filter is a POST to the new-bulk-job page (no URL of its own): refused to anyone
    but managers, and to managers without the CSRF token."""
    url = reverse("resends:bulk-new")
    data = {
        "kind": BulkKind.CHARGEBEE_FULL,
        "status": "shipped",
        "filter_name": "shipped",
        "action": "save_filter",
    }
    for someone in (agent, outsider):
        assert signed_in(Client(), someone).post(url, data).status_code == 403
    browser = signed_in(Client(enforce_csrf_checks=True), manager)
    assert browser.post(url, data).status_code == 403
    assert not SavedFilter.objects.exists()

    browser.get(reverse("resends:find"))
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    assert browser.post(url, {**data, "csrfmiddlewaretoken": token}).status_code == 200
    assert SavedFilter.objects.get().created_by == manager
    loaded = browser.get(url, {"filter": "shipped"})
    assert loaded.status_code == 200 and 'id="loaded-filter"' in text(loaded)
    assert signed_in(Client(), agent).get(url, {"filter": "shipped"}).status_code == 403
