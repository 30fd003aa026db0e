"""Twenty concurrent submits of one intent (one idempotency key) make one effect."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import (
    DEFAULTS,
    Client,
    eligible_inventories,
    fresh_chargebee_order,
    ledger,
    us_shipment,
)

pytestmark: list[object] = []


def test_concurrent_chargebee_resends_with_one_key(
    sandbox: RunningSandbox, control: Client
) -> None:
    order = fresh_chargebee_order(sandbox)
    line = order["order_line_items"][0]["id"]
    url = f"{sandbox.chargebee_url}/api/v2/orders/{order['id']}/resend"
    form = {"order_line_items[id][0]": line, "order_line_items[fulfillment_quantity][0]": 1}

    def submit(_: int) -> requests.Response:
        return requests.post(
            url,
            data=form,
            auth=(DEFAULTS.chargebee_api_key, ""),
            headers={"chargebee-idempotency-key": "one-intent"},
            timeout=10,
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(submit, range(20)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["order"]["id"] for a in answers}) == 1
    assert sum(a.headers.get("chargebee-idempotency-replayed") == "true" for a in answers) == 19
    assert len(ledger(control)) == 1


def test_concurrent_return_helper_resends_with_one_key(
    sandbox: RunningSandbox, control: Client
) -> None:
    body: dict[str, Any] = {
        "returnInventoryIdList": eligible_inventories(sandbox, 11)[:2],
        "resendShipment": us_shipment(),
    }
    headers = {
        "x-rr-apikey": DEFAULTS.rh_api_key,
        "x-rr-apitoken": DEFAULTS.rh_api_token,
        "x-returnhelper-idempotency-key": "one-intent",
    }

    def submit(_: int) -> requests.Response:
        return requests.post(
            f"{sandbox.returnhelper_user_url}/Resend/createResend",
            json=body,
            headers=headers,
            timeout=10,
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(submit, range(20)))
    assert len({a.json()["resendId"] for a in answers}) == 1
    assert len(ledger(control)) == 1
