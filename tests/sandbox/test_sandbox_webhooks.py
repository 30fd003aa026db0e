"""Webhooks to the app: Return Helper HMAC, Junction Svix, Chargebee Basic auth."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from svix.webhooks import Webhook

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import (
    DEFAULTS,
    Client,
    Received,
    Receiver,
    eligible_inventories,
    us_shipment,
    wait_until,
)

pytestmark: list[object] = []


def rh_signature_ok(call: Received, url: str) -> bool:
    """Recompute Return Helper's signature as the app must."""
    key = base64.b64decode(DEFAULTS.rh_signing_key)
    message = ("POST" + url + call.headers["timestamp"]).encode() + call.body
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, call.headers["returnhelper-signature"])


def create_resend(rh: Client, ids: list[int], **shipment: str) -> int:
    body = {"returnInventoryIdList": ids, "resendShipment": us_shipment(**shipment)}
    resend_id: int = rh.post("/Resend/createResend", json=body).json()["resendId"]
    return resend_id


def webhooks_sent(control: Client, provider: str | None, count: int) -> list[dict[str, Any]]:
    """The sandbox's webhook log once it holds ``count`` deliveries (empty until then)."""
    params = {"provider": provider} if provider else {}
    sent: list[dict[str, Any]] = control.get("/webhooks", params=params).json()["webhooks"]
    return sent if len(sent) >= count else []


def test_resend_status_webhooks_are_signed_and_recorded(
    sandbox: RunningSandbox, rh: Client, control: Client, receiver: Receiver
) -> None:
    control.post("/reset", json={"webhook_url": receiver.url, "rh_auto_progress": True})
    ids = eligible_inventories(sandbox, 11)[:2]
    resend_id = create_resend(rh, ids)
    in_progress, completed = receiver.wait_for(2)
    for call in (in_progress, completed):
        assert call.path == "/hooks/"
        assert rh_signature_ok(call, receiver.url)
        body = call.json()
        assert body["category"] == "resend" and body["action"] == "updateResendStatus"
        assert body["notificationId"] and body["eventTime"].endswith("Z")
        datetime.fromisoformat(call.headers["timestamp"])
        assert body["resend"]["resendId"] == resend_id
        assert sorted(i["returnInventoryId"] for i in body["returnInventoryList"]) == ids
    assert in_progress.json()["resend"]["resendStatusCode"] == 2
    assert completed.json()["resend"]["resendStatusCode"] == 3
    assert completed.json()["resendShipmentList"][0]["trackingNumber"]
    assert in_progress.json()["notificationId"] != completed.json()["notificationId"]
    # a tampered body no longer matches
    tampered = Received(completed.path, completed.headers, completed.body.replace(b"3", b"4", 1))
    assert not rh_signature_ok(tampered, receiver.url)
    # The sandbox records a delivery once our receiver has answered it: wait for the second.
    sent = wait_until(lambda: webhooks_sent(control, "returnhelper", 2))
    assert [(w["event"], w["status"]) for w in sent] == [
        ("updateResendStatus", 200),
        ("updateResendStatus", 200),
    ]


def test_invalid_address_fails_the_resend(
    sandbox: RunningSandbox, rh: Client, control: Client, receiver: Receiver
) -> None:
    control.post("/reset", json={"webhook_url": receiver.url, "rh_auto_progress": True})
    create_resend(rh, eligible_inventories(sandbox, 11)[:1], shipmentStreet1="99 INVALID Street")
    _, failed = receiver.wait_for(2)
    assert failed.json()["resend"]["resendStatusCode"] == 4
    assert failed.json()["resendShipmentList"][0]["error"] == {"message": "Invalid address."}


def test_new_inventory_created_webhook(
    sandbox: RunningSandbox, rh: Client, control: Client, receiver: Receiver
) -> None:
    control.post("/config", json={"webhook_url": receiver.url})
    order_id = next(iter(sandbox.state.chargebee_orders))
    answer = control.post(
        "/emit",
        json={
            "provider": "returnhelper",
            "event": "newInventoryCreated",
            "inventory": {"warehouseId": 22, "orderRef": order_id},
        },
    ).json()
    [call] = receiver.wait_for(1)
    assert rh_signature_ok(call, receiver.url)
    body = call.json()
    assert body["category"] == body["action"] == "newInventoryCreated"
    inventory = body["returnInventory"]
    assert inventory["returnInventoryId"] == str(answer["returnInventoryId"])  # ids as strings
    assert inventory["warehouseId"] == "22" and inventory["handlingCode"] == "ohd"
    assert inventory["orderRef"] == order_id and body["shipment"]["referenceNumber"] == order_id
    assert isinstance(body["shipment"]["shipmentId"], str)
    assert answer["sent"][0]["status"] == 200
    # the new inventory can be resent from its warehouse
    created = rh.post(
        "/Resend/createResend",
        json={
            "returnInventoryIdList": [int(inventory["returnInventoryId"])],
            "resendShipment": us_shipment(
                shipmentServiceType="SHIPMENT_DHL_PAKET_FRA", shipmentCountryCode="deu"
            ),
        },
    )
    assert created.json()["meta"]["status"] == 200


