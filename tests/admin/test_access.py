"""Who gets into the admin, and what the index shows them."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from ..conftest import PASSWORD
from .helpers import Trail, every_admin_url, signed_in


def test_anonymous_is_sent_to_the_admin_login(client: Client, trail: Trail) -> None:
    for url in every_admin_url(trail):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_agents_are_not_staff_and_are_sent_to_the_admin_login(
    client: Client, agent: User, trail: Trail
) -> None:
    signed_in(client, agent)
    for url in every_admin_url(trail):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_staff_outside_both_roles_is_refused(client: Client, outsider: User, trail: Trail) -> None:
    signed_in(client, outsider)
    for url in every_admin_url(trail):
        assert client.get(url).status_code == 403, url


def test_managers_see_the_audit_and_the_mirrors(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    for url in every_admin_url(trail):
        response = client.get(url)
        assert response.status_code == 200, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)


def test_the_admin_index_lists_the_audit_for_managers_only(
    client: Client, manager: User, outsider: User
) -> None:
    signed_in(client, manager)
    assert b"Resend requests" in client.get(reverse("admin:index")).content
    signed_in(client, outsider)
    assert b"Resend requests" not in client.get(reverse("admin:index")).content


def test_a_console_user_who_opens_the_admin_is_sent_back_to_the_console(
    client: Client, agent: User
) -> None:
    signed_in(client, agent)
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1] == (reverse("resends:find"), 302)
    assert "The admin is for managers; you are signed in as alice." in response.content.decode()


def test_the_admin_login_still_signs_in_someone_else(
    client: Client, agent: User, manager: User
) -> None:
    signed_in(client, agent)
    response = client.post(
        reverse("admin:login"), {"username": "mona", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get(reverse("admin:index")).status_code == 200


def test_someone_neither_staff_nor_in_a_role_gets_the_admin_login(client: Client, db: None) -> None:
    signed_in(client, User.objects.create_user("nobody", password=PASSWORD))
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert b"not authorized" in response.content
