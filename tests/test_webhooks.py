"""Inbound webhooks, signed the way the providers sign them (the sandbox's own signing code)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from resends.accounts import default_account
from resends.models import Order, ProviderCall, ResendRequest, ReturnInventory, WebhookEvent
from resends.models.audit import CallState, RequestState, ResendKind
from sandbox.webhooks import rh_signature, svix_signature

RH_URL = "/webhooks/returnhelper/"


def rh_post(
    client: Client, payload: dict[str, Any], *, key: str | None = None, when: datetime | None = None
):  # type: ignore[no-untyped-def]
    body = json.dumps(payload).encode()
    timestamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = rh_signature(
        key or settings.RETURNHELPER["webhook_signing_key"],
        settings.SITE_URL + RH_URL,
        timestamp,
        body,
    )
    return client.post(
        RH_URL,
        body,
        content_type="application/json",
        headers={"timestamp": timestamp, "returnhelper-signature": signature},
    )


@pytest.fixture
def rh_call(db: None) -> ProviderCall:
    account = default_account("returnhelper")
    user = User.objects.create_user("alice")
    request = ResendRequest.objects.create(
        intent_key="t1",
        submitted_by=user,
        account=account,
        kind=ResendKind.RETURNHELPER,
        state=RequestState.SUCCEEDED,
    )
    ReturnInventory.objects.create(
        account=account, external_id="3474", warehouse_id="11", handling_code="rsd"
    )
    return ProviderCall.objects.create(
        request=request,
        account=account,
        intent_key="t1:0",
        operation=ProviderCall.Operation.RETURNHELPER_CREATE_RESEND,
        payload={"inventory_ids": [3474]},
        state=CallState.SUCCEEDED,
        finished_at=datetime.now(UTC),
        provider_reference="123",
        provider_status="pending",
    )


def status_event(code: int, **shipment: Any) -> dict[str, Any]:
    return {
        "category": "resend",
        "action": "updateResendStatus",
        "eventTime": datetime.now(UTC).isoformat(),
        "notificationId": f"n-{code}-{len(shipment)}",
        "resend": {"resendId": "123", "resendStatusCode": code},
        "resendShipmentList": [{"resendShipmentId": 9, **shipment}],
        "returnInventoryList": [
            {"returnInventoryId": "3474", "handlingCode": 3, "handlingStatusCode": "1"}
        ],
    }


def test_tracking_arrives_and_a_late_in_progress_does_not_regress_it(
    client: Client, rh_call: ProviderCall
) -> None:
    assert rh_post(client, status_event(3, trackingNumber="1Z999")).status_code == 200
    assert rh_post(client, status_event(2)).status_code == 200
    rh_call.refresh_from_db()
    assert (rh_call.provider_status, rh_call.tracking_number) == ("completed", "1Z999")
    inventory = ReturnInventory.objects.get(external_id="3474")
    assert (inventory.handling_code, inventory.handling_status_code) == ("rsd", "inProgress")


def test_a_redelivered_event_is_applied_once(client: Client, rh_call: ProviderCall) -> None:
    event = status_event(2)
    first, second = rh_post(client, event), rh_post(client, event)
    assert first.json()["outcome"] == "resend 123 is inProgress"
    assert second.json()["outcome"].startswith("duplicate")
    assert WebhookEvent.objects.count() == 1


def test_a_failed_label_fails_the_resend_with_the_reason(
    client: Client, rh_call: ProviderCall
) -> None:
    rh_post(client, status_event(4, error={"message": "Invalid address."}))
    rh_call.refresh_from_db()
    assert rh_call.state == CallState.FAILED
    assert "Invalid address." in rh_call.failure_reason
    assert ResendRequest.objects.get().state == RequestState.FAILED


@pytest.mark.parametrize(
    "tamper",
    ["key", "stale", "body"],
)
def test_a_bad_signature_is_refused_and_records_nothing(
    client: Client, rh_call: ProviderCall, tamper: str
) -> None:
    event = status_event(3, trackingNumber="1Z1")
    if tamper == "key":
        response = rh_post(client, event, key=base64.b64encode(b"someone else").decode())
    elif tamper == "stale":
        response = rh_post(client, event, when=datetime.now(UTC) - timedelta(minutes=16))
    else:
        timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        signed = rh_signature(
            settings.RETURNHELPER["webhook_signing_key"],
            settings.SITE_URL + RH_URL,
            timestamp,
            b"{}",
        )
        response = client.post(
            RH_URL,
            json.dumps(event),
            content_type="application/json",
            headers={"timestamp": timestamp, "returnhelper-signature": signed},
        )
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
    rh_call.refresh_from_db()
    assert rh_call.tracking_number == ""


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "updateResendStatus"},
        {"resend": {}},
        {"action": "updateResendStatus", "resend": {"resendId": 1, "resendStatusCode": "x"}},
    ],
)
def test_a_malformed_body_gets_400_and_records_nothing(
    client: Client, rh_call: ProviderCall, payload: dict[str, Any]
) -> None:
    assert rh_post(client, payload).status_code == 400
    assert WebhookEvent.objects.count() == 0


def test_new_inventory_with_string_ids_is_mirrored(client: Client, db: None) -> None:
    event = {
        "category": "newInventoryCreated",
        "action": "newInventoryCreated",
        "eventTime": datetime.now(UTC).isoformat(),
        "returnInventory": {
            "returnInventoryId": "19973",
            "warehouseId": "22",
            "handlingCode": 4,
            "handlingStatusCode": 0,
            "rma": "TWN-20-230101-D12345-36",
            "sku": "SKU-1",
            "createOn": "2026-11-20T10:00:00Z",
            "modifyOn": "2026-11-20T10:00:00Z",
        },
        "shipment": {"shipmentId": "5"},
        "version": "1",
    }
    assert rh_post(client, event).status_code == 200
    inventory = ReturnInventory.objects.get(external_id="19973")
    assert (inventory.warehouse_id, inventory.handling_code, inventory.rma) == (
        "22",
        "ohd",
        "TWN-20-230101-D12345-36",
    )


def cb_post(client: Client, payload: dict[str, Any], password: str | None = None):  # type: ignore[no-untyped-def]
    config = settings.CHARGEBEE
    token = base64.b64encode(
        f"{config['webhook_username']}:{password or config['webhook_password']}".encode()
    ).decode()
    return client.post(
        "/webhooks/chargebee/",
        json.dumps(payload),
        content_type="application/json",
        headers={"Authorization": f"Basic {token}"},
    )


def cb_event(event_id: str, updated_at: int, status: str) -> dict[str, Any]:
    order = {
        "id": "ord_hook1",
        "status": status,
        "updated_at": updated_at,
        "created_at": 1_700_000_000,
        "resent_orders": [{"order_id": "ord_r1"}],
        "resent_status": "partially_resent",
        "order_line_items": [{"id": "li_1", "fulfillment_quantity": 2, "description": "Mug"}],
    }
    return {
        "id": event_id,
        "event_type": "order_updated",
        "occurred_at": updated_at,
        "content": {"order": order},
    }


def test_chargebee_events_update_the_mirror_and_never_go_back_in_time(
    client: Client, db: None
) -> None:
    assert cb_post(client, cb_event("ev_2", 1_700_000_200, "shipped")).status_code == 200
    assert cb_post(client, cb_event("ev_1", 1_700_000_100, "queued")).status_code == 200
    order = Order.objects.get(external_id="ord_hook1")
    assert (order.status, order.resend_count, order.resent_status) == (
        "shipped",
        1,
        "partially_resent",
    )
    assert order.line_items.get().quantity == 2


def test_chargebee_wrong_password_is_refused(client: Client, db: None) -> None:
    assert cb_post(client, cb_event("ev_3", 1, "queued"), password="guess").status_code == 401
    assert not Order.objects.exists() and not WebhookEvent.objects.exists()


def junction_post(client: Client, payload: dict[str, Any], secret: str | None = None):  # type: ignore[no-untyped-def]
    body = json.dumps(payload).encode()
    msg_id, timestamp = "msg_1", str(int(datetime.now(UTC).timestamp()))
    signature = svix_signature(
        secret or settings.JUNCTION["webhook_secret"], msg_id, timestamp, body
    )
    return client.post(
        "/webhooks/junction/",
        body,
        content_type="application/json",
        headers={"svix-id": msg_id, "svix-timestamp": timestamp, "svix-signature": signature},
    )


def test_junction_replayed_event_is_deduplicated_on_content(client: Client, db: None) -> None:
    order = {
        "id": "0ee312e2-6773-4a21-a6e1-506882cd98ed",
        "updated_at": "2026-11-20T10:00:00Z",
        "created_at": "2026-11-01T10:00:00Z",
        "patient_details": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "Ada@Example.com",
        },
        "last_event": {"id": 7, "status": "received.testkit.ordered"},
    }
    event = {"event_type": "labtest.order.updated", "data": order}
    assert junction_post(client, event).status_code == 200
    assert junction_post(client, event).json()["outcome"].startswith("duplicate")
    mirrored = Order.objects.get(external_id=order["id"])
    assert (mirrored.customer_email, mirrored.status) == (
        "ada@example.com",
        "received.testkit.ordered",
    )
    bad = junction_post(
        client, event, secret="whsec_" + base64.b64encode(b"wrong-secret-wrong-secret").decode()
    )
    assert bad.status_code == 401


# --- Over real HTTP: the sandbox signs and sends, the live server answers -----------------------


def emit(sandbox: Any, **event: Any) -> dict[str, Any]:
    """Have the sandbox send one webhook now; returns its record, with our answer's status."""
    answer = requests.post(f"{sandbox.url}/_sandbox/emit", json=event, timeout=30)
    answer.raise_for_status()
    [sent] = answer.json()["sent"]
    return dict(sent)


