"""The provider sandbox, started in-process once per session, and a handle on its control API.

Clients under test talk real HTTP to it; nothing of ours is mocked. Every test starts from a
freshly seeded sandbox with no faults (`control` resets it).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from resends.providers.chargebee.client import ChargebeeClient, ChargebeeOrder
from resends.providers.junction.client import JunctionClient
from resends.providers.returnhelper.client import ReturnHelperClient
from sandbox.server import RunningSandbox, start_in_thread

JUNCTION_KEY = "sk_us_sandbox_key"
CHARGEBEE_KEY = "test_sandbox_key"
RH_KEY = "rh_sandbox_key"
RH_TOKEN = "rh_sandbox_token"
# Short enough that hang tests stay quick; long enough for a loaded CI machine.
TIMEOUT = (2.0, 3.0)
SHORT_READ = (2.0, 0.4)


class Control:
    """The sandbox's /_sandbox control API, over HTTP like any other client would use it."""

    def __init__(self, url: str) -> None:
        self.url = url + "/_sandbox"

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, self.url + path, timeout=5, **kwargs)
        response.raise_for_status()
        return response.json()

    def reset(self, **config: Any) -> None:
        self._json("POST", "/reset", json=config)

    def configure(self, **config: Any) -> None:
        self._json("POST", "/config", json=config)

    def fault(self, provider: str, **fault: Any) -> None:
        self._json("POST", "/faults", json={"provider": provider, **fault})

    def clear_faults(self) -> None:
        self._json("DELETE", "/faults")

    def emit(self, **event: Any) -> None:
        """Have the sandbox move something on (POST /_sandbox/emit), e.g. a Junction order."""
        self._json("POST", "/emit", json=event)

    def requests(self, provider: str) -> list[dict[str, Any]]:
        return self._json("GET", "/requests", params={"provider": provider})["requests"]

    def last_request(self, provider: str) -> dict[str, Any]:
        return self.requests(provider)[-1]

    def ledger(self, provider: str, operation: str | None = None) -> list[dict[str, Any]]:
        params = {"provider": provider, **({"operation": operation} if operation else {})}
        return self._json("GET", "/ledger", params=params)["entries"]

    def wait_for_ledger(
        self, provider: str, operation: str, count: int, seconds: float = 5.0
    ) -> list[dict[str, Any]]:
        """The ledger once it holds `count` entries (a hung request is applied late)."""
        deadline = time.monotonic() + seconds
        while True:
            entries = self.ledger(provider, operation)
            if len(entries) >= count or time.monotonic() > deadline:
                return entries
            time.sleep(0.05)

    def eligible_inventories(self, warehouse_id: int) -> list[int]:
        rows = self._json(
            "GET", "/inventories", params={"eligible": "true", "warehouseId": str(warehouse_id)}
        )["inventories"]
        return [int(row["returnInventoryId"]) for row in rows]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    # Resends stay "pending" unless a test moves them: cancel tests need that.
    running = start_in_thread(port=0, rh_auto_progress=False)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def control(sandbox: RunningSandbox) -> Iterator[Control]:
    handle = Control(sandbox.url)
    handle.reset()
    yield handle
    handle.clear_faults()


@pytest.fixture
def junction(sandbox: RunningSandbox, control: Control) -> JunctionClient:
    return JunctionClient(sandbox.junction_url, JUNCTION_KEY, timeout=TIMEOUT)


@pytest.fixture
def chargebee(sandbox: RunningSandbox, control: Control) -> ChargebeeClient:
    return ChargebeeClient(sandbox.chargebee_url, CHARGEBEE_KEY, timeout=TIMEOUT)


@pytest.fixture
def returnhelper(sandbox: RunningSandbox, control: Control) -> ReturnHelperClient:
    return ReturnHelperClient(
        sandbox.returnhelper_user_url,
        RH_KEY,
        RH_TOKEN,
        public_base_url=sandbox.returnhelper_public_url,
        timeout=TIMEOUT,
    )


def all_chargebee_orders(client: ChargebeeClient) -> list[ChargebeeOrder]:
    orders: list[ChargebeeOrder] = []
    offset = None
    while True:
        page = client.list_orders(limit=100, offset=offset)
        orders.extend(page.orders)
        if not page.next_offset:
            return orders
        offset = page.next_offset


@pytest.fixture(scope="session")
def chargebee_orders(sandbox: RunningSandbox) -> list[ChargebeeOrder]:
    """Every order of a freshly seeded sandbox, read once (the seed makes every reset alike)."""
    Control(sandbox.url).reset()
    return all_chargebee_orders(ChargebeeClient(sandbox.chargebee_url, CHARGEBEE_KEY))


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
