"""Chargebee: POST /api/v2/orders/{id}/resend (rules, idempotency) and the order reads."""

from __future__ import annotations

import time
from typing import Any

import requests

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import DEFAULTS, Client, fresh_chargebee_order, ledger

pytestmark: list[object] = []


def resend_path(order_id: str) -> str:
    return f"/api/v2/orders/{order_id}/resend"


def lines_form(*pairs: tuple[str, int]) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for index, (line_id, quantity) in enumerate(pairs):
        form[f"order_line_items[id][{index}]"] = line_id
        form[f"order_line_items[fulfillment_quantity][{index}]"] = quantity
    return form


def assert_error(
    answer: requests.Response, status: int, code: str, param: str | None = None
) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["api_error_code"] == code and body["http_status_code"] == status
    assert body["message"] and body["type"] in {"invalid_request", "operation_failed"}
    if param is not None:
        assert body["param"] == param


def with_resends(sandbox: RunningSandbox, count: int) -> dict[str, Any]:
    order: dict[str, Any] = next(
        o
        for o in sandbox.state.chargebee_orders.values()
        if len(o["resent_orders"]) == count and o["status"] != "cancelled"
    )
    return order


def test_auth_is_basic_with_the_api_key_as_user_name(sandbox: RunningSandbox) -> None:
    order = fresh_chargebee_order(sandbox)
    for client in (
        Client(sandbox.chargebee_url),
        Client(sandbox.chargebee_url, auth=("wrong_key", "")),
        Client(sandbox.chargebee_url, headers={"Authorization": "Bearer test_sandbox_key"}),
    ):
        answer = client.post(resend_path(order["id"]))
        assert answer.status_code == 401
        assert answer.json()["api_error_code"] == "api_authentication_failed"
        assert answer.json()["http_status_code"] == 401
    ok = Client(sandbox.chargebee_url, auth=(DEFAULTS.chargebee_api_key, ""))
    assert ok.get(f"/api/v2/orders/{order['id']}").status_code == 200


