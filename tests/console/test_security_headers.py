"""Every console page is served with a strict Content-Security-Policy and a Permissions-Policy,
and holds nothing that policy would block (no inline script or style, no event handlers)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from ..inline_code import inline_code, strict_policy
from .helpers import signed_in, text

pytestmark = pytest.mark.django_db


def test_every_console_page_has_the_headers_and_no_inline_code(
    client: Client, manager: User, targets: dict[str, Any], sandbox: Any, order: Any
) -> None:
    signed_in(client, manager)
    pages = {name: url for name, (url, _) in targets.items()}
    pages.update(
        {
            "find (results)": f"{reverse('resends:find')}?q=Jane",
            "order (Chargebee cap meter)": reverse("resends:order", args=[order.pk]),
            "reports (charts)": reverse("resends:reports"),
        }
    )
    found = {}
    for name, url in pages.items():
        if name in ("request-retry", "request-cancel", "bulk-action", "review-decide"):
            continue  # POST only; they redirect
        response = client.get(url)
        assert response.status_code in (200, 302), name
        assert strict_policy(response["Content-Security-Policy"]), name
        assert "camera=()" in response["Permissions-Policy"], name
        if problems := inline_code(text(response)):
            found[name] = problems
    assert found == {}


@pytest.mark.parametrize("url", ["/login/", "/healthz", "/webhooks/junction/"])
def test_pages_without_sign_in_have_the_headers_too(client: Client, db: None, url: str) -> None:
    response = client.get(url)
    assert strict_policy(response["Content-Security-Policy"])
    assert "geolocation=()" in response["Permissions-Policy"]
    assert inline_code(text(response)) == []


def test_the_policy_forbids_framing(client: Client, db: None) -> None:
    header = client.get("/login/")["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in header
