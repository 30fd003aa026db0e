"""The console and the admin work in a real browser under the strict Content-Security-Policy: every
page below loads without a policy violation (the no_csp_violations fixture) or a JavaScript error
(the page fixture), and the scripts that replaced inline ones still do their work."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django_celery_beat.models import CrontabSchedule
from playwright.sync_api import expect

from resends.models import Order
from tests.conftest import PASSWORD

from .conftest import audit, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def visit(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 400, (url, response and response.status)
    audit(page)  # every page the browser tests load passes axe-core too


def test_the_console_works_under_the_policy(console: Any, page: Any) -> None:
    User.objects.create_superuser("root", "root@backoffice.test", PASSWORD)
    sign_in(page, console.url, "root")
    order = Order.objects.filter(account__provider="chargebee").order_by("pk").first()
    returned = Order.objects.filter(inventories__isnull=False).order_by("pk").first()
    assert order is not None and returned is not None
    for path in (
        f"/?q={order.customer_name[:3]}",
        f"/orders/{order.pk}/",
        f"/returnhelper/?order={returned.pk}",
        "/junction/?mode=window",
        "/resends/?scope=all",
        "/reports/",
        "/bulk/",
    ):
        visit(page, console.url + path)
    # htmx swaps in the preview (its indicator styles come from app.css, not an inline <style>).
    visit(page, f"{console.url}/orders/{order.pk}/chargebee/")
    page.locator("input[name^=pick_]").first.check()
    expect(page.locator("#preview")).to_contain_text("Sends 1 request")
    visit(page, f"{console.url}/bulk/new/")
    page.get_by_label("What to do").select_option("junction_window")
    page.get_by_label("Window start (UTC)").fill("2026-01-01T00:00")
    expect(page.locator("#preview")).to_contain_text("Preview")


def test_the_admin_works_under_the_policy(console: Any, page: Any) -> None:
    """Every list and add page on the admin's index, the first row of each list, and the periodic
    task form's crontab translation (django-celery-beat's inline script, now a static file)."""
    User.objects.create_superuser("root", "root@backoffice.test", PASSWORD)
    CrontabSchedule.objects.create(minute="0", hour="3")
    sign_in(page, console.url, "root")
    visit(page, f"{console.url}/admin/")
    links = page.eval_on_selector_all(
        "#content-main a[href]", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(links) > 20
    for href in sorted(set(links)):
        visit(page, console.url + href)
        first_row = page.locator("#result_list tbody th a")
        if first_row.count():
            visit(page, console.url + first_row.first.get_attribute("href"))

    visit(page, f"{console.url}/admin/django_celery_beat/periodictask/add/")
    page.locator("#id_crontab").select_option(index=1)
    expect(page.locator(".field-crontab .help")).to_contain_text("Translation: At 03:00")
    page.locator(".datetimeshortcuts a").first.click()  # the admin's date widget (its own JS)