def an_event_of(sandbox: Any, provider: str) -> dict[str, Any]:
    state = sandbox.state
    if provider == "chargebee":
        return {"provider": provider, "order_id": min(state.chargebee_orders)}
    if provider == "junction":
        return {"provider": provider, "order_id": min(state.junction_orders)}
    return {"provider": provider, "returnInventoryId": min(state.rh_inventories)}


BLANK_SECRETS = {
    # (the app's settings, the sandbox's signing config)
    "chargebee": (
        {"webhook_username": "", "webhook_password": ""},
        {"chargebee_webhook_username": "", "chargebee_webhook_password": ""},  # Basic Og==
    ),
    "returnhelper": ({"webhook_signing_key": ""}, {"rh_signing_key": ""}),
    "junction": ({"webhook_secret": "whsec_"}, {"junction_webhook_secret": "whsec_"}),
}


@pytest.mark.parametrize("provider", sorted(BLANK_SECRETS))
def test_a_webhook_made_with_a_blank_secret_is_refused(
    app_webhooks: Any, settings: Any, provider: str
) -> None:
    """Start-up refuses a blank secret (tests/test_settings.py); should one get through anyway, a
    request made with the same blank secret still does not pass."""
    ours, theirs = BLANK_SECRETS[provider]
    name = provider.upper()
    setattr(settings, name, {**getattr(settings, name), **ours})
    requests.post(f"{app_webhooks.url}/_sandbox/config", json=theirs, timeout=10).raise_for_status()
    sent = emit(app_webhooks, **an_event_of(app_webhooks, provider))
    assert sent["status"] == 401
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("provider", sorted(BLANK_SECRETS))
def test_a_webhook_made_with_the_configured_secret_passes(app_webhooks: Any, provider: str) -> None:
    """The control for the test above: the same event, properly signed, is recorded."""
    sent = emit(app_webhooks, **an_event_of(app_webhooks, provider))
    assert sent["status"] == 200, sent["response_body"]
    assert WebhookEvent.objects.filter(provider=provider).count() == 1


