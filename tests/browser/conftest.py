"""Real headless Chromium (Debian's package, driven by Playwright) against the live Django server,
the provider sandbox over HTTP and a real Celery worker process."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command

from resends.roles import ensure_roles
from tests.conftest import PASSWORD
from tests.engine.worker import celery_worker, wait_until, worker_env

# Playwright's sync API runs an event loop in this thread; the ORM calls our tests make between
# browser steps are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
VIEWPORT = {"width": 1366, "height": 860}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Browser tests need Debian's chromium at /usr/bin/chromium (dev.py test installs it)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, sandbox_server, tmp_path_factory) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """One real worker for the module, on the test database and the test broker."""
    from backoffice.celery import app

    with django_db_blocker.unblock():
        app.control.purge()
        log = tmp_path_factory.mktemp("worker") / "worker.log"
        with celery_worker(worker_env(sandbox_server), log) as proc:
            yield proc


@pytest.fixture
def console(live_server, sandbox, settings, worker, transactional_db) -> Any:  # type: ignore[no-untyped-def]
    """The whole system: demo data, the sandbox sending its webhooks to the live server."""
    import requests

    settings.SITE_URL = live_server.url
    requests.post(
        f"{sandbox.url}/_sandbox/config",
        json={
            "webhook_url": f"{live_server.url}/webhooks/returnhelper/",
            "chargebee_webhook_url": f"{live_server.url}/webhooks/chargebee/",
            "junction_webhook_url": f"{live_server.url}/webhooks/junction/",
            "webhook_delay": 0.3,
        },
        timeout=10,
    ).raise_for_status()
    ensure_roles()  # an earlier transactional test flushed them
    call_command("load_demo_data", force=True, verbosity=0)
    yield SimpleNamespace(url=live_server.url, sandbox=sandbox)
    # Quiet before the database is flushed: a reset drops the sandbox's scheduled webhooks (a
    # Junction replay sends one per order), which would otherwise still be writing rows; a
    # delivery already on the wire counts as pending until the app has answered it.
    requests.post(f"{sandbox.url}/_sandbox/reset", json={}, timeout=10).raise_for_status()

    def quiet() -> bool:
        health = requests.get(f"{sandbox.url}/_sandbox/health", timeout=10).json()
        return not health.get("pending_jobs")

    assert wait_until(quiet, timeout=30, every=0.1), "the sandbox is still sending webhooks"


class Camera:
    """Saves a numbered full-page screenshot of each page a test passes through."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.folder = SHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, label: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def browser_context(chromium) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context, request) -> Any:  # type: ignore[no-untyped-def]
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.camera = Camera(page, re.sub(r"\W+", "-", request.node.name).strip("-"))
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
