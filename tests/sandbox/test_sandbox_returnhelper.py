"""Return Helper: createResend eligibility (soft errors), idempotency, cancel, reads."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import (
    Client,
    eligible_inventories,
    inventory_where,
    ledger,
    us_shipment,
    wait_until,
)

pytestmark: list[object] = []

CREATE = "/Resend/createResend"
CANCEL = "/Resend/cancelResend"


def meta(answer: requests.Response) -> dict[str, Any]:
    body = answer.json()
    assert "correlationId" in body
    result: dict[str, Any] = body["meta"]
    return result


def soft_error(answer: requests.Response) -> dict[str, str]:
    """Validation failures are HTTP 200 with meta.status 400."""
    assert answer.status_code == 200, answer.text
    info = meta(answer)
    assert info["status"] == 400 and info["errorCode"] == "VALIDATION_FAILED", info
    errors: dict[str, str] = info["error"]
    return errors


def create(
    rh: Client, ids: list[int], key: str | None = None, **shipment: Any
) -> requests.Response:
    headers = {"x-returnhelper-idempotency-key": key} if key else {}
    body = {"returnInventoryIdList": ids, "resendShipment": us_shipment(**shipment)}
    return rh.post(CREATE, json=body, headers=headers)


def test_bad_credentials_are_401_in_the_envelope(
    sandbox: RunningSandbox, rh_public: Client
) -> None:
    wrong = Client(sandbox.returnhelper_user_url, headers={"x-rr-apikey": "rh_sandbox_key"})
    answer = wrong.get("/resend/searchResend")
    assert answer.status_code == 401 and meta(answer)["status"] == 401
    # the public API needs no credentials
    assert meta(rh_public.get("/resendstatus/getAllResendStatus"))["status"] == 200


def test_create_resend_moves_inventories_to_rsd(
    sandbox: RunningSandbox, rh: Client, control: Client
) -> None:
    ids = eligible_inventories(sandbox, 11)[:2]
    answer = create(rh, ids)
    assert answer.status_code == 200 and meta(answer)["status"] == 200
    body = answer.json()
    assert isinstance(body["resendId"], int) and body["resendNumber"].startswith("RS-")
    details = rh.get("/resend/getResend", params={"resendId": body["resendId"]}).json()
    assert details["resendStatusCode"] == 0 and details["warehouseId"] == 11
    assert sorted(i["returnInventoryId"] for i in details["returnInventoryList"]) == ids
    assert {i["handlingCode"] for i in details["returnInventoryList"]} == {"rsd"}
    assert details["resendShipmentList"][0]["trackingNumber"] is None
    [entry] = ledger(control, "returnhelper")
    assert entry["operation"] == "createResend" and entry["target"] == ids
    assert entry["result"]["resendId"] == body["resendId"]


def test_each_eligibility_rule_is_a_soft_error(
    sandbox: RunningSandbox, rh: Client, control: Client
) -> None:
    us = eligible_inventories(sandbox, 11)
    de = eligible_inventories(sandbox, 22)
    cases = {
        "tbc": inventory_where(sandbox, 11, handlingCode="tbc"),
        "dis": inventory_where(sandbox, 11, handlingCode="dis"),
        "rsd": inventory_where(sandbox, 11, handlingCode="rsd"),
        "stock": inventory_where(sandbox, 11, handlingCode="ohd", inStock=False),
        "vas": inventory_where(sandbox, 11, handlingCode="ohd", inStock=True, pendingVas=True),
    }
    for name, bad in cases.items():
        errors = soft_error(create(rh, [us[0], bad]))
        assert "returnInventoryIdList[1]" in errors, (name, errors)
    assert "returnInventoryIdList" in soft_error(create(rh, []))
    assert "returnInventoryIdList[0]" in soft_error(create(rh, [999_999_999]))
    mixed = soft_error(create(rh, [us[0], de[0]]))
    assert "same warehouse" in mixed["returnInventoryIdList"]
    assert "returnInventoryIdList[1]" in soft_error(create(rh, [us[0], us[0]]))
    assert ledger(control) == []
    assert all(sandbox.state.rh_inventories[i]["handlingCode"] == "ohd" for i in us[:1] + de[:1])


def test_group_max(sandbox: RunningSandbox, rh: Client, control: Client) -> None:
    ids = eligible_inventories(sandbox, 11)
    assert "returnInventoryIdList" in soft_error(create(rh, ids[:6]))
    assert meta(create(rh, ids[:5]))["status"] == 200
    control.post("/reset", json={"group_max": 2})
    assert "returnInventoryIdList" in soft_error(create(rh, ids[:3]))
    assert meta(create(rh, ids[:2]))["status"] == 200


def test_shipment_validation(sandbox: RunningSandbox, rh: Client, control: Client) -> None:
    us = eligible_inventories(sandbox, 11)[:1]
    de = eligible_inventories(sandbox, 22)[:1]
    service = "resendShipment.shipmentServiceType"
    # a service type of the other warehouse, and one that does not reach the destination
    assert service in soft_error(create(rh, us, shipmentServiceType="SHIPMENT_DHL_PAKET_FRA"))
    assert service in soft_error(
        create(rh, us, shipmentCountryCode="deu", shipmentServiceType="usps")
    )
    assert "resendShipment.shipmentCountryCode" in soft_error(
        create(rh, us, shipmentCountryCode="USA")
    )
    assert "resendShipment.shipmentCountryCode" in soft_error(
        create(rh, us, shipmentCountryCode="xyz")
    )
    missing = soft_error(create(rh, us, shipmentName="", shipmentStreet1=None, shipmentCity=" "))
    assert {
        "resendShipment.shipmentName",
        "resendShipment.shipmentStreet1",
        "resendShipment.shipmentCity",
    } <= set(missing)
    too_long = soft_error(create(rh, us, shipmentCity="x" * 51, shipmentName="n" * 256))
    assert "50 characters" in too_long["resendShipment.shipmentCity"]
    assert "resendShipment.shipmentName" in too_long
    numbered = rh.post(
        CREATE,
        json={"returnInventoryIdList": us, "resendShipment": us_shipment(), "resendNumber": "RS-1"},
    )
    assert "resendNumber" in soft_error(numbered)
    assert "resendShipment.resendShipmentNumber" in soft_error(
        create(rh, us, resendShipmentNumber="RSS-1")
    )
    assert "resendShipment" in soft_error(rh.post(CREATE, json={"returnInventoryIdList": us}))
    assert ledger(control) == []
    german = create(
        rh,
        de,
        shipmentServiceType="SHIPMENT_DPD_EU_FRA",
        shipmentCountryCode="fra",
        shipmentCity="Paris",
        shipmentPostalCode="75001",
    )
    assert meta(german)["status"] == 200


def test_idempotency_key_returns_the_stored_response(
    sandbox: RunningSandbox, rh: Client, control: Client
) -> None:
    ids = eligible_inventories(sandbox, 11)
    first = create(rh, ids[:1], key="rh-key-1")
    again = create(rh, ids[:1], key="rh-key-1")
    assert again.content == first.content  # byte for byte, same correlationId
    assert len(ledger(control, "returnhelper")) == 1
    other = create(rh, ids[1:2], key="rh-key-2")
    assert other.json()["resendId"] != first.json()["resendId"]
    found = rh.get("/resend/searchResend", params={"idempotencyKey": "rh-key-1"}).json()
    assert [r["resendId"] for r in found["searchResendPayloadList"]] == [first.json()["resendId"]]
    # a soft error is not stored: the same key can be used once the request is fixed
    bad = create(rh, ids[2:3], key="rh-key-3", shipmentCountryCode="USA")
    assert meta(bad)["status"] == 400
    assert meta(create(rh, ids[2:3], key="rh-key-3"))["status"] == 200


def test_cancel_only_while_pending(sandbox: RunningSandbox, rh: Client, control: Client) -> None:
    ids = eligible_inventories(sandbox, 11)
    resend_id = create(rh, ids[:2]).json()["resendId"]
    answer = rh.post(CANCEL, json={"resendId": resend_id})
    assert meta(answer)["status"] == 200 and answer.json()["resendId"] == resend_id
    details = rh.get("/resend/getResend", params={"resendId": resend_id}).json()
    assert details["resendStatusCode"] == 1
    assert {i["handlingCode"] for i in details["returnInventoryList"]} == {"ohd"}
    assert "resendId" in soft_error(rh.post(CANCEL, json={"resendId": resend_id}))
    # once in progress it can no longer be canceled
    second = create(rh, ids[:2]).json()["resendId"]
    control.post("/returnhelper/advance", json={"resendId": second, "status": 2})
    assert "resendId" in soft_error(rh.post(CANCEL, json={"resendId": second}))
    operations = [e["operation"] for e in ledger(control, "returnhelper")]
    assert operations == ["createResend", "cancelResend", "createResend"]
    missing = rh.post(CANCEL, json={"resendId": 123456789})
    assert meta(missing)["status"] == 404


def test_lifecycle_progresses_to_completed(
    sandbox: RunningSandbox, rh: Client, control: Client
) -> None:
    control.post("/reset", json={"rh_auto_progress": True})
    resend_id = create(rh, eligible_inventories(sandbox, 11)[:1]).json()["resendId"]

    def status() -> int:
        return int(
            rh.get("/resend/getResend", params={"resendId": resend_id}).json()["resendStatusCode"]
        )

    wait_until(lambda: status() == 3)
    details = rh.get("/resend/getResend", params={"resendId": resend_id}).json()
    assert details["resendShipmentList"][0]["trackingNumber"]
    failing = create(rh, eligible_inventories(sandbox, 11)[:1], shipmentStreet1="1 INVALID Road")
    failing_id = failing.json()["resendId"]
    wait_until(
        lambda: (
            rh.get("/resend/getResend", params={"resendId": failing_id}).json()["resendStatusCode"]
            == 4
        )
    )
    shipment = rh.get("/resend/getResend", params={"resendId": failing_id}).json()[
        "resendShipmentList"
    ][0]
    assert shipment["error"] == {"message": "Invalid address."}


def test_reads_and_reference_lists(sandbox: RunningSandbox, rh: Client, rh_public: Client) -> None:
    unknown = rh.get("/resend/getResend", params={"resendId": 1})
    assert unknown.status_code == 200 and meta(unknown)["status"] == 404
    assert "resendId" in soft_error(rh.get("/resend/getResend"))
    search = rh.get("/resend/searchResend", params={"pageSize": 5, "warehouseId": 11}).json()
    assert len(search["searchResendPayloadList"]) <= 5 and search["totalNumberOfRecords"] >= 1
    assert all(r["warehouseId"] == 11 for r in search["searchResendPayloadList"])
    assert "pageSize" in soft_error(rh.get("/resend/searchResend", params={"pageSize": 51}))
    services = rh.get(
        "/Shipment/getAvailableShipmentServiceType", params={"warehouseId": 22}
    ).json()
    codes = {row["serviceTypeCode"] for row in services["data"]}
    assert "SHIPMENT_DHL_PAKET_FRA" in codes and "usps" not in codes
    pair = services["data"][0]["countryCodePairList"][0]
    assert set(pair) == {"warehouseId", "description", "fromCountryCode", "toCountryCode"}
    assert pair["fromCountryCode"] == "deu"
    statuses = rh_public.get("/resendstatus/getAllResendStatus").json()["resendStatusList"]
    assert [(s["resendStatusCode"], s["resendStatus"]) for s in statuses] == [
        (0, "pending"),
        (1, "canceled"),
        (2, "inProgress"),
        (3, "completed"),
        (4, "failed"),
    ]
    countries = rh_public.get("/country/getAllCountries").json()["countries"]
    assert len(countries) >= 15
    assert all(
        c["countryCode"] == c["countryCode"].lower() and len(c["countryCode"]) == 3
        for c in countries
    )


def test_paths_are_case_insensitive(sandbox: RunningSandbox, rh: Client) -> None:
    ids = eligible_inventories(sandbox, 11)[:1]
    body = {"returnInventoryIdList": ids, "resendShipment": us_shipment()}
    assert meta(rh.post("/resend/createresend", json=body))["status"] == 200
    assert meta(rh.get("/RESEND/SEARCHRESEND"))["status"] == 200
