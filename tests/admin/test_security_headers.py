"""The admin is served with the same strict Content-Security-Policy as the console, and its pages
(ours, django-celery-beat's, the sign-in lockouts) hold nothing it would block."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from ..inline_code import inline_code, strict_policy
from .helpers import Trail, every_admin_url, signed_in


def test_every_admin_page_a_manager_opens_has_no_inline_code(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    urls = [
        reverse("admin:index"),
        *every_admin_url(trail),
        reverse("admin:django_celery_beat_periodictask_changelist"),
        reverse("admin:django_celery_beat_periodictask_add"),
        reverse("admin:django_celery_beat_crontabschedule_add"),
        reverse("admin:resends_bulkjob_changelist"),
        reverse("admin:resends_savedfilter_changelist"),
        reverse("admin:axes_accessattempt_changelist"),
        reverse("admin:password_change"),
    ]
    found = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert strict_policy(response["Content-Security-Policy"]), url
        if response.streaming:  # the CSV export
            continue
        if problems := inline_code(response.content.decode()):
            found[url] = problems
    assert found == {}


@pytest.mark.parametrize("view", ["changelist", "add"])
def test_a_superusers_user_pages_have_no_inline_code(
    client: Client, superuser: User, view: str
) -> None:
    signed_in(client, superuser)
    response = client.get(reverse(f"admin:auth_user_{view}"))
    assert response.status_code == 200
    assert inline_code(response.content.decode()) == []


def test_the_admin_sign_in_page_has_no_inline_code(client: Client, db: None) -> None:
    response = client.get(reverse("admin:login"))
    assert strict_policy(response["Content-Security-Policy"])
    assert inline_code(response.content.decode()) == []
