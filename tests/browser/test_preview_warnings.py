"""Warnings before Submit, and plain causes after it, in a real browser with a real worker and
the sandbox: a colleague's preview of a resend alice has just made says so (who, when, a link)
with Submit disabled; a resend the provider answers 429 says "The provider is busy" with the
time of the last error, live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from resends.engine import budget
from resends.models import ResendRequest
from resends.roles import AGENTS, MANAGERS
from tests.conftest import make_user
from tests.engine.helpers import faults, ledger

from .conftest import audit, sign_in
from .test_console_flows import resendable_chargebee_order, wait_for_state

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def pick(page, line, reason: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(f"#id_pick_{line.pk}").check()
    page.get_by_label("Reason code").select_option(reason)


def test_a_colleagues_preview_says_already_done_and_offers_no_submit(
    console, page, new_context
) -> None:  # type: ignore[no-untyped-def]
    make_user("alice", group=AGENTS)
    make_user("mona", group=MANAGERS, staff=True)
    order = resendable_chargebee_order()
    line = order.line_items.first()
    assert line is not None
    form_url = f"{console.url}/orders/{order.pk}/chargebee/"

    sign_in(page, console.url, "alice")
    page.goto(form_url)
    pick(page, line, "Damaged")
    expect(page.locator("#submit-button")).to_be_enabled()
    expect(page.locator("#already-done")).to_have_count(0)
    page.camera("alice-preview")
    page.locator("#submit-button").click()
    page.wait_for_url("**/resends/*/")
    wait_for_state(page, "Succeeded")
    first = ResendRequest.objects.get()
    page.camera("alice-succeeded")

    mona = new_context().new_page()
    sign_in(mona, console.url, "mona")
    mona.goto(form_url)
    pick(mona, line, "Wrong Item")  # another reason: still the same resend
    note = mona.locator("#already-done")
    expect(note).to_contain_text("Already done: the same resend was submitted by alice on")
    expect(note).to_contain_text("(succeeded)")
    expect(mona.locator("#submit-button")).to_be_disabled()
    expect(mona.locator("#preview")).not_to_contain_text("Sends 1 request")
    page.camera.shoot(mona, "already-done")

    mona.locator("#earlier-link").click()
    mona.wait_for_url(f"**/resends/{first.public_id}/")
    expect(mona.locator("h1")).to_contain_text(f"#{first.pk}")
    page.camera.shoot(mona, "the-earlier-resend")
    assert ResendRequest.objects.count() == 1
    assert len(ledger(console.sandbox, "chargebee")) == 1


def test_a_429_reads_the_provider_is_busy_live(console, page) -> None:  # type: ignore[no-untyped-def]
    make_user("alice", group=AGENTS)
    order = resendable_chargebee_order()
    line = order.line_items.first()
    assert line is not None
    faults(console.sandbox, provider="chargebee", rate_limit_burst=100, retry_after=600)
    sign_in(page, console.url, "alice")
    page.goto(f"{console.url}/orders/{order.pk}/chargebee/")
    pick(page, line, "Damaged")
    expect(page.locator("#submit-button")).to_be_enabled()
    audit(page)
    page.locator("#submit-button").click()
    page.wait_for_url("**/resends/*/")
    cause = page.locator(".cause[data-trouble=busy]")  # the live panel shows it once it happens
    expect(cause).to_be_visible(timeout=60_000)
    expect(cause).to_have_text(
        re.compile(r"The provider is busy · last error at \d\d:\d\d:\d\d UTC")
    )
    expect(page.locator("#status")).to_contain_text("Trying again at")
    expect(page.locator("#status")).not_to_contain_text("refused")
    page.camera("busy")
    assert ledger(console.sandbox, "chargebee") == []
    budget.reset(order.account)  # the 429's ten-minute cooldown is not the next test's
