"""Fault injection: latency, 5xx, 429 bursts, hangs, and "apply, then drop the reply"."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import (
    Client,
    eligible_inventories,
    fresh_chargebee_order,
    ledger,
    us_shipment,
    wait_until,
)

pytestmark: list[object] = []


def set_faults(control: Client, **fault: Any) -> None:
    answer = control.post("/faults", json=fault)
    assert answer.status_code == 200, answer.text


def resend_form(order: dict[str, Any]) -> dict[str, Any]:
    line = order["order_line_items"][0]
    return {"order_line_items[id][0]": line["id"], "order_line_items[fulfillment_quantity][0]": 1}


def test_latency(sandbox: RunningSandbox, junction: Client, control: Client) -> None:
    set_faults(control, provider="junction", latency_ms=150)
    started = time.monotonic()
    assert junction.get("/v3/orders", params={"size": 1}).status_code == 200
    assert time.monotonic() - started >= 0.15


def test_server_errors_happen_before_anything_is_applied(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    set_faults(control, provider="chargebee", error_rate=1.0, error_status=503, error_count=2)
    order = fresh_chargebee_order(sandbox)
    for _ in range(2):
        answer = chargebee.post(f"/api/v2/orders/{order['id']}/resend", data=resend_form(order))
        assert answer.status_code == 503
        assert answer.json()["api_error_code"] == "internal_temporary_error"
        assert answer.json()["type"] == "operation_failed"
    assert ledger(control) == []
    # error_count is used up: the next request goes through
    assert (
        chargebee.post(f"/api/v2/orders/{order['id']}/resend", data=resend_form(order)).status_code
        == 200
    )
    assert len(ledger(control)) == 1


def test_error_rate_is_seeded(sandbox: RunningSandbox, junction: Client, control: Client) -> None:
    def pattern() -> list[int]:
        set_faults(control, provider="junction", error_rate=0.5, seed=7, error_status=502)
        return [junction.get("/v3/orders", params={"size": 1}).status_code for _ in range(12)]

    first = pattern()
    assert set(first) == {200, 502}
    assert pattern() == first


def test_plain_text_gateway_errors(rh: Client, control: Client) -> None:
    set_faults(control, provider="returnhelper", error_rate=1.0, error_status=502, error_plain=True)
    answer = rh.get("/resend/searchResend")
    assert answer.status_code == 502 and not answer.headers["Content-Type"].startswith(
        "application/json"
    )


def test_rate_limit_burst_answers_429_with_retry_after(
    sandbox: RunningSandbox, chargebee: Client, junction: Client, rh: Client, control: Client
) -> None:
    set_faults(control, provider="chargebee", rate_limit_burst=2, retry_after=3)
    order = fresh_chargebee_order(sandbox)
    for _ in range(2):
        limited = chargebee.post(f"/api/v2/orders/{order['id']}/resend", data=resend_form(order))
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
        assert limited.json()["api_error_code"] == "api_request_limit_exceeded"
    assert ledger(control) == []
    assert (
        chargebee.post(f"/api/v2/orders/{order['id']}/resend", data=resend_form(order)).status_code
        == 200
    )
    set_faults(control, provider="all", rate_limit_burst=1, retry_after=1)
    assert junction.get("/v3/orders").status_code == 429
    limited_rh = rh.get("/resend/searchResend")
    assert limited_rh.status_code == 429 and limited_rh.json()["meta"]["status"] == 429
    faults = control.get("/faults").json()["faults"]
    assert faults["junction"]["injected"]["rate_limit"] == 1


def test_hang_applies_after_the_client_gave_up(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    set_faults(control, provider="chargebee", hang_seconds=0.5, hang_count=1)
    order = fresh_chargebee_order(sandbox)
    key = {"chargebee-idempotency-key": "hang-1"}
    with pytest.raises(requests.Timeout):
        chargebee.post(
            f"/api/v2/orders/{order['id']}/resend",
            data=resend_form(order),
            headers=key,
            timeout=0.15,
        )
    entries = wait_until(lambda: ledger(control, "chargebee"))
    assert len(entries) == 1 and entries[0]["idempotency_key"] == "hang-1"
    retry = chargebee.post(
        f"/api/v2/orders/{order['id']}/resend", data=resend_form(order), headers=key
    )
    assert retry.headers["chargebee-idempotency-replayed"] == "true"
    assert len(ledger(control, "chargebee")) == 1


def test_a_request_hanging_across_a_reset_never_lands_in_the_new_ledger(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    """Each test resets the sandbox; a hang left over from the previous one must not apply."""
    set_faults(control, provider="chargebee", hang_seconds=0.6, hang_count=1)
    order = fresh_chargebee_order(sandbox)
    with pytest.raises(requests.Timeout):
        chargebee.post(
            f"/api/v2/orders/{order['id']}/resend", data=resend_form(order), timeout=0.15
        )
    assert control.post("/reset", json={}).status_code == 200
    time.sleep(2.0)  # well past the 0.6 s hang, even on a busy machine
    assert ledger(control, "chargebee") == []


def test_drop_after_apply_chargebee(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    set_faults(control, provider="chargebee", drop_after_apply=1)
    order = fresh_chargebee_order(sandbox)
    key = {"chargebee-idempotency-key": "drop-1"}
    with pytest.raises(requests.ConnectionError):
        chargebee.post(f"/api/v2/orders/{order['id']}/resend", data=resend_form(order), headers=key)
    [entry] = ledger(control, "chargebee")
    assert entry["target"] == order["id"] and entry["idempotency_key"] == "drop-1"
    retry = chargebee.post(
        f"/api/v2/orders/{order['id']}/resend", data=resend_form(order), headers=key
    )
    assert retry.status_code == 200 and retry.headers["chargebee-idempotency-replayed"] == "true"
    assert retry.json()["order"]["id"] == entry["result"]["order_id"]
    assert len(ledger(control)) == 1
    logged = [r for r in control.get("/requests").json()["requests"] if r["method"] == "POST"]
    assert [r["status"] for r in logged] == ["dropped", 200]
    assert logged[0]["fault"] == "drop_after_apply"


def test_drop_after_apply_returnhelper_and_junction(
    sandbox: RunningSandbox, rh: Client, junction: Client, control: Client
) -> None:
    set_faults(control, provider="returnhelper", drop_after_apply=1)
    body = {
        "returnInventoryIdList": eligible_inventories(sandbox, 11)[:1],
        "resendShipment": us_shipment(),
    }
    key = {"x-returnhelper-idempotency-key": "rh-drop"}
    with pytest.raises(requests.ConnectionError):
        rh.post("/Resend/createResend", json=body, headers=key)
    [entry] = ledger(control, "returnhelper")
    retry = rh.post("/Resend/createResend", json=body, headers=key).json()
    assert retry["resendId"] == entry["result"]["resendId"]
    assert len(ledger(control)) == 1
    # reads are not state-changing, so they are never dropped
    set_faults(control, provider="junction", drop_after_apply=1)
    assert junction.get("/v3/orders", params={"size": 1}).status_code == 200
    with pytest.raises(requests.ConnectionError):
        junction.post(
            "/v3/order/resend_events", json={"order_ids": sorted(sandbox.state.junction_orders)[:1]}
        )
    assert len(ledger(control, "junction")) == 1


def test_clearing_faults(junction: Client, control: Client) -> None:
    set_faults(control, provider="junction", error_rate=1.0)
    assert junction.get("/v3/orders").status_code == 503
    assert control.delete("/faults").json() == {"faults": {}}
    assert junction.get("/v3/orders").status_code == 200
    assert control.post("/faults", json={"provider": "nope"}).status_code == 400
    assert control.post("/faults", json={"provider": "junction", "bogus": 1}).status_code == 400


def test_error_after_apply_answers_5xx_for_an_applied_request(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    """A gateway's 502 after Chargebee acted: the ledger has the effect, and the same key then
    gets Chargebee's stored answer, not a second resend."""
    set_faults(
        control, provider="chargebee", error_after_apply=1, error_status=502, error_plain=True
    )
    order = fresh_chargebee_order(sandbox)
    key = {"chargebee-idempotency-key": "gateway-1"}
    answer = chargebee.post(
        f"/api/v2/orders/{order['id']}/resend", data=resend_form(order), headers=key
    )
    assert answer.status_code == 502
    [entry] = ledger(control, "chargebee")
    assert entry["idempotency_key"] == "gateway-1"
    retry = chargebee.post(
        f"/api/v2/orders/{order['id']}/resend", data=resend_form(order), headers=key
    )
    assert retry.status_code == 200 and retry.headers["chargebee-idempotency-replayed"] == "true"
    assert retry.json()["order"]["id"] == entry["result"]["order_id"]
    assert len(ledger(control)) == 1
    # reads are never answered with it, and the count is used up
    assert chargebee.get(f"/api/v2/orders/{order['id']}").status_code == 200
    faults = control.get("/faults").json()["faults"]["chargebee"]
    assert faults["injected"]["error_after_apply"] == 1 and faults["error_after_apply"] == 0