def test_junction_webhooks_use_svix_signatures(
    sandbox: RunningSandbox, junction: Client, control: Client, receiver: Receiver
) -> None:
    control.post("/reset", json={"junction_webhook_url": receiver.url})
    order_id = sorted(sandbox.state.junction_orders)[0]
    assert (
        junction.post("/v3/order/resend_events", json={"order_ids": [order_id]}).status_code == 200
    )
    [call] = receiver.wait_for(1)
    Webhook(DEFAULTS.junction_webhook_secret).verify(call.body, call.headers)  # raises if bad
    payload = call.json()
    assert payload["data"]["id"] == order_id
    assert payload["event_type"].startswith("labtest.order.")
    assert payload["team_id"] and payload["client_user_id"]
    # by hand, as the docs describe
    key = base64.b64decode(DEFAULTS.junction_webhook_secret.removeprefix("whsec_"))
    signed = f"{call.headers['svix-id']}.{call.headers['svix-timestamp']}.".encode() + call.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert call.headers["svix-signature"] == f"v1,{expected}"
    # emitting with a new status appends an event first
    control.post("/emit", json={"provider": "junction", "order_id": order_id, "status": "lost"})
    _, second = receiver.wait_for(2)
    assert second.json()["data"]["last_event"]["status"].endswith(".lost")
    assert second.headers["svix-id"] != call.headers["svix-id"]


def test_chargebee_resend_sends_events_with_basic_auth(
    sandbox: RunningSandbox, chargebee: Client, control: Client, receiver: Receiver
) -> None:
    control.post("/reset", json={"chargebee_webhook_url": receiver.url})
    order = next(
        o
        for o in sandbox.state.chargebee_orders.values()
        if o["status"] == "delivered" and not o["resent_orders"]
    )
    new_id = chargebee.post(f"/api/v2/orders/{order['id']}/resend").json()["order"]["id"]
    resent, cancelled = receiver.wait_for(2)
    expected = (
        "Basic "
        + base64.b64encode(
            f"{DEFAULTS.chargebee_webhook_username}:{DEFAULTS.chargebee_webhook_password}".encode()
        ).decode()
    )
    assert resent.headers["authorization"] == expected
    recorded = wait_until(lambda: webhooks_sent(control, "chargebee", 2))
    assert {r["headers"]["Authorization"] for r in recorded} == {"***"}  # never the password
    assert resent.json()["event_type"] == "order_resent"
    assert resent.json()["content"]["order"]["id"] == new_id
    assert cancelled.json()["event_type"] == "order_cancelled"
    assert cancelled.json()["content"]["order"]["status"] == "cancelled"
    assert resent.json()["id"] != cancelled.json()["id"]
    # the header Chargebee documents suppresses webhooks
    other = next(
        o
        for o in sandbox.state.chargebee_orders.values()
        if o["status"] == "delivered" and not o["resent_orders"] and o["id"] != order["id"]
    )
    chargebee.post(
        f"/api/v2/orders/{other['id']}/resend", headers={"chargebee-event-webhook": "all-disabled"}
    )
    # Webhooks leave one after another from one queue: once an event queued after that resend
    # has arrived, anything the resend had queued would have arrived before it.
    control.post(
        "/emit", json={"provider": "chargebee", "order_id": other["id"], "async": True}
    ).raise_for_status()
    assert [call.json()["event_type"] for call in receiver.wait_for(3)] == [
        "order_resent",
        "order_cancelled",
        "order_updated",
    ]


def test_failed_delivery_is_recorded_and_retried(
    sandbox: RunningSandbox, control: Client, receiver: Receiver
) -> None:
    control.post("/reset", json={"webhook_url": receiver.url, "webhook_retries": 1})
    receiver.status = 500
    control.post(
        "/emit",
        json={"provider": "returnhelper", "returnInventoryId": min(sandbox.state.rh_inventories)},
    )
    first, retry = receiver.wait_for(2)
    assert first.json()["notificationId"] == retry.json()["notificationId"]
    sent = wait_until(lambda: webhooks_sent(control, None, 2))
    assert [(w["status"], w["attempt"]) for w in sent] == [(500, 1), (500, 2)]
    # a redelivery is a duplicate of the same notification
    receiver.status = 200
    redo = control.post("/webhooks/redeliver", json={"seq": 1}).json()["sent"][0]
    assert redo["status"] == 200 and redo["body"] == first.json()


def test_emit_without_a_url_returns_the_payload_only(
    sandbox: RunningSandbox, control: Client
) -> None:
    answer = control.post(
        "/emit",
        json={"provider": "chargebee", "order_id": next(iter(sandbox.state.chargebee_orders))},
    ).json()
    assert answer["sent"] == [] and "warning" in answer
    assert answer["payloads"][0]["event_type"] == "order_updated"
    assert datetime.fromtimestamp(answer["payloads"][0]["occurred_at"], UTC)


def test_any_body_can_be_signed_and_sent_as_it_is(
    sandbox: RunningSandbox, control: Client, receiver: Receiver
) -> None:
    """For tests of odd shapes: the body is not re-encoded, and its signature is right."""
    odd = '{"action": "updateResendStatus", "resend": {"cost": NaN}}'
    nested = "[" * 1000 + "]" * 1000
    for provider, body in (("returnhelper", odd), ("junction", nested), ("chargebee", "[1]")):
        answer = control.post(
            "/webhooks/send", json={"provider": provider, "body": body, "url": receiver.url}
        )
        assert answer.json()["sent"][0]["status"] == 200
    rh, junction, chargebee = receiver.wait_for(3)
    assert rh.body == odd.encode() and rh_signature_ok(rh, receiver.url)
    assert junction.body == nested.encode()
    Webhook(DEFAULTS.junction_webhook_secret).verify(junction.body, junction.headers)
    assert chargebee.body == b"[1]" and chargebee.headers["authorization"].startswith("Basic ")
    payload = control.post("/webhooks/send", json={"provider": "chargebee", "payload": {"a": 1}})
    assert payload.status_code == 400  # no URL configured and none given
