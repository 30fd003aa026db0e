"""An agent makes a Chargebee resend with the keyboard alone: sign in, "/" to the search box,
the order, the form, the preview and Submit, with every stop on the way showing where the focus
is. A real worker makes the call; the sandbox's ledger shows it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from resends.models import BulkJob
from resends.roles import AGENTS, MANAGERS
from tests.conftest import PASSWORD, make_user
from tests.engine.helpers import ledger

from .conftest import audit, sign_in
from .test_bulk_flow import fill_bulk_form, orders_updated_together
from .test_console_flows import resendable_chargebee_order, wait_for_state

pytestmark = [pytest.mark.browser, pytest.mark.worker]

# How the focused element shows it: an outline or a ring (box-shadow), at least 2 px.
FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "nothing has the focus";
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  const ring = style.boxShadow !== "none";
  const box = el.getBoundingClientRect();
  if (box.width === 0 || box.height === 0) return `${el.outerHTML.slice(0, 80)} is not on screen`;
  return outline || ring ? "" : `${el.outerHTML.slice(0, 80)} shows no focus`;
}"""


def has_focus(locator: Any) -> bool:
    return bool(locator.evaluate("el => el === document.activeElement"))


def tab_to(page: Any, target: Any, limit: int = 60) -> int:
    """Tab until ``target`` has the focus, checking that each stop on the way shows it."""
    expect(target).to_be_visible()
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        problem = page.evaluate(FOCUS_SHOWN)
        assert not problem, problem
        if has_focus(target):
            return presses
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


def previewing(note_word: str) -> Any:
    """Matches the answer to the form's preview of a note with this word in it."""

    def matches(response: Any) -> bool:
        request = response.request
        return request.method == "POST" and note_word in (request.post_data or "")

    return matches


def test_an_agent_resends_with_the_keyboard_alone(console, page) -> None:  # type: ignore[no-untyped-def]
    make_user("alice", group=AGENTS)
    order = resendable_chargebee_order()
    line = order.line_items.filter(quantity__gte=2).order_by("pk").first()
    assert line is not None

    page.goto(f"{console.url}/login/")
    audit(page)
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{console.url}/")

    # "/" brings the focus back to the search box from anywhere on the page.
    search = page.get_by_label("Search")
    expect(search).to_be_focused()  # the page starts there
    tab_to(page, page.get_by_role("button", name="Search"))
    page.keyboard.press("/")
    expect(search).to_be_focused()
    expect(search).to_have_value("")  # and no "/" was typed into it
    page.keyboard.type(order.customer_email)
    page.keyboard.press("Enter")
    link = page.get_by_role("link", name=order.external_id)
    tab_to(page, link)
    audit(page)
    page.camera("found")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/orders/{order.pk}/")
    audit(page)

    tab_to(page, page.get_by_role("link", name="Resend via Chargebee"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/orders/{order.pk}/chargebee/")
    pick = page.locator(f"#id_pick_{line.pk}")
    tab_to(page, pick)
    page.keyboard.press("Space")
    expect(pick).to_be_checked()
    tab_to(page, page.get_by_label(f"Quantity of {line.sku or line.external_id} to resend"))
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("1")
    reason = page.get_by_label("Reason code")
    tab_to(page, reason)
    page.keyboard.type("Damaged")
    expect(reason).to_have_value("Damaged")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Damaged")  # the preview of the changes so far is back
    note = page.get_by_label("Note for the audit (why)")
    tab_to(page, note)
    page.keyboard.type("Arrived broken / customer on the phone")  # "/" is only typed here
    expect(note).to_have_value("Arrived broken / customer on the phone")
    expect(note).to_be_focused()

    submit = page.locator("#submit-button")
    # Leaving the note previews it; Submit is disabled until that preview is back.
    with page.expect_response(previewing("phone")):
        tab_to(page, page.get_by_role("button", name="Preview"))
    expect(preview).to_contain_text(f"resend 1 of {line.quantity}")
    expect(submit).to_be_enabled()
    tab_to(page, submit)
    audit(page)
    page.camera("preview")
    # A change made just before reaching Submit re-previews while Submit has the focus (and is
    # disabled until the answer): the focus is still on it afterwards.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(note).to_be_focused()
    with page.expect_response(previewing("again")):
        page.keyboard.type(" again")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
    expect(submit).to_be_enabled()
    expect(submit).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/resends/*/")
    wait_for_state(page, "Succeeded")
    page.camera("succeeded")

    [effect] = ledger(console.sandbox, "chargebee")
    assert effect["details"]["line_items"] == [{"id": line.external_id, "fulfillment_quantity": 1}]
    # From a page without a search box, "/" goes to the one on Find orders.
    page.keyboard.press("/")
    page.wait_for_url(f"{console.url}/")
    expect(page.get_by_label("Search")).to_be_focused()


def test_a_change_just_before_create_job_only_previews(console, page) -> None:  # type: ignore[no-untyped-def]
    """htmx sends the value of the submit button that has the focus with every request of its
    form: the preview a change starts must not become "Create job" because the focus has moved
    onto that button meanwhile."""
    make_user("mona", group=MANAGERS, staff=True)
    start, end, _ = orders_updated_together(3)
    sign_in(page, console.url, "mona")
    fill_bulk_form(page, start, end, "Replay after the outage")
    create = page.locator("#create-button")
    expect(create).to_be_enabled()
    audit(page)
    with page.expect_response(lambda r: r.request.method == "POST" and "/bulk/new/" in r.url):
        page.get_by_label("Note for the audit").press("End")
        page.keyboard.type(" at the lab")
        create.focus()  # the note's change fires as it loses the focus; its preview follows
    expect(create).to_be_enabled()
    expect(create).to_be_focused()
    assert page.url.endswith("/bulk/new/")
    assert not BulkJob.objects.exists()
