"""With a state file the sandbox resumes where it stopped, as a provider would: its orders,
resends, effect ledger, idempotency records and id counters survive a restart, a hard kill too."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.server import RunningSandbox, start_in_thread
from tests.sandbox.helpers import (
    DEFAULTS,
    FAST,
    Client,
    eligible_inventories,
    fresh_chargebee_order,
    ledger,
    us_shipment,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
RH_KEY = "x-returnhelper-idempotency-key"


def clients(url: str) -> tuple[Client, Client, Client]:
    chargebee = Client(url + "/chargebee", auth=(DEFAULTS.chargebee_api_key, ""))
    rh = Client(
        url + "/returnhelper/user/api",
        headers={"x-rr-apikey": DEFAULTS.rh_api_key, "x-rr-apitoken": DEFAULTS.rh_api_token},
    )
    return chargebee, rh, Client(url + "/_sandbox")


def resend_chargebee(chargebee: Client, order_id: str, key: str) -> dict[str, Any]:
    answer = chargebee.post(
        f"/api/v2/orders/{order_id}/resend",
        headers={"chargebee-idempotency-key": key},
        data={"resend_reason": "Damaged"},
    )
    assert answer.status_code == 200, answer.text
    order: dict[str, Any] = answer.json()["order"]
    return order


def create_rh_resend(rh: Client, inventory_id: int, key: str) -> dict[str, Any]:
    body = {"returnInventoryIdList": [inventory_id], "resendShipment": us_shipment()}
    answer: dict[str, Any] = rh.post(
        "/Resend/createResend", json=body, headers={RH_KEY: key}
    ).json()
    assert answer["meta"]["status"] == 200, answer
    return answer  # a replay is the same, byte for byte (its correlationId too)


@contextmanager
def sandbox_at(state_file: Path, **overrides: Any) -> Iterator[RunningSandbox]:
    running = start_in_thread(state_file=state_file, **{**FAST, **overrides})
    try:
        yield running
    finally:
        running.stop()


def test_a_restarted_sandbox_keeps_orders_ledger_idempotency_and_counters(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    with sandbox_at(state_file) as first:
        chargebee, rh, control = clients(first.url)
        original = fresh_chargebee_order(first)
        inventory = eligible_inventories(first, 11)[0]
        resent = resend_chargebee(chargebee, original["id"], "cb-key-1")
        created = create_rh_resend(rh, inventory, "rh-key-1")
        before = ledger(control)
    assert state_file.exists()

    with sandbox_at(state_file) as second:
        chargebee, rh, control = clients(second.url)
        assert ledger(control) == before
        # The resend order Chargebee made is still there, and can itself be read and resent.
        again = chargebee.get(f"/api/v2/orders/{resent['id']}").json()["order"]
        assert again["original_order_id"] == original["id"]
        marked = chargebee.get(f"/api/v2/orders/{original['id']}").json()["order"]
        assert [r["order_id"] for r in marked["resent_orders"]] == [resent["id"]]
        # A retry with the same key is a replay, not a second effect.
        replay = chargebee.post(
            f"/api/v2/orders/{original['id']}/resend",
            headers={"chargebee-idempotency-key": "cb-key-1"},
            data={"resend_reason": "Damaged"},
        )
        assert replay.headers.get("chargebee-idempotency-replayed") == "true"
        assert replay.json()["order"]["id"] == resent["id"]
        assert create_rh_resend(rh, inventory, "rh-key-1") == created
        assert ledger(control) == before
        # New things get new ids, not the ones handed out before the restart.
        other = eligible_inventories(second, 11)[1]
        assert create_rh_resend(rh, other, "rh-key-2")["resendId"] > created["resendId"]
        second_resend = resend_chargebee(chargebee, resent["id"], "cb-key-2")
        assert second_resend["id"] not in {original["id"], resent["id"]}


def test_a_reset_starts_the_state_file_afresh(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    with sandbox_at(state_file) as first:
        chargebee, _, control = clients(first.url)
        resend_chargebee(chargebee, fresh_chargebee_order(first)["id"], "cb-key-1")
        control.post("/reset", json={}).raise_for_status()
    with sandbox_at(state_file) as second:
        assert ledger(clients(second.url)[2]) == []


def test_a_resend_on_its_way_moves_on_after_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    # Stopped long before its first step is due: it is pending when the sandbox stops.
    with sandbox_at(state_file, rh_auto_progress=True, webhook_delay=60) as first:
        _, rh, _ = clients(first.url)
        created = create_rh_resend(rh, eligible_inventories(first, 11)[0], "rh-key-1")
        assert first.state.rh_resends[created["resendId"]]["resendStatusCode"] == 0
    with sandbox_at(state_file, rh_auto_progress=True, webhook_delay=0.05) as second:
        _, rh, _ = clients(second.url)

        def status() -> int:
            found = rh.get("/resend/getResend", params={"resendId": created["resendId"]})
            code: int = found.json()["resendStatusCode"]
            return code

        wait_until(lambda: status() == 3, timeout=10)


def test_a_state_file_for_another_seed_or_in_pieces_is_refused(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    with sandbox_at(state_file):
        pass
    with pytest.raises(ValueError, match="seed"):
        start_in_thread(state_file=state_file, seed=7)
    state_file.write_text(state_file.read_text()[:1000])
    with pytest.raises(ValueError, match="cannot resume"):
        start_in_thread(state_file=state_file)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_process(state_file: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--state-file", str(state_file)],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(url + "/_sandbox/health", timeout=2).ok
        except requests.ConnectionError:
            assert proc.poll() is None, proc.communicate()[0].decode()
            return False

    wait_until(answers, timeout=30, interval=0.1)
    return proc


def test_the_sandbox_process_resumes_after_a_hard_kill(tmp_path: Path) -> None:
    """Each change is written before the client hears of it: a kill -9 right after the answer
    loses nothing the client was told."""
    state_file = tmp_path / "var" / "sandbox.json"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_process(state_file, port)
    try:
        chargebee, _, control = clients(url)
        resent = resend_chargebee(chargebee, first_delivered_order(chargebee), "cb-key-1")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    proc = start_process(state_file, port)
    try:
        chargebee, _, control = clients(url)
        assert [e["result"] for e in ledger(control)] == [{"order_id": resent["id"]}]
        assert chargebee.get(f"/api/v2/orders/{resent['id']}").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=10)[0].decode()
    assert proc.returncode == 0, output


def first_delivered_order(chargebee: Client) -> str:
    orders = chargebee.get(
        "/api/v2/orders", params={"status[is]": "delivered", "limit": 100}
    ).json()["list"]
    order_id: str = next(
        entry["order"]["id"] for entry in orders if not entry["order"]["resent_orders"]
    )
    return order_id