def test_partial_resend_creates_a_new_order_and_marks_the_original(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    order = fresh_chargebee_order(sandbox, lines=2)
    line = order["order_line_items"][0]
    answer = chargebee.post(
        resend_path(order["id"]),
        data={"resend_reason": "Damaged", **lines_form((line["id"], 1))},
    )
    assert answer.status_code == 200, answer.text
    new = answer.json()["order"]
    assert new["id"] != order["id"] and new["is_resent"] is True
    assert new["original_order_id"] == order["id"] and new["resend_reason"] == "Damaged"
    assert [(li["sku"], li["fulfillment_quantity"]) for li in new["order_line_items"]] == [
        (line["sku"], 1)
    ]
    original = chargebee.get(f"/api/v2/orders/{order['id']}").json()["order"]
    assert original["resent_status"] == "partially_resent"
    assert original["status"] == order["status"]
    assert original["resent_orders"] == [{"order_id": new["id"], "reason": "Damaged"}]
    assert original["updated_at"] >= order["updated_at"]
    [entry] = ledger(control, "chargebee")
    assert entry["operation"] == "resend" and entry["target"] == order["id"]
    assert entry["result"] == {"order_id": new["id"]} and entry["details"]["full"] is False


def test_full_resend_cancels_the_original(sandbox: RunningSandbox, chargebee: Client) -> None:
    order = fresh_chargebee_order(sandbox, lines=2)
    future = int(time.time()) + 86400
    answer = chargebee.post(resend_path(order["id"]), data={"shipping_date": future})
    assert answer.status_code == 200
    new = answer.json()["order"]
    assert len(new["order_line_items"]) == len(order["order_line_items"])
    assert new["shipping_date"] == future
    original = chargebee.get(f"/api/v2/orders/{order['id']}").json()["order"]
    assert original["status"] == "cancelled"
    assert original["cancellation_reason"] == "order_resent"
    assert original["resent_status"] == "fully_resent"
    again = chargebee.post(resend_path(order["id"]))
    assert_error(again, 400, "invalid_state_for_request")


def test_at_most_five_resends_per_order(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    at_cap = with_resends(sandbox, 5)
    line = at_cap["order_line_items"][0]
    assert_error(
        chargebee.post(resend_path(at_cap["id"]), data=lines_form((line["id"], 1))),
        400,
        "invalid_state_for_request",
    )
    four = with_resends(sandbox, 4)
    line = four["order_line_items"][0]
    assert (
        chargebee.post(resend_path(four["id"]), data=lines_form((line["id"], 1))).status_code == 200
    )
    assert_error(
        chargebee.post(resend_path(four["id"]), data=lines_form((line["id"], 1))),
        400,
        "invalid_state_for_request",
    )
    assert len(ledger(control, "chargebee")) == 1


def test_cancelled_and_unknown_orders(sandbox: RunningSandbox, chargebee: Client) -> None:
    cancelled = next(
        o
        for o in sandbox.state.chargebee_orders.values()
        if o["status"] == "cancelled" and not o["resent_orders"]
    )
    assert_error(chargebee.post(resend_path(cancelled["id"])), 400, "invalid_state_for_request")
    assert_error(chargebee.post(resend_path("ord_missing")), 404, "resource_not_found")
    assert_error(chargebee.get("/api/v2/orders/ord_missing"), 404, "resource_not_found")


def test_line_items_must_belong_to_the_order_within_quantity(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    order = fresh_chargebee_order(sandbox)
    line = order["order_line_items"][0]
    limit = line["fulfillment_quantity"]
    qty_param = "order_line_items[fulfillment_quantity][0]"
    for quantity in (0, limit + 1, -1):
        answer = chargebee.post(resend_path(order["id"]), data=lines_form((line["id"], quantity)))
        assert_error(answer, 400, "param_wrong_value", qty_param)
    foreign = fresh_chargebee_order(sandbox, lines=1)
    other = next(o for o in sandbox.state.chargebee_orders.values() if o["id"] != foreign["id"])[
        "order_line_items"
    ][0]["id"]
    answer = chargebee.post(resend_path(foreign["id"]), data=lines_form((other, 1)))
    assert_error(answer, 400, "param_wrong_value", "order_line_items[id][0]")
    answer = chargebee.post(resend_path(order["id"]), data={"order_line_items[0][id]": line["id"]})
    assert_error(answer, 400, "param_wrong_value", "order_line_items[0][id]")
    assert (
        chargebee.post(resend_path(order["id"]), data=lines_form((line["id"], limit))).status_code
        == 200
    )
    assert len(ledger(control)) == 1


def test_reason_codes_are_case_sensitive_and_bounded(
    sandbox: RunningSandbox, chargebee: Client
) -> None:
    order = fresh_chargebee_order(sandbox)
    line = order["order_line_items"][0]
    for reason in ("damaged", "Not a code", "x" * 101):
        answer = chargebee.post(
            resend_path(order["id"]), data={"resend_reason": reason, **lines_form((line["id"], 1))}
        )
        assert_error(answer, 400, "param_wrong_value", "resend_reason")
    # optional while the site does not mark it mandatory
    assert (
        chargebee.post(resend_path(order["id"]), data=lines_form((line["id"], 1))).status_code
        == 200
    )


def test_reason_mandatory_switch(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    control.post("/reset", json={"reason_mandatory": True})
    order = fresh_chargebee_order(sandbox)
    line = order["order_line_items"][0]
    answer = chargebee.post(resend_path(order["id"]), data=lines_form((line["id"], 1)))
    assert_error(answer, 400, "param_wrong_value", "resend_reason")
    answer = chargebee.post(
        resend_path(order["id"]),
        data={"resend_reason": "Wrong Item", **lines_form((line["id"], 1))},
    )
    assert answer.status_code == 200


def test_shipping_date_must_be_in_the_future_and_body_form_encoded(
    sandbox: RunningSandbox, chargebee: Client
) -> None:
    order = fresh_chargebee_order(sandbox)
    past = int(time.time()) - 86400
    assert_error(
        chargebee.post(resend_path(order["id"]), data={"shipping_date": past}),
        400,
        "param_wrong_value",
        "shipping_date",
    )
    answer = chargebee.post(resend_path(order["id"]), json={"resend_reason": "Damaged"})
    assert answer.status_code == 400 and answer.json()["type"] == "invalid_request"


def test_idempotency_key_replays_without_a_second_effect(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    order = fresh_chargebee_order(sandbox)
    line = order["order_line_items"][0]
    form = {"resend_reason": "Damaged", **lines_form((line["id"], 1))}
    key = {"chargebee-idempotency-key": "3f0e5b7c-resend-1"}
    first = chargebee.post(resend_path(order["id"]), data=form, headers=key)
    assert first.status_code == 200 and "chargebee-idempotency-replayed" not in first.headers
    second = chargebee.post(resend_path(order["id"]), data=form, headers=key)
    assert second.status_code == 200
    assert second.headers["chargebee-idempotency-replayed"] == "true"
    assert second.json() == first.json()
    [entry] = ledger(control, "chargebee")
    assert entry["idempotency_key"] == "3f0e5b7c-resend-1"
    assert len(chargebee.get(f"/api/v2/orders/{order['id']}").json()["order"]["resent_orders"]) == 1
    # the same key with different parameters is refused
    changed = chargebee.post(
        resend_path(order["id"]), data={**form, "resend_reason": "Wrong Item"}, headers=key
    )
    assert_error(changed, 409, "duplicate_entry", "chargebee-idempotency-key")
    too_long = chargebee.post(
        resend_path(order["id"]), data=form, headers={"chargebee-idempotency-key": "k" * 101}
    )
    assert_error(too_long, 400, "param_wrong_value")
    assert len(ledger(control)) == 1


def test_idempotency_window_can_be_shortened(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    control.post("/reset", json={"idempotency_window_seconds": 0.2})
    order = fresh_chargebee_order(sandbox)
    form = lines_form((order["order_line_items"][0]["id"], 1))
    key = {"chargebee-idempotency-key": "short-window"}
    assert chargebee.post(resend_path(order["id"]), data=form, headers=key).status_code == 200
    time.sleep(0.3)
    late = chargebee.post(resend_path(order["id"]), data=form, headers=key)
    assert late.status_code == 200 and "chargebee-idempotency-replayed" not in late.headers
    assert len(ledger(control, "chargebee")) == 2  # the window passed: a second real resend


def test_list_orders_paginates_with_an_opaque_offset(
    sandbox: RunningSandbox, chargebee: Client
) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 100, "sort_by[asc]": "updated_at"}
    stamps: list[int] = []
    while True:
        page = chargebee.get("/api/v2/orders", params=params).json()
        seen += [item["order"]["id"] for item in page["list"]]
        stamps += [item["order"]["updated_at"] for item in page["list"]]
        if "next_offset" not in page:
            break
        params["offset"] = page["next_offset"]
    assert sorted(seen) == sorted(sandbox.state.chargebee_orders) and len(set(seen)) == len(seen)
    assert stamps == sorted(stamps)
    assert len(chargebee.get("/api/v2/orders").json()["list"]) == 10
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": "garbage"}, {"sort_by[asc]": "id"}):
        assert (
            chargebee.get("/api/v2/orders", params=bad).json()["api_error_code"]
            == "param_wrong_value"
        )


def test_list_orders_filters_by_updated_at(sandbox: RunningSandbox, chargebee: Client) -> None:
    cutoff = int(time.time()) - 20 * 86400
    page = chargebee.get(
        "/api/v2/orders", params={"limit": 100, "updated_at[after]": cutoff}
    ).json()
    expected = [o for o in sandbox.state.chargebee_orders.values() if o["updated_at"] > cutoff]
    assert page["list"] and all(item["order"]["updated_at"] > cutoff for item in page["list"])
    assert len(page["list"]) == min(100, len(expected))
    resent = chargebee.get("/api/v2/orders", params={"limit": 100, "is_resent[is]": "true"}).json()
    assert resent["list"] and all(item["order"]["is_resent"] for item in resent["list"])
