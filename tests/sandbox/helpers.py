"""Helpers for the provider sandbox tests: clients, waiting, a webhook receiver, data pickers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from sandbox.config import SandboxConfig
from sandbox.server import RunningSandbox

DEFAULTS = SandboxConfig()
# Tests move Return Helper resends by hand unless they turn rh_auto_progress back on.
FAST: dict[str, Any] = {
    "webhook_delay": 0.05,
    "webhook_retry_delay": 0.05,
    "webhook_timeout": 2.0,
    "rh_auto_progress": False,
}


class Client:
    """A requests.Session bound to one base URL with default headers/auth."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        if auth is not None:
            self.session.auth = auth

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


def ledger(control: Client, provider: str | None = None) -> list[dict[str, Any]]:
    params = {"provider": provider} if provider else {}
    entries: list[dict[str, Any]] = control.get("/ledger", params=params).json()["entries"]
    return entries


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


# --- a webhook receiver -------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST and answers ``status``."""

    url: str
    server: ThreadingHTTPServer
    calls: list[Received] = field(default_factory=list)
    status: int = 200

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        wait_until(lambda: len(self.calls) >= count, timeout)
        return list(self.calls)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver() -> Receiver:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = holder[0]
            headers = {name.lower(): value for name, value in self.headers.items()}
            target.calls.append(Received(self.path, headers, body))
            self.send_response(target.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/", server=server)
    holder.append(receiver)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return receiver


# --- data pickers ---------------------------------------------------------------------------


def eligible_inventories(sandbox: RunningSandbox, warehouse_id: int) -> list[int]:
    return sorted(
        inventory_id
        for inventory_id, inv in sandbox.state.rh_inventories.items()
        if inv["warehouseId"] == warehouse_id
        and inv["handlingCode"] == "ohd"
        and inv["inStock"]
        and not inv["pendingVas"]
    )


def inventory_where(sandbox: RunningSandbox, warehouse_id: int, **wanted: Any) -> int:
    return next(
        inventory_id
        for inventory_id, inv in sorted(sandbox.state.rh_inventories.items())
        if inv["warehouseId"] == warehouse_id
        and all(inv[key] == value for key, value in wanted.items())
    )


def us_shipment(**changes: Any) -> dict[str, Any]:
    shipment = {
        "shipmentServiceType": "SHIPMENT_USPS_GA_SIG_NJ",
        "shipmentCountryCode": "usa",
        "shipmentName": "Alice Smith",
        "shipmentStreet1": "12 Maple Avenue",
        "shipmentCity": "Austin",
        "shipmentState": "TX",
        "shipmentPostalCode": "78701",
        "shipmentPhone": "+15551234567",
        "shipmentEmail": "alice@example.com",
    }
    shipment.update(changes)
    return shipment


def fresh_chargebee_order(sandbox: RunningSandbox, lines: int = 1) -> dict[str, Any]:
    """A delivered, never-resent order with at least ``lines`` line items."""
    order: dict[str, Any] = next(
        order
        for order in sandbox.state.chargebee_orders.values()
        if order["status"] == "delivered"
        and not order["resent_orders"]
        and not order["is_resent"]
        and len(order["order_line_items"]) >= lines
    )
    return order
