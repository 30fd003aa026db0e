"""Sign-in throttling (django-axes): by user name and by client address, on the console's and the
admin's sign-in pages; a locked-out person gets a page that says so (429), managers unlock."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client, RequestFactory
from django.urls import reverse

from backoffice.throttling import client_ip
from tests.conftest import PASSWORD

LIMIT = settings.AXES_FAILURE_LIMIT
PAGES = {"console": "login", "admin": "admin:login"}


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(
    client: Client, username: str, password: str, page: str = "console", **meta: Any
) -> Any:
    return client.post(reverse(PAGES[page]), {"username": username, "password": password}, **meta)


def signed_in_as(client: Client) -> str | None:
    response = client.get(reverse("resends:find"))
    return response.context["user"].get_username() if response.status_code == 200 else None


def paused(response: Any) -> bool:
    return response.status_code == 429 and "Sign-in paused" in response.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_wrong_passwords_lock_the_user_name_and_the_right_one_then_fails(
    client: Client, manager: User, page: str
) -> None:
    for _ in range(LIMIT - 1):
        assert sign_in(client, "mona", "wrong", page).status_code == 200  # "didn't match"
    locked = sign_in(client, "mona", "wrong", page)
    assert paused(locked)
    assert "for “mona”" in locked.content.decode()
    assert "paused for 15 minutes" in locked.content.decode()
    assert paused(sign_in(client, "mona", PASSWORD, page))
    assert signed_in_as(client) is None
    # Another address is refused too: the user name is locked, wherever it is tried from.
    assert paused(sign_in(Client(), "mona", PASSWORD, page, REMOTE_ADDR="198.51.100.7"))


def test_failures_from_one_address_lock_that_address_for_every_user_name(
    client: Client, agent: User
) -> None:
    for n in range(LIMIT):
        sign_in(client, f"guess{n}", "wrong")
    assert paused(sign_in(client, "alice", PASSWORD))
    assert signed_in_as(client) is None
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert sign_in(other, "alice", PASSWORD).status_code == 302
    assert signed_in_as(other) == "alice"


def test_a_failure_is_recorded_without_the_password(client: Client, agent: User) -> None:
    sign_in(client, "alice", "hunter2-not-it")
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == (
        "alice",
        "127.0.0.1",
        1,
    )
    assert "hunter2" not in attempt.post_data


def test_behind_the_proxy_the_client_is_the_address_the_proxy_saw(
    client: Client, agent: User, settings
) -> None:  # type: ignore[no-untyped-def]
    """The left part of X-Forwarded-For is the client's to write: changing it does not escape."""
    settings.TRUSTED_PROXIES = 1
    for n in range(LIMIT):
        forwarded = f"10.0.0.{n}, 203.0.113.5"
        sign_in(client, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=forwarded)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}
    assert paused(sign_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.5"))
    other = sign_in(Client(), "alice", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert other.status_code == 302


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"HTTP_X_FORWARDED_FOR": "203.0.113.5"}, "127.0.0.1"),
        (1, {"HTTP_X_FORWARDED_FOR": "203.0.113.5"}, "203.0.113.5"),
        (1, {"HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.5"}, "203.0.113.5"),
        (2, {"HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.5, 10.0.0.2"}, "203.0.113.5"),
        (2, {"HTTP_X_FORWARDED_FOR": "203.0.113.5"}, "127.0.0.1"),  # not through both proxies
        (1, {}, "127.0.0.1"),
        (1, {"HTTP_X_FORWARDED_FOR": "not-an-address"}, "127.0.0.1"),
        (1, {"HTTP_X_FORWARDED_FOR": " 2001:DB8::1 "}, "2001:db8::1"),
        (0, {"REMOTE_ADDR": "bogus"}, None),
    ],
)
def test_client_ip(settings, proxies: int, meta: dict[str, Any], expected: str | None) -> None:  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXIES = proxies
    assert client_ip(RequestFactory().get("/", **meta)) == expected


def test_managers_see_lockouts_and_unlock_them(client: Client, agent: User, manager: User) -> None:
    for _ in range(LIMIT):
        sign_in(Client(), "alice", "wrong")
    url = reverse("admin:axes_accessattempt_changelist")
    admin = Client()
    admin.force_login(manager)
    listed = admin.get(url, {"locked_out": "yes"})
    assert listed.status_code == 200
    assert "Locked out (user name and address)" in listed.content.decode()
    [row] = listed.context["cl"].result_list

    done = admin.post(url, {"action": "unlock", "_selected_action": [row.pk]})
    assert done.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    assert signed_in_as(client) == "alice"


def test_agents_cannot_see_or_unlock_lockouts(client: Client, agent: User) -> None:
    client.force_login(agent)
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_managers_group_may_view_and_unlock(db: None) -> None:
    """Granted by migration 0016 (tests/test_roles.py holds the group to resends/roles.py)."""
    managers = Group.objects.filter(name="Managers").first()
    if managers is None:
        pytest.skip("an earlier transactional test flushed the migration's rows")
    held = set(
        managers.permissions.filter(content_type__app_label="axes").values_list(
            "codename", flat=True
        )
    )
    assert held == {"view_accessattempt", "delete_accessattempt"}


@pytest.mark.parametrize("page", PAGES)
def test_a_user_name_too_long_for_any_account_is_a_failure_like_any_other(
    client: Client, db: None, page: str
) -> None:
    """Django's sign-in form does not bound the name's length; the record keeps 255 characters
    (a longer one failed the insert on PostgreSQL)."""
    response = sign_in(client, "x" * 5000, "wrong", page)
    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "x" * 255
