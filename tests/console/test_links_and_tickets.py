"""Links out of the console (provider dashboards, labels, carriers' tracking), the helpdesk's
ticket on a resend and its deep link to an order, and Chargebee's attribution and switches as
the forms, the preview and the stored call carry them."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from resends.accounts import default_account
from resends.engine.outcome import refresh_request_state
from resends.models import Order, ProviderAccount, ProviderCall, ResendRequest, ReturnInventory
from resends.models.audit import CallState, Channel
from resends.services.retry import retry_failed

from ..factories import OrderFactory
from .helpers import HTMX, SHIPMENT, line, messages_of, signed_in, squash, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client: Client, agent: User) -> Client:
    return signed_in(client, agent)


def set_templates(account: ProviderAccount, **templates: str) -> None:
    for name, value in templates.items():
        setattr(account, name, value)
    account.full_clean()
    account.save()


def chargebee_post(browser: Client, order: Order, **extra: Any) -> Any:
    kit = line(order, "li_kit")
    data = {
        "token": str(uuid.uuid4()),
        "mode": "partial",
        f"pick_{kit.pk}": "on",
        f"qty_{kit.pk}": "1",
        "customer_email": "on",
        "webhooks": "on",
        "action": "preview",
        **extra,
    }
    return browser.post(reverse("resends:chargebee", args=[order.pk]), data, headers=HTMX)


def settle(resend: ResendRequest, reference: str) -> ProviderCall:
    call = resend.calls.get()
    call.state = CallState.SUCCEEDED
    call.provider_reference = reference
    call.attempts = 1
    call.finished_at = timezone.now()
    call.save()
    refresh_request_state(resend.pk)
    return call


def request_page(browser: Client, resend: ResendRequest) -> str:
    return text(browser.get(reverse("resends:request", args=[resend.public_id])))


# --- link templates per account ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("https://acme.chargebee.com/d/orders/{order}", "Unknown placeholder {order}"),
        ("https://acme.chargebee.com/d/orders/{id.__class__}", "Unknown placeholder"),
        ("https://acme.chargebee.com/d/orders/{id!r}", "Unknown placeholder"),
        ("https://acme.chargebee.com/d/orders/", "must contain {id}"),
        ("javascript:alert({id})", "https:// or http://"),
        ("ftp://acme.example/{id}", "https:// or http://"),
        ("https://acme.chargebee.com/d/orders/{id", "Unbalanced braces"),
        ("https:///{id}", "not a valid web address"),
    ],
)
def test_a_link_template_is_checked_when_saved(template: str, why: str) -> None:
    account = default_account("chargebee")
    account.order_url_template = template
    with pytest.raises(ValidationError) as caught:
        account.full_clean()
    assert why in str(caught.value)


def test_the_admin_refuses_a_bad_template_in_plain_words(client: Client) -> None:
    root = User.objects.create_superuser("root", "root@backoffice.test", "x")
    client.force_login(root)
    account = default_account("chargebee")
    url = reverse("admin:resends_provideraccount_change", args=[account.pk])
    data = {
        "provider": account.provider,
        "code": account.code,
        "label": account.label,
        "environment": "",
        "env_prefix": account.env_prefix,
        "order_url_template": "https://acme.chargebee.com/{order}",
        "resend_url_template": "",
        "label_url_template": "",
        "is_default": "on",
        "is_active": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Unknown placeholder {order}" in squash(text(response))
    data["order_url_template"] = "https://{environment}.chargebee.com/d/orders/{id}"
    assert client.post(url, data).status_code == 302
    account.refresh_from_db()
    assert account.order_url_template == "https://{environment}.chargebee.com/d/orders/{id}"


def test_the_order_page_links_to_the_providers_dashboard_with_the_id_escaped(
    browser: Client,
) -> None:
    account = default_account("chargebee")
    account.environment = "acme-test"
    set_templates(account, order_url_template="https://{environment}.chargebee.com/d/orders/{id}")
    order = OrderFactory.create(account=account, external_id="ord/../x?y#z")
    page = text(browser.get(reverse("resends:order", args=[order.pk])))
    assert 'href="https://acme-test.chargebee.com/d/orders/ord%2F..%2Fx%3Fy%23z"' in page
    assert 'data-copy="ord/../x?y#z"' in page and 'aria-label="Copy order id ord/../x?y#z"' in page


def test_without_a_template_there_is_no_dashboard_link(browser: Client, order: Order) -> None:
    page = text(browser.get(reverse("resends:order", args=[order.pk])))
    assert 'data-testid="dashboard-link"' not in page
    assert 'data-copy="cb_order_1"' in page  # copying needs no template


# --- the request page: results, labels, tracking ---------------------------------------------
def test_a_settled_chargebee_resend_links_its_new_order_here_and_at_chargebee(
    browser: Client, resend: ResendRequest
) -> None:
    set_templates(resend.account, order_url_template="https://acme.chargebee.com/d/orders/{id}")
    settle(resend, "ord_new_1")
    page = request_page(browser, resend)
    assert 'href="https://acme.chargebee.com/d/orders/ord_new_1"' in page
    assert 'data-testid="new-order"' not in page  # not in our mirror yet
    new = OrderFactory.create(account=resend.account, external_id="ord_new_1")
    page = request_page(browser, resend)
    assert f'href="{reverse("resends:order", args=[new.pk])}" data-testid="new-order"' in page
    assert 'data-copy="ord_new_1"' in page


def test_a_return_helper_resend_links_its_label_tracking_and_dashboard_page(
    browser: Client, rh_resend: ResendRequest
) -> None:
    set_templates(
        rh_resend.account,
        resend_url_template="https://portal.returnhelper.example/resends/{id}",
        label_url_template="https://portal.returnhelper.example/labels/{id}.pdf",
    )
    call = rh_resend.calls.get()
    assert rh_resend.destination["shipmentServiceType"] == "usps"
    page = request_page(browser, rh_resend)
    assert 'data-testid="label"' not in page  # no label before the webhook brings it
    call.label_id, call.tracking_number = "30123", "9400 1234"
    call.save()
    page = request_page(browser, rh_resend)
    assert 'href="https://portal.returnhelper.example/labels/30123.pdf"' in page
    assert 'href="https://portal.returnhelper.example/resends/123"' in page
    assert 'href="https://tools.usps.com/go/TrackConfirmAction?tLabels=9400%201234"' in page
    assert 'data-copy="9400 1234"' in page


def test_the_order_page_links_a_label_with_the_accounts_template_and_the_id_escaped(
    browser: Client, order: Order, inventory: ReturnInventory, rh_resend: ResendRequest
) -> None:
    ReturnInventory.objects.filter(pk=inventory.pk).update(order=order)
    set_templates(
        rh_resend.account, label_url_template="https://portal.returnhelper.example/labels/{id}.pdf"
    )
    page = text(browser.get(reverse("resends:order", args=[order.pk])))
    assert reverse("resends:request", args=[rh_resend.public_id]) in page  # in its history
    assert 'data-testid="label"' not in page  # no label before the webhook brings it
    rh_resend.calls.update(label_id="30/../1?x#y", tracking_number="9400 1234")
    page = text(browser.get(reverse("resends:order", args=[order.pk])))
    assert 'href="https://portal.returnhelper.example/labels/30%2F..%2F1%3Fx%23y.pdf"' in page


def test_a_label_address_that_is_not_http_is_never_linked(
    browser: Client, order: Order, inventory: ReturnInventory, rh_resend: ResendRequest
) -> None:
    ReturnInventory.objects.filter(pk=inventory.pk).update(order=order)
    rh_resend.calls.update(label_url="javascript:alert(1)", tracking_number="9400 1234")
    for url in (
        reverse("resends:order", args=[order.pk]),
        reverse("resends:request", args=[rh_resend.public_id]),
    ):
        page = text(browser.get(url))
        assert "javascript:" not in page
        assert 'data-testid="label"' not in page
    # With a label id and the account's template, the label is linked from the template.
    set_templates(rh_resend.account, label_url_template="https://labels.example/{id}")
    rh_resend.calls.update(label_id="30123")
    page = text(browser.get(reverse("resends:order", args=[order.pk])))
    assert 'href="https://labels.example/30123"' in page and "javascript:" not in page


def test_an_unknown_carrier_shows_the_tracking_number_as_plain_text(
    browser: Client, rh_resend: ResendRequest
) -> None:
    ResendRequest.objects.filter(pk=rh_resend.pk).update(
        destination={**SHIPMENT, "shipmentServiceType": "SHIPMENT_PIGEON_POST"}
    )
    rh_resend.calls.update(tracking_number="PIGEON-1")
    page = request_page(browser, rh_resend)
    assert '<span class="mono" data-testid="tracking">PIGEON-1</span>' in page
    assert "tools.usps.com" not in page


def test_a_label_arriving_by_webhook_is_kept_on_the_call(rh_resend: ResendRequest) -> None:
    from resends.providers.base import ResendStatusUpdate
    from resends.services.webhooks import apply_resend_status

    apply_resend_status(
        rh_resend.account,
        ResendStatusUpdate(
            operation=ProviderCall.Operation.RETURNHELPER_CREATE_RESEND,
            reference="123",
            status="completed",
            tracking_number="9400111",
            label_id="30123",
        ),
    )
    call = rh_resend.calls.get()
    assert (call.label_id, call.tracking_number) == ("30123", "9400111")


# --- the helpdesk ticket -----------------------------------------------------------------------
def test_a_ticket_is_stored_shown_and_searchable(
    browser: Client, order: Order, agent: User, manager: User
) -> None:
    response = chargebee_post(browser, order, action="submit", ticket=" ABC-123 ")
    resend = ResendRequest.objects.get()
    assert response["HX-Redirect"] == reverse("resends:request", args=[resend.public_id])
    assert resend.ticket == "ABC-123"
    assert 'data-testid="ticket">ABC-123<' in request_page(browser, resend)

    found = text(browser.get(reverse("resends:find"), {"q": "ABC-123"}))
    assert reverse("resends:request", args=[resend.public_id]) in found
    assert reverse("resends:order", args=[order.pk]) in found  # the order it was about

    signed_in(browser, manager)
    listed = browser.get(reverse("admin:resends_resendrequest_changelist"), {"q": "ABC-123"})
    assert list(listed.context["cl"].result_list) == [resend]
    exported = browser.get(reverse("admin:resends_resendrequest_export"), {"q": "ABC-123"})
    assert isinstance(exported, StreamingHttpResponse)
    body = b"".join(exported.streaming_content).decode()  # type: ignore[arg-type]
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["ticket"] for row in rows] == ["ABC-123"]


@pytest.mark.parametrize("bad", ["ABC 123", "x" * 41, "<b>", "-ABC", "ABC\u00a0123", "ABC;DROP"])
def test_a_malformed_ticket_is_a_form_error_and_nothing_is_written(
    browser: Client, order: Order, bad: str
) -> None:
    page = squash(text(chargebee_post(browser, order, action="submit", ticket=bad)))
    assert "Helpdesk ticket (optional): A ticket reference is letters and digits" in page
    assert not ResendRequest.objects.exists()


def test_each_form_takes_a_ticket(
    browser: Client, inventory: ReturnInventory, sandbox: Any
) -> None:
    junction = default_account("junction")
    common = {"token": str(uuid.uuid4()), "account": str(junction.pk), "action": "submit"}
    browser.post(
        reverse("resends:junction"),
        {**common, "mode": "orders", "order_ids": str(uuid.uuid4()), "ticket": "JO-1"},
        headers=HTMX,
    )
    browser.post(
        reverse("resends:junction"),
        {
            **common,
            "token": str(uuid.uuid4()),
            "mode": "window",
            "start": "2026-01-01T00:00",
            "end": "2026-01-02T00:00",
            "ticket": "JW-1",
        },
        headers=HTMX,
    )
    assert sorted(ResendRequest.objects.values_list("ticket", flat=True)) == ["JO-1", "JW-1"]
    form = text(browser.get(f"{reverse('resends:returnhelper')}?inventory={inventory.pk}"))
    assert 'name="ticket"' in form


def test_a_retry_keeps_the_ticket_and_the_switches(
    browser: Client, order: Order, agent: User
) -> None:
    chargebee_post(browser, order, action="submit", ticket="ABC-9", webhooks="")
    resend = ResendRequest.objects.get()
    resend.calls.update(
        state=CallState.FAILED, error_class="permanent", finished_at=timezone.now(), attempts=1
    )
    refresh_request_state(resend.pk)
    resend.refresh_from_db()
    retry = retry_failed(
        actor=agent, request=resend, intent_key="retry-1", channel=Channel.WEB
    ).request
    assert retry.ticket == "ABC-9"
    assert retry.calls.get().payload == resend.calls.get().payload


# --- the deep link a helpdesk sidebar opens ---------------------------------------------------
def test_the_deep_link_opens_the_order_with_the_ticket_in_its_forms(
    browser: Client, order: Order
) -> None:
    url = reverse("resends:order-by-reference", args=["chargebee", order.external_id])
    response = browser.get(url, {"ticket": "ABC-123"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('resends:order', args=[order.pk])}?ticket=ABC-123"
    page = text(browser.get(response["Location"]))
    assert f"{reverse('resends:chargebee', args=[order.pk])}?ticket=ABC-123" in page
    form = text(browser.get(f"{reverse('resends:chargebee', args=[order.pk])}?ticket=ABC-123"))
    assert 'name="ticket" value="ABC-123"' in form


def test_a_deep_link_with_a_bad_ticket_opens_the_order_and_says_why(
    browser: Client, order: Order
) -> None:
    url = reverse("resends:order-by-reference", args=["chargebee", order.external_id])
    response = browser.get(url, {"ticket": "no spaces please"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("resends:order", args=[order.pk])
    assert any("The ticket in the link was not used" in m for m in messages_of(response))
    assert 'name="ticket" value=' not in text(
        browser.get(f"{reverse('resends:chargebee', args=[order.pk])}?ticket=a%20b")
    )


def test_a_deep_link_to_an_order_we_do_not_hold(browser: Client) -> None:
    missing = reverse("resends:order-by-reference", args=["chargebee", "ord_nowhere"])
    assert browser.get(missing).status_code == 404
    assert browser.get("/orders/stripe/ord_1/").status_code == 404
    junction_id = str(uuid.uuid4())
    response = browser.get(
        reverse("resends:order-by-reference", args=["junction", junction_id]), {"ticket": "T-1"}
    )
    assert response["Location"] == f"{reverse('resends:junction')}?order={junction_id}&ticket=T-1"


def tab_links(page: str) -> dict[str, str]:
    """The Junction page's tabs: their names and addresses."""
    nav = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', page, re.S)
    assert nav, "no tabs on the page"
    found = re.findall(r'<a href="([^"]*)"[^>]*>([^<]+)</a>', nav.group(1))
    return {name: html.unescape(href) for href, name in found}


