"""Who asked, and Chargebee's own emails and webhooks, over real HTTP against the sandbox: the
adapter sends what the stored payload says as Chargebee's headers, and the sandbox honours them
(it records the origin user, and sends no customer email or webhook when switched off)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from resends.providers.base import ErrorClass, ProviderError
from resends.providers.chargebee.client import ChargebeeClient, ChargebeeOrder
from resends.providers.chargebee.provider import RESEND_ORDER, ChargebeeAdapter
from sandbox.server import RunningSandbox

from ..sandbox.helpers import Receiver, start_receiver, wait_until
from .conftest import Control


def resendables(orders: list[ChargebeeOrder], count: int) -> list[ChargebeeOrder]:
    found = [
        order
        for order in orders
        if order.status in ("shipped", "delivered")
        and not order.is_resent
        and order.resend_count == 0
        and order.line_items
    ]
    assert len(found) >= count, "the sandbox has too few resendable orders"
    return found[:count]


def payload(order: ChargebeeOrder, **switches: Any) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "lines": [{"id": order.line_items[0].id, "quantity": 1}],
        "shipping_date": None,
        "reason": None,
        **switches,
    }


def emails(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    response = requests.get(f"{sandbox.url}/_sandbox/emails", timeout=5)
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()["emails"]
    return result


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = start_receiver()
    yield started
    started.stop()


def test_the_agent_is_named_and_the_switches_are_sent_as_chargebees_headers(
    chargebee: ChargebeeClient,
    control: Control,
    sandbox: RunningSandbox,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    [order] = resendables(chargebee_orders, 1)
    stored = payload(
        order, origin_user="alice@backoffice.test", customer_email=False, webhooks=False
    )

    ChargebeeAdapter(chargebee).execute(RESEND_ORDER, stored, idempotency_key=str(uuid.uuid4()))

    headers = control.last_request("chargebee")["headers"]
    assert headers["chargebee-request-origin-user"] == "alice@backoffice.test"
    assert headers["chargebee-event-email"] == "all-disabled"
    assert headers["chargebee-event-webhook"] == "all-disabled"
    (effect,) = control.ledger("chargebee", "resend")
    details = effect["details"]
    assert (details["origin_user"], details["customer_email"], details["webhooks"]) == (
        "alice@backoffice.test",
        False,
        False,
    )
    assert emails(sandbox) == []


def test_by_default_chargebee_emails_the_customer_and_no_switch_is_sent(
    chargebee: ChargebeeClient,
    control: Control,
    sandbox: RunningSandbox,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    [order] = resendables(chargebee_orders, 1)

    result = ChargebeeAdapter(chargebee).execute(
        RESEND_ORDER, payload(order), idempotency_key=str(uuid.uuid4())
    )

    headers = control.last_request("chargebee")["headers"]
    assert not {"chargebee-event-email", "chargebee-event-webhook"} & set(headers)
    assert "chargebee-request-origin-user" not in headers  # no email stored: no header
    assert [e["order_id"] for e in emails(sandbox)] == [result.reference]
    assert control.ledger("chargebee", "resend")[0]["details"]["customer_email"] is True


def test_an_email_that_is_not_ascii_goes_base64_encoded(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
) -> None:
    [order] = resendables(chargebee_orders, 1)

    chargebee.resend_order(
        order.id,
        [(order.line_items[0].id, 1)],
        idempotency_key=str(uuid.uuid4()),
        origin_user="zoë@backoffice.test",
    )

    headers = control.last_request("chargebee")["headers"]
    assert "chargebee-request-origin-user" not in headers
    encoded = headers["chargebee-request-origin-user-encoded"]
    assert base64.b64decode(encoded).decode() == "zoë@backoffice.test"
    assert control.ledger("chargebee", "resend")[0]["details"]["origin_user"] == (
        "zoë@backoffice.test"
    )


@pytest.mark.parametrize("origin", ["not an email", "a@b\r\nx-evil: 1", "x" * 250 + "@b.test"])
def test_an_origin_user_that_cannot_be_a_header_is_refused_before_sending(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
    origin: str,
) -> None:
    [order] = resendables(chargebee_orders, 1)
    with pytest.raises(ProviderError) as caught:
        ChargebeeAdapter(chargebee).execute(
            RESEND_ORDER, payload(order, origin_user=origin), idempotency_key=str(uuid.uuid4())
        )
    assert caught.value.error_class is ErrorClass.PERMANENT
    assert control.requests("chargebee") == []


def test_switched_off_webhooks_never_leave_the_sandbox(
    chargebee: ChargebeeClient,
    control: Control,
    chargebee_orders: list[ChargebeeOrder],
    receiver: Receiver,
) -> None:
    control.configure(chargebee_webhook_url=receiver.url, webhook_delay=0.05)
    quiet, loud = resendables(chargebee_orders, 2)
    adapter = ChargebeeAdapter(chargebee)

    adapter.execute(RESEND_ORDER, payload(quiet, webhooks=False), idempotency_key=str(uuid.uuid4()))
    adapter.execute(RESEND_ORDER, payload(loud), idempotency_key=str(uuid.uuid4()))

    # Webhooks leave one after another from one queue: once the second resend's two events have
    # arrived, anything the first had queued would have arrived before them.
    assert wait_until(lambda: len(receiver.calls) >= 2)
    originals = [
        call.json()["content"]["order"].get("original_order_id")
        or call.json()["content"]["order"]["id"]
        for call in receiver.calls
    ]
    assert originals == [loud.id, loud.id]


def test_the_stored_switches_must_be_true_or_false(
    chargebee: ChargebeeClient, control: Control, chargebee_orders: list[ChargebeeOrder]
) -> None:
    [order] = resendables(chargebee_orders, 1)
    with pytest.raises(ProviderError):
        ChargebeeAdapter(chargebee).execute(
            RESEND_ORDER, payload(order, webhooks="no"), idempotency_key=str(uuid.uuid4())
        )
    assert control.requests("chargebee") == []