def send_signed(sandbox: Any, provider: str, body: str) -> dict[str, Any]:
    """Have the sandbox sign `body` as the provider would and send it as it is."""
    answer = requests.post(
        f"{sandbox.url}/_sandbox/webhooks/send",
        json={"provider": provider, "body": body},
        timeout=60,
    )
    answer.raise_for_status()
    [sent] = answer.json()["sent"]
    return dict(sent)


def rh_status_text(notification: str, shipment: str) -> str:
    """An updateResendStatus event for rh_call's resend 123, as JSON text with `shipment` (JSON
    text too, maybe not quite JSON) as its one shipment."""
    event = {**status_event(2), "notificationId": notification, "resendShipmentList": ["SHIP"]}
    return json.dumps(event).replace('"SHIP"', shipment)


@pytest.mark.parametrize(
    "shipment",
    [
        '{"resendShipmentId": 9, "cost": NaN}',  # PostgreSQL's jsonb has no NaN
        '{"resendShipmentId": 9, "chargeableWeight": Infinity}',
        '{"resendShipmentId": 9, "cost": 1e999}',  # a float past the largest is infinite
        '{"resendShipmentId": 9, "remarks": "a\\u0000b"}',  # no NUL in PostgreSQL text
        '{"resendShipmentId": 9, "remarks": "\\ud800"}',  # a lone surrogate is no UTF-8
    ],
)
def test_an_event_the_database_cannot_store_is_refused_not_taken_for_a_duplicate(
    app_webhooks: Any, rh_call: ProviderCall, shipment: str
) -> None:
    """A new notificationId is a new event: it is recorded, or refused with a 4xx so that the
    provider sends it again; never answered 200 with nothing recorded."""
    sent = send_signed(app_webhooks, "returnhelper", rh_status_text("n-new-1", shipment))
    assert 400 <= sent["status"] < 500, sent["response_body"]
    assert not WebhookEvent.objects.exists()
    rh_call.refresh_from_db()
    assert rh_call.provider_status == "pending"


