"""Return Helper client and adapter against the sandbox: envelope errors, ids, reconciliation."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from resends.providers.base import ErrorClass, ProviderError, Verdict
from resends.providers.returnhelper.client import ReturnHelperClient, parse_resend
from resends.providers.returnhelper.provider import (
    CANCEL_RESEND,
    CREATE_RESEND,
    ReturnHelperAdapter,
)
from sandbox.server import RunningSandbox

from .conftest import RH_KEY, RH_TOKEN, Control
from .helpers import assert_no_secret

US_WAREHOUSE = 11


def new_key() -> str:
    return str(uuid.uuid4())


def address(**changes: str) -> dict[str, str]:
    return {
        "shipmentServiceType": "usps",
        "shipmentCountryCode": "usa",
        "shipmentName": "Alice Example",
        "shipmentStreet1": "1 Main Street",
        "shipmentCity": "Newark",
        "shipmentState": "NJ",
        "shipmentPostalCode": "07102",
        "shipmentPhone": "+15550100100",
        **changes,
    }


def create_payload(control: Control, count: int = 2) -> dict[str, Any]:
    return {
        "inventory_ids": control.eligible_inventories(US_WAREHOUSE)[:count],
        "shipment": address(),
        "description": "Replacement for a damaged parcel",
        "remarks": "",
    }


# --- wire format --------------------------------------------------------------------------------


def test_create_resend_sends_json_with_both_credentials_and_the_key(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    inventory_ids = control.eligible_inventories(US_WAREHOUSE)[:2]
    key = new_key()

    returnhelper.create_resend(inventory_ids, address(), "Damaged", idempotency_key=key)

    sent = control.last_request("returnhelper")
    assert sent["path"] == "/returnhelper/user/api/Resend/createResend"
    assert sent["headers"]["x-rr-apikey"] == "***"
    assert sent["headers"]["x-rr-apitoken"] == "***"
    assert sent["headers"]["x-returnhelper-idempotency-key"] == key
    assert sent["headers"]["content-type"] == "application/json"
    assert json.loads(sent["body"]) == {
        "returnInventoryIdList": inventory_ids,
        "resendShipment": address(),
        "description": "Damaged",
    }


def test_public_lists_are_read_without_credentials(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    countries = returnhelper.countries()
    statuses = returnhelper.resend_statuses()

    assert ("usa", "United States") in [(c.code, c.name) for c in countries]
    assert [s.name for s in statuses][:2] == ["pending", "canceled"]
    for sent in control.requests("returnhelper"):
        assert sent["path"].startswith("/returnhelper/public/api/")
        assert "x-rr-apikey" not in sent["headers"]


# --- success parsing ----------------------------------------------------------------------------


def test_a_created_resend_can_be_read_searched_and_cancelled(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    inventory_ids = control.eligible_inventories(US_WAREHOUSE)[:2]

    created = returnhelper.create_resend(inventory_ids, address(), idempotency_key=new_key())
    record = returnhelper.get_resend(created.resend_id)
    found = returnhelper.search_resend(resend_number=created.resend_number)
    cancelled = returnhelper.cancel_resend(created.resend_id, idempotency_key=new_key())

    assert isinstance(created.resend_id, int) and created.resend_number
    assert record.resend_id == created.resend_id
    assert record.status == "pending"
    assert record.inventory_ids == tuple(inventory_ids)
    assert record.shipments[0].country_code == "usa"
    assert [r.resend_id for r in found.records] == [created.resend_id]
    assert found.total == 1
    assert cancelled.resend_id == created.resend_id
    assert returnhelper.get_resend(created.resend_id).status == "canceled"


def test_service_types_say_where_they_ship(returnhelper: ReturnHelperClient) -> None:
    types = {t.code: t for t in returnhelper.service_types(US_WAREHOUSE)}

    assert types["usps"].serves(US_WAREHOUSE, "usa")
    assert not types["usps"].serves(US_WAREHOUSE, "deu")


def test_ids_are_read_whether_they_come_as_strings_or_numbers() -> None:
    record = parse_resend(
        {
            "resendId": "5001",
            "resendStatusCode": "3",
            "returnInventoryIdList": ["19973", 19980],
            "resendShipmentList": [{"resendShipmentId": "8001", "trackingNumber": "9400"}],
        }
    )

    assert record.resend_id == 5001
    assert record.status == "completed"
    assert record.inventory_ids == (19973, 19980)
    assert record.shipments[0].resend_shipment_id == 8001
    assert record.tracking_number == "9400"


# --- errors -------------------------------------------------------------------------------------


def test_a_soft_validation_error_in_an_http_200_is_permanent(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    inventory_id = control.eligible_inventories(US_WAREHOUSE)[0]

    with pytest.raises(ProviderError) as caught:
        returnhelper.create_resend(
            [inventory_id], address(shipmentCountryCode="deu"), idempotency_key=new_key()
        )

    error = caught.value
    assert error.exchange is not None and error.exchange.status == 200  # HTTP said fine
    assert error.error_class is ErrorClass.PERMANENT
    assert error.status == 400 and error.code == "VALIDATION_FAILED"
    assert error.message == (
        "Return Helper refused the request: Shipment service type 'usps' is not available "
        "from warehouse 11 to 'deu'."
    )
    assert control.ledger("returnhelper") == []


def test_our_own_checks_refuse_before_sending(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    ids = control.eligible_inventories(US_WAREHOUSE)

    with pytest.raises(ProviderError) as too_many:
        returnhelper.create_resend(ids[:6], address(), idempotency_key=new_key())
    with pytest.raises(ProviderError) as no_street:
        returnhelper.create_resend(ids[:1], address(shipmentStreet1=""), idempotency_key=new_key())

    assert too_many.value.error_class is ErrorClass.PERMANENT
    assert "at most 5" in too_many.value.message
    assert "shipmentStreet1" in no_street.value.message
    assert control.requests("returnhelper") == []


def test_wrong_credentials_are_permanent_and_never_shown(
    sandbox: RunningSandbox, control: Control
) -> None:
    client = ReturnHelperClient(sandbox.returnhelper_user_url, "rh_wrong_key", "rh_wrong_token")

    with pytest.raises(ProviderError) as caught:
        client.get_resend(4000)

    assert caught.value.error_class is ErrorClass.PERMANENT
    assert caught.value.status == 401
    assert_no_secret(caught.value, "rh_wrong_key", "rh_wrong_token")


def test_an_unknown_resend_is_permanent(returnhelper: ReturnHelperClient) -> None:
    with pytest.raises(ProviderError) as caught:
        returnhelper.get_resend(999_999)

    assert caught.value.error_class is ErrorClass.PERMANENT
    assert caught.value.status == 404


@pytest.mark.parametrize("plain", [False, True], ids=["envelope", "gateway-text"])
def test_a_5xx_on_create_is_unknown_and_on_a_read_transient(
    returnhelper: ReturnHelperClient, control: Control, plain: bool
) -> None:
    payload = create_payload(control)
    control.fault("returnhelper", error_rate=1.0, error_status=503, error_plain=plain)

    with pytest.raises(ProviderError) as caught:
        returnhelper.create_resend(
            payload["inventory_ids"], payload["shipment"], idempotency_key=new_key()
        )
    assert caught.value.error_class is ErrorClass.UNKNOWN
    assert "nothing was applied" not in caught.value.message
    assert_no_secret(caught.value, RH_KEY, RH_TOKEN)

    with pytest.raises(ProviderError) as read:
        returnhelper.get_resend(4000)
    assert read.value.error_class is ErrorClass.TRANSIENT


def test_429_is_transient_with_retry_after(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    control.fault("returnhelper", rate_limit_burst=1, retry_after=3)

    with pytest.raises(ProviderError) as caught:
        returnhelper.get_resend(4000)

    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert caught.value.retry_after == 3.0


# --- the adapter and reconciliation -------------------------------------------------------------


def test_the_adapter_returns_resend_id_and_number(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    result = ReturnHelperAdapter(returnhelper).execute(
        CREATE_RESEND, create_payload(control), idempotency_key=new_key()
    )

    (effect,) = control.ledger("returnhelper", "createResend")
    assert result.reference == str(effect["result"]["resendId"])
    assert result.reference_2 == effect["result"]["resendNumber"]


def test_a_lost_reply_is_recovered_with_the_same_key(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    adapter = ReturnHelperAdapter(returnhelper)
    payload = create_payload(control)
    key = new_key()
    control.fault("returnhelper", drop_after_apply=1)
    with pytest.raises(ProviderError) as caught:
        adapter.execute(CREATE_RESEND, payload, idempotency_key=key)
    assert caught.value.error_class is ErrorClass.UNKNOWN

    outcome = adapter.reconcile(
        CREATE_RESEND, payload, idempotency_key=key, first_sent_at=datetime.now(UTC)
    )

    (effect,) = control.ledger("returnhelper", "createResend")
    assert outcome.verdict is Verdict.APPLIED
    assert outcome.result is not None
    assert outcome.result.reference == str(effect["result"]["resendId"])
    assert outcome.result.reference_2 == effect["result"]["resendNumber"]


def test_reconciling_while_return_helper_is_down_is_raised_to_ask_again(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    payload = create_payload(control)
    control.fault("returnhelper", error_rate=1.0, error_status=503)

    with pytest.raises(ProviderError) as caught:
        ReturnHelperAdapter(returnhelper).reconcile(
            CREATE_RESEND, payload, idempotency_key=new_key(), first_sent_at=datetime.now(UTC)
        )

    assert not caught.value.permanent
    assert control.ledger("returnhelper") == []


def test_the_current_state_finds_our_resend_without_its_id(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    adapter = ReturnHelperAdapter(returnhelper)
    payload = create_payload(control)
    sent_at = datetime.now(UTC)
    result = adapter.execute(CREATE_RESEND, payload, idempotency_key=new_key())

    found = adapter.current_state(CREATE_RESEND, payload, reference="", first_sent_at=sent_at)
    by_id = adapter.current_state(
        CREATE_RESEND, payload, reference=result.reference, first_sent_at=sent_at
    )

    assert [r.reference for r in found.records if r.matches] == [result.reference]
    assert [r.reference for r in by_id.records] == [result.reference] and by_id.records[0].matches
    assert len(control.ledger("returnhelper")) == 1


def test_a_lost_cancel_reply_is_recovered(
    returnhelper: ReturnHelperClient, control: Control
) -> None:
    adapter = ReturnHelperAdapter(returnhelper)
    created = adapter.execute(CREATE_RESEND, create_payload(control), idempotency_key=new_key())
    payload = {"resend_id": int(created.reference)}
    key = new_key()
    control.fault("returnhelper", drop_after_apply=1)
    with pytest.raises(ProviderError):
        adapter.execute(CANCEL_RESEND, payload, idempotency_key=key)

    outcome = adapter.reconcile(
        CANCEL_RESEND, payload, idempotency_key=key, first_sent_at=datetime.now(UTC)
    )

    assert outcome.verdict is Verdict.APPLIED
    assert len(control.ledger("returnhelper", "cancelResend")) == 1
