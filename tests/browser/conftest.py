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


# axe-core, vendored (tests/browser/axe/README.md): no network when the tests run.
AXE_SOURCE = (Path(__file__).resolve().parent / "axe" / "axe.min.js").read_text()
FAILING_IMPACTS = ("serious", "critical")
EVERY_IMPACT = ("minor", "moderate", *FAILING_IMPACTS)
AXE_RUN = """async () => {
  // No preload: it would copy the stylesheets into <style> elements, which the CSP refuses.
  const result = await axe.run(document, {resultTypes: ["violations"], preload: false});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
}"""


class Audits:
    """axe-core on every page a test's browser loads: each loaded page must be audited (a
    screenshot audits) before the next one loads or the test ends; the test fails on any
    serious or critical violation."""

    def __init__(self) -> None:
        self.unaudited: dict[Any, str] = {}  # page -> the URL it loaded
        self.missed: list[str] = []

    def watch(self, page: Any) -> None:
        def loaded(page: Any) -> None:
            if page in self.unaudited:
                self.missed.append(self.unaudited[page])
            self.unaudited[page] = page.url

        page.on("load", loaded)

    def audit(self, page: Any, impacts: tuple[str, ...] = FAILING_IMPACTS) -> None:
        # Through the DevTools protocol, so a Content-Security-Policy cannot stop it.
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(AXE_SOURCE)
        found = page.evaluate(AXE_RUN)
        self.unaudited.pop(page, None)
        failing = [v for v in found if v["impact"] in impacts]
        assert not failing, f"axe-core finds on {page.url}:\n" + "\n".join(
            f"  [{v['impact']}] {v['id']}: {v['help']} at {', '.join(v['nodes'])}" for v in failing
        )


def audit(page: Any, impacts: tuple[str, ...] = FAILING_IMPACTS) -> None:
    """Run axe-core on the page as it is now (a page of a context from `new_context`); fail on
    a violation of one of these impacts."""
    page.context.audits.audit(page, impacts)


class Camera:
    """Saves a numbered full-page screenshot of each page a test passes through, after an
    accessibility audit of it."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.folder = SHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, label: str) -> Path:
        return self.shoot(self.page, label)

    def shoot(self, page: Any, label: str) -> Path:
        """A screenshot of ``page`` (the test's own or another), numbered in line."""
        audit(page)
        self.count += 1
        path = self.folder / f"{self.count:02d}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def new_context(chromium, request) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Makes browser contexts whose pages are all audited (see Audits)."""
    made: list[Any] = []

    def make() -> Any:
        context = chromium.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
        context.set_default_timeout(15_000)
        context.audits = Audits()
        context.on("page", context.audits.watch)
        made.append(context)
        return context

    yield make
    try:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.passed:
            for context in made:
                for page in list(context.audits.unaudited):
                    if not page.is_closed():
                        audit(page)  # where the test ended
                missed = context.audits.missed
                assert not missed, f"pages left before axe-core audited them: {missed}"
    finally:
        for context in made:
            context.close()


@pytest.fixture
def browser_context(new_context) -> Any:  # type: ignore[no-untyped-def]
    return new_context()


@pytest.fixture
def page(browser_context, request) -> Any:  # type: ignore[no-untyped-def]
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.camera = Camera(page, re.sub(r"\W+", "-", request.node.name).strip("-"))
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


# Each document reports every Content-Security-Policy violation (a blocked inline script or
# style, a resource from elsewhere) to the test.
CSP_WATCH = """document.addEventListener("securitypolicyviolation", (e) => window.reportCspViolation(
  `${e.violatedDirective}: ${e.blockedURI || "inline"} at ${e.sourceFile || document.URL}:${e.lineNumber}`
));"""


@pytest.fixture(autouse=True)
def no_csp_violations(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Fails a browser test on any Content-Security-Policy violation, in every page of every
    browser context it opens (contexts made after this fixture is set up are watched)."""
    if "chromium" not in request.fixturenames:
        yield
        return
    chromium = request.getfixturevalue("chromium")
    violations: list[str] = []
    new_context = chromium.new_context

    def report(violation: str) -> None:
        violations.append(violation)

    def watched(*args: Any, **kwargs: Any) -> Any:
        context = new_context(*args, **kwargs)
        context.expose_function("reportCspViolation", report)
        context.add_init_script(CSP_WATCH)
        return context

    monkeypatch.setattr(chromium, "new_context", watched)
    yield
    assert not violations, f"Content-Security-Policy violations: {violations}"


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    audit(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
    audit(page)