def test_an_event_that_breaks_a_rule_of_the_mirror_is_refused_and_can_come_again(
    app_webhooks: Any,
) -> None:
    """A negative quantity breaks the line table's CHECK: an IntegrityError that is not the
    dedupe key's, so not a duplicate. Corrected and sent again with the same event id, it is
    recorded."""
    bad = cb_event("ev_neg", 1_700_000_300, "shipped")
    bad["content"]["order"]["order_line_items"][0]["fulfillment_quantity"] = -1
    refused = send_signed(app_webhooks, "chargebee", json.dumps(bad))
    assert 400 <= refused["status"] < 500, refused["response_body"]
    assert not WebhookEvent.objects.exists() and not Order.objects.exists()
    fixed = send_signed(app_webhooks, "chargebee", json.dumps(cb_event("ev_neg", 1, "shipped")))
    assert fixed["status"] == 200 and "duplicate" not in fixed["response_body"]
    assert Order.objects.get(external_id="ord_hook1").line_items.get().quantity == 2


def test_a_redelivery_over_http_is_a_duplicate(app_webhooks: Any) -> None:
    first = emit(app_webhooks, **an_event_of(app_webhooks, "chargebee"))
    again = requests.post(
        f"{app_webhooks.url}/_sandbox/webhooks/redeliver", json={"seq": first["seq"]}, timeout=30
    ).json()["sent"][0]
    assert (first["status"], again["status"]) == (200, 200)
    assert json.loads(again["response_body"])["outcome"] == "duplicate: already applied"
    assert WebhookEvent.objects.count() == 1


def odd(payload: dict[str, Any], **changes: Any) -> str:
    """`payload` as JSON text with `changes` made at paths ("content__order__id")."""
    payload = json.loads(json.dumps(payload))
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = payload
        for name in parents:
            target = target[name]
        target[last] = value
    return json.dumps(payload)


JUNCTION_ORDER = {
    "event_type": "labtest.order.updated",
    "data": {
        "id": "0ee312e2-6773-4a21-a6e1-506882cd98ed",
        "updated_at": "2026-11-20T10:00:00Z",
        "last_event": {"id": 7, "status": "received.testkit.ordered"},
        "patient_details": {"first_name": "Ada", "email": "ada@example.com"},
    },
}
RH_INVENTORY = {
    "category": "newInventoryCreated",
    "action": "newInventoryCreated",
    "notificationId": "n-odd",
    "returnInventory": {"returnInventoryId": "19973", "warehouseId": "22", "handlingCode": 4},
}
CB_ORDER = cb_event("ev_odd", 1_700_000_000, "shipped")


