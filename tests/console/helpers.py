"""Helpers to talk to the console views the way the browser and htmx do, and to read answers."""

from __future__ import annotations

import html
import re
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from resends.engine.outcome import refresh_request_state
from resends.models import LineItem, Order, ProviderCall, ResendRequest
from resends.models.audit import CallState

HTMX = {"HX-Request": "true"}


def line(order: Order, external_id: str) -> LineItem:
    return order.line_items.get(external_id=external_id)


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def squash(page: str) -> str:
    """The page's text with tags dropped and whitespace collapsed, for sentence assertions."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def submit_button(page: str) -> str:
    match = re.search(r'<button[^>]*id="submit-button"[^>]*>', page)
    assert match, "no submit button in the response"
    return match.group(0)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


SHIPMENT = {
    "shipmentName": "Jane Doe",
    "shipmentStreet1": "1 Main Street",
    "shipmentStreet2": "",
    "shipmentCity": "Newark",
    "shipmentState": "NJ",
    "shipmentPostalCode": "07102",
    "shipmentPhone": "",
    "shipmentEmail": "jane@example.com",
    "shipmentCountryCode": "usa",
    "shipmentServiceType": "usps",
}


def accept_returnhelper(request: ResendRequest, *, status: str = "pending") -> ProviderCall:
    """Mark the create call as accepted by Return Helper (resend 123) with `status`."""
    call = request.calls.get(operation=ProviderCall.Operation.RETURNHELPER_CREATE_RESEND)
    call.state = CallState.SUCCEEDED
    call.provider_reference = "123"
    call.provider_reference_2 = "RS-000123"
    call.provider_status = status
    call.attempts = 1
    call.finished_at = timezone.now()
    call.save()
    refresh_request_state(request.pk)
    request.refresh_from_db()
    return call