def test_fault_shares_are_seeded_and_apply_only_where_they_should(
    sandbox: RunningSandbox, junction: Client, control: Client
) -> None:
    ids = sorted(sandbox.state.junction_orders)

    def run() -> list[str]:
        control.post("/reset", json={})
        set_faults(
            control,
            provider="junction",
            seed=3,
            rate_limit_rate=0.3,
            drop_rate=0.3,
            error_after_apply_rate=0.3,
        )
        seen = []
        for index in range(30):
            try:
                answer = junction.post(
                    "/v3/order/resend_events", json={"order_ids": [ids[index % len(ids)]]}
                )
            except requests.ConnectionError:
                seen.append("dropped")
            else:
                seen.append(str(answer.status_code))
        return seen

    first = run()
    assert {"429", "503", "dropped", "200"} <= set(first)
    applied = first.count("200") + first.count("503") + first.count("dropped")
    assert len(ledger(control, "junction")) == applied  # 429s apply nothing; the rest did
    assert run() == first
    assert control.post("/faults", json={"provider": "junction", "drop_rate": 2}).status_code == 400


def test_hang_rate_hangs_a_share_of_requests(
    sandbox: RunningSandbox, junction: Client, control: Client
) -> None:
    set_faults(control, provider="junction", hang_seconds=0.3, hang_rate=0.5, seed=11)
    timings = []
    for _ in range(12):
        started = time.monotonic()
        assert junction.get("/v3/orders", params={"size": 1}).status_code == 200
        timings.append(time.monotonic() - started)
    hung = control.get("/faults").json()["faults"]["junction"]["injected"]["hang"]
    assert 0 < hung < 12
    assert sum(t >= 0.3 for t in timings) == hung