ODD_SHAPES = {
    "junction last_event a string": (
        "junction",
        odd(JUNCTION_ORDER, data__last_event="received.testkit.ordered"),
    ),
    "junction patient a list": ("junction", odd(JUNCTION_ORDER, data__patient_details=["Ada"])),
    "junction data a list": ("junction", odd(JUNCTION_ORDER, data=[1, 2])),
    "chargebee address a number": (
        "chargebee",
        odd(CB_ORDER, content__order__shipping_address=5),
    ),
    "chargebee lines strings": (
        "chargebee",
        odd(CB_ORDER, content__order__order_line_items=["li_1", "li_2"]),
    ),
    "chargebee id too long": ("chargebee", odd(CB_ORDER, content__order__id="o" * 65)),
    "chargebee time past 9999": ("chargebee", odd(CB_ORDER, content__order__updated_at=10**20)),
    "chargebee content a string": ("chargebee", odd(CB_ORDER, content="order")),
    "returnhelper 100,000 brackets": ("returnhelper", "[" * 100_000 + "]" * 100_000),
    "returnhelper id too long": (
        "returnhelper",
        odd(RH_INVENTORY, returnInventory__returnInventoryId="9" * 40),
    ),
    "returnhelper quantity negative": (
        "returnhelper",
        odd(RH_INVENTORY, returnInventory__quantity=-3),
    ),
    "returnhelper code an object": (
        "returnhelper",
        odd(RH_INVENTORY, returnInventory__handlingCode={"code": 4}),
    ),
    "returnhelper action a list": ("returnhelper", odd(RH_INVENTORY, action=["x"])),
    "returnhelper shipments an object": (
        "returnhelper",
        odd(status_event(3), resendShipmentList={"trackingNumber": "1Z"}),
    ),
    "returnhelper status code not ascii": (
        "returnhelper",
        odd(status_event(3), resend__resendStatusCode="²"),
    ),
}


@pytest.mark.parametrize(("provider", "body"), ODD_SHAPES.values(), ids=ODD_SHAPES.keys())
def test_a_signed_event_of_odd_shape_gets_400_and_changes_nothing(
    app_webhooks: Any, provider: str, body: str
) -> None:
    sent = send_signed(app_webhooks, provider, body)
    assert sent["status"] == 400, sent["response_body"]
    assert "malformed event" in sent["response_body"]
    assert not WebhookEvent.objects.exists()
    assert not Order.objects.exists() and not ReturnInventory.objects.exists()


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("junction", json.dumps(JUNCTION_ORDER)),
        ("chargebee", json.dumps(CB_ORDER)),
        ("returnhelper", json.dumps(RH_INVENTORY)),
    ],
)
def test_the_same_events_in_their_proper_shape_are_applied(
    app_webhooks: Any, provider: str, body: str
) -> None:
    """The control for the test above."""
    sent = send_signed(app_webhooks, provider, body)
    assert sent["status"] == 200, sent["response_body"]
    assert json.loads(sent["response_body"])["outcome"] == "mirror updated"


@pytest.mark.parametrize(
    "signature",
    ["v1", "x" * 40, "v1,", "v2," + "A" * 44, ""],
)
def test_a_junction_signature_header_of_odd_form_is_refused(
    client: Client, db: None, signature: str
) -> None:
    """Never taken for a signature that matched (svix raised ValueError on a header without a
    comma, the same error its JSON reading raises after a match)."""
    now = str(int(datetime.now(UTC).timestamp()))
    response = client.post(
        "/webhooks/junction/",
        json.dumps(JUNCTION_ORDER),
        content_type="application/json",
        headers={"svix-id": "msg_forged", "svix-timestamp": now, "svix-signature": signature},
    )
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists() and not Order.objects.exists()


@pytest.mark.parametrize(
    "timestamp", ["2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "9" * 5000, "１２３"]
)
def test_an_unreadable_return_helper_timestamp_is_refused(
    client: Client, db: None, timestamp: str
) -> None:
    response = client.post(
        RH_URL,
        json.dumps(RH_INVENTORY),
        content_type="application/json",
        headers={"timestamp": timestamp, "returnhelper-signature": "AAAA"},
    )
    assert response.status_code == 401


def test_a_junction_signature_older_than_five_minutes_is_refused(client: Client, db: None) -> None:
    body = json.dumps(JUNCTION_ORDER).encode()
    stale = str(int((datetime.now(UTC) - timedelta(minutes=6)).timestamp()))
    signature = svix_signature(settings.JUNCTION["webhook_secret"], "msg_old", stale, body)
    response = client.post(
        "/webhooks/junction/",
        body,
        content_type="application/json",
        headers={"svix-id": "msg_old", "svix-timestamp": stale, "svix-signature": signature},
    )
    assert response.status_code == 401