def test_the_junction_tabs_carry_the_helpdesk_ticket(browser: Client) -> None:
    junction_id = str(uuid.uuid4())
    deep_link = reverse("resends:order-by-reference", args=["junction", junction_id])
    opened = browser.get(deep_link, {"ticket": "T-1"}, follow=True)
    tabs = tab_links(text(opened))
    assert tabs == {
        "By order ids": f"{reverse('resends:junction')}?ticket=T-1",
        "By time window": f"{reverse('resends:junction')}?mode=window&ticket=T-1",
    }
    window = text(browser.get(tabs["By time window"]))
    assert 'name="ticket" value="T-1"' in window
    assert tab_links(window) == tabs  # and back again
    assert 'name="ticket" value="T-1"' in text(browser.get(tab_links(window)["By order ids"]))

    # The window submitted from the tab keeps the ticket.
    junction = default_account("junction")
    browser.post(
        tabs["By time window"],
        {
            "token": str(uuid.uuid4()),
            "account": str(junction.pk),
            "mode": "window",
            "start": "2026-01-01T00:00",
            "end": "2026-01-02T00:00",
            "ticket": "T-1",
            "action": "submit",
        },
        headers=HTMX,
    )
    assert list(ResendRequest.objects.values_list("ticket", flat=True)) == ["T-1"]


