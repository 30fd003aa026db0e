"""Who gets into the admin, and what the index shows them."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

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
