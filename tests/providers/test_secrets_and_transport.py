"""For every provider client: credentials never leak, and an unreachable provider is transient."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from resends.providers.base import ErrorClass, Exchange, ProviderError
from resends.providers.chargebee.client import ChargebeeClient
from resends.providers.junction.client import JunctionClient
from resends.providers.returnhelper.client import ReturnHelperClient
from sandbox.server import RunningSandbox

from .conftest import CHARGEBEE_KEY, JUNCTION_KEY, RH_KEY, RH_TOKEN, TIMEOUT, Control
from .helpers import assert_no_secret


@dataclass(frozen=True)
class Case:
    """How to build one provider's client for a base URL, and one state-changing call."""

    secrets: tuple[str, ...]
    build: Callable[[str], Any]
    base_url: Callable[[RunningSandbox], str]
    call: Callable[[Any, int], Exchange | None]  # (client, an eligible RH inventory id)


def _junction_call(client: JunctionClient, _: int) -> Exchange | None:
    return client.resend_events(order_ids=[str(uuid.uuid4())]).exchange


def _chargebee_call(client: ChargebeeClient, _: int) -> Exchange | None:
    return client.resend_order("ord_any", idempotency_key=str(uuid.uuid4())).exchange


def _returnhelper_call(client: ReturnHelperClient, inventory_id: int) -> Exchange | None:
    shipment = {
        "shipmentServiceType": "usps",
        "shipmentCountryCode": "usa",
        "shipmentName": "Bob Example",
        "shipmentStreet1": "2 Main Street",
        "shipmentCity": "Newark",
    }
    result = client.create_resend([inventory_id], shipment, idempotency_key=str(uuid.uuid4()))
    return result.exchange


CASES = {
    "junction": Case(
        (JUNCTION_KEY,),
        lambda url: JunctionClient(url, JUNCTION_KEY, timeout=TIMEOUT),
        lambda sandbox: sandbox.junction_url,
        _junction_call,
    ),
    "chargebee": Case(
        (CHARGEBEE_KEY,),
        lambda url: ChargebeeClient(url, CHARGEBEE_KEY, timeout=TIMEOUT),
        lambda sandbox: sandbox.chargebee_url,
        _chargebee_call,
    ),
    "returnhelper": Case(
        (RH_KEY, RH_TOKEN),
        lambda url: ReturnHelperClient(url, RH_KEY, RH_TOKEN, timeout=TIMEOUT),
        lambda sandbox: sandbox.returnhelper_user_url,
        _returnhelper_call,
    ),
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


@pytest.fixture
def inventory_id(control: Control) -> int:
    return control.eligible_inventories(11)[0]


def test_an_exchange_holds_no_credentials(
    sandbox: RunningSandbox, control: Control, case: Case, inventory_id: int
) -> None:
    client = case.build(case.base_url(sandbox))

    try:
        exchange = case.call(client, inventory_id)
    except ProviderError as error:  # Chargebee: no such order (a 404 is fine here)
        assert error.status == 404
        exchange = error.exchange

    assert exchange is not None and exchange.status in (200, 404)
    assert "***" in exchange.request_headers.values()
    assert_no_secret(exchange, *case.secrets)


def test_a_failed_exchange_holds_no_credentials(
    sandbox: RunningSandbox, control: Control, case: Case, inventory_id: int
) -> None:
    client = case.build(case.base_url(sandbox))
    control.fault("all", error_rate=1.0, error_status=502)

    with pytest.raises(ProviderError) as caught:
        case.call(client, inventory_id)

    # a 5xx on a state-changing POST may come after the provider acted: reconcile first
    assert caught.value.error_class is ErrorClass.UNKNOWN
    assert "before anything is sent again" in caught.value.message
    assert_no_secret(caught.value, *case.secrets)


def test_connection_refused_is_transient(
    closed_port: int, sandbox: RunningSandbox, case: Case
) -> None:
    prefix = case.base_url(sandbox).removeprefix(sandbox.url)
    client = case.build(f"http://127.0.0.1:{closed_port}{prefix}")

    with pytest.raises(ProviderError) as caught:
        case.call(client, 19973)

    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert "nothing was sent" in caught.value.message
    assert caught.value.exchange is not None and caught.value.exchange.status is None
    assert_no_secret(caught.value, *case.secrets)