def test_the_junction_tabs_carry_a_ticket_typed_in_the_form(browser: Client) -> None:
    """Without JavaScript the whole page comes back from a preview, its tabs with the ticket as
    typed; without a ticket the tabs carry none."""
    junction = default_account("junction")
    data = {
        "token": str(uuid.uuid4()),
        "account": str(junction.pk),
        "mode": "orders",
        "order_ids": str(uuid.uuid4()),
        "action": "preview",
    }
    page = text(browser.post(reverse("resends:junction"), {**data, "ticket": "ABC-7"}))
    assert (
        tab_links(page)["By time window"]
        == f"{reverse('resends:junction')}?mode=window&ticket=ABC-7"
    )
    plain = tab_links(text(browser.get(reverse("resends:junction"))))
    assert plain == {
        "By order ids": reverse("resends:junction"),
        "By time window": f"{reverse('resends:junction')}?mode=window",
    }
    bad = tab_links(text(browser.get(reverse("resends:junction"), {"ticket": "no spaces"})))
    assert bad == plain


# --- Chargebee: who asked, customer emails, webhooks -----------------------------------------
def test_the_preview_says_who_chargebee_will_name_and_what_it_will_send(
    browser: Client, order: Order, agent: User
) -> None:
    words = squash(text(chargebee_post(browser, order)))
    assert f"Chargebee's history shows it was resent by {agent.email}." in words
    assert "Chargebee emails the customer as usual." in words
    off = squash(text(chargebee_post(browser, order, customer_email="", webhooks="")))
    assert "Chargebee sends the customer no email about this resend." in off
    assert "Chargebee sends no webhooks about this resend" in off
    assert not ResendRequest.objects.exists()


def test_the_call_stores_the_agent_and_the_switches(
    browser: Client, order: Order, agent: User
) -> None:
    chargebee_post(browser, order, action="submit", customer_email="")
    payload = ResendRequest.objects.get().calls.get().payload
    assert (payload["origin_user"], payload["customer_email"], payload["webhooks"]) == (
        agent.email,
        False,
        True,
    )


def test_the_request_page_says_what_chargebee_was_told(
    browser: Client, order: Order, agent: User
) -> None:
    chargebee_post(browser, order, action="submit", webhooks="")
    page = squash(request_page(browser, ResendRequest.objects.get()))
    assert f"Chargebee named {agent.email} as who resent; customer email: yes; webhooks: no" in page
