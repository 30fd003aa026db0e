"""The control API and running the sandbox as its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import (
    Client,
    eligible_inventories,
    fresh_chargebee_order,
    ledger,
    us_shipment,
)

pytestmark: list[object] = []

ROOT = Path(__file__).resolve().parents[2]


def test_health_and_config(control: Client) -> None:
    health = control.get("/health").json()
    assert health["status"] == "ok" and health["counts"]["chargebee_orders"] >= 200
    config = control.get("/config").json()
    assert config["group_max"] == 5 and config["junction_api_key"] == "sk_us_sandbox_key"
    assert control.post("/config", json={"group_max": 3}).json()["group_max"] == 3
    assert control.post("/config", json={"no_such_key": 1}).status_code == 400
    assert control.get("/nope").status_code == 404


def test_reset_restores_data_and_clears_everything(
    sandbox: RunningSandbox, chargebee: Client, control: Client
) -> None:
    order = fresh_chargebee_order(sandbox)
    status = order["status"]
    chargebee.post(f"/api/v2/orders/{order['id']}/resend")
    control.post("/faults", json={"provider": "junction", "error_rate": 1.0})
    assert ledger(control) and sandbox.state.cb_idempotency == {}
    answer = control.post("/reset", json={"group_max": 2, "seed": 42})
    assert answer.status_code == 200 and answer.json()["config"]["group_max"] == 2
    assert ledger(control) == [] and control.get("/faults").json()["faults"] == {}
    assert control.get("/requests").json()["requests"] == []
    restored = chargebee.get(f"/api/v2/orders/{order['id']}").json()["order"]
    assert restored["status"] == status and restored["resent_orders"] == []
    # a reset starts from the start-up config again, not from the previous reset
    assert control.post("/reset").json()["config"]["group_max"] == 5


def test_request_log_redacts_secrets_but_keeps_the_wire_format(
    sandbox: RunningSandbox, chargebee: Client, rh: Client, junction: Client, control: Client
) -> None:
    order = fresh_chargebee_order(sandbox)
    line = order["order_line_items"][0]["id"]
    chargebee.post(
        f"/api/v2/orders/{order['id']}/resend",
        data={"order_line_items[id][0]": line, "order_line_items[fulfillment_quantity][0]": 1},
        headers={"chargebee-idempotency-key": "visible-key"},
    )
    rh.post(
        "/Resend/createResend",
        json={
            "returnInventoryIdList": eligible_inventories(sandbox, 11)[:1],
            "resendShipment": us_shipment(),
        },
    )
    junction.get("/v3/orders", params={"size": 1})
    log = control.get("/requests").json()["requests"]
    cb, rh_call, jx = log[-3:]
    assert cb["provider"] == "chargebee" and cb["headers"]["authorization"] == "***"
    assert cb["headers"]["chargebee-idempotency-key"] == "visible-key"
    assert cb["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert "order_line_items%5Bid%5D%5B0%5D=" in cb["body"]
    assert (
        rh_call["headers"]["x-rr-apikey"] == "***" and rh_call["headers"]["x-rr-apitoken"] == "***"
    )
    assert '"returnInventoryIdList"' in rh_call["body"] and rh_call["status"] == 200
    assert jx["headers"]["x-vital-api-key"] == "***" and jx["query"] == {"size": ["1"]}
    only_rh = control.get("/requests", params={"provider": "returnhelper"}).json()["requests"]
    assert [r["provider"] for r in only_rh] == ["returnhelper"]
    secrets = ("test_sandbox_key", "rh_sandbox_key", "rh_sandbox_token", "sk_us_sandbox_key")
    assert not any(secret in str(log) for secret in secrets)


def test_inventory_helpers(sandbox: RunningSandbox, control: Client) -> None:
    eligible = control.get("/inventories", params={"eligible": "true", "warehouseId": 22}).json()
    assert eligible["inventories"] and all(i["warehouseId"] == 22 for i in eligible["inventories"])
    target = eligible["inventories"][0]["returnInventoryId"]
    changed = control.post(f"/inventories/{target}", json={"pendingVas": True}).json()["inventory"]
    assert changed["pendingVas"] is True
    assert control.post(f"/inventories/{target}", json={"sku": "x"}).status_code == 400


def test_python_dash_m_sandbox_runs_as_a_process() -> None:
    env = {**os.environ, "SANDBOX_GROUP_MAX": "3", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seed",
            "7",
            "--reason-mandatory",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("sandbox listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[-1]
        assert requests.get(f"{url}/_sandbox/health", timeout=5).json()["seed"] == 7
        config = requests.get(f"{url}/_sandbox/config", timeout=5).json()
        assert config["group_max"] == 3 and config["reason_mandatory"] is True
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_a_backlog_of_chargebee_orders_can_be_added_and_resent(
    sandbox: RunningSandbox, control: Client
) -> None:
    before = control.get("/health").json()["counts"]["chargebee_orders"]
    made = control.post("/chargebee/orders", json={"count": 3}).json()["orders"]
    assert control.get("/health").json()["counts"]["chargebee_orders"] == before + 3
    assert {o["status"] for o in made} == {"shipped"} and not any(o["resent_orders"] for o in made)
    resend = requests.post(
        f"{sandbox.chargebee_url}/api/v2/orders/{made[0]['id']}/resend",
        auth=("test_sandbox_key", ""),
        timeout=10,
    )
    assert resend.status_code == 200, resend.text
    for count in (0, 100_001, "3", True):
        assert control.post("/chargebee/orders", json={"count": count}).status_code == 400
