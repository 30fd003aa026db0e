"""The one Session factory and `send`: timeouts, no retries, redaction, transport errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests

from resends.providers.base import ErrorClass, Exchange, ProviderError
from resends.providers.http import (
    USER_AGENT,
    Scrubber,
    departure_gate,
    new_session,
    parse_retry_after,
    pooled_session,
    retry_after_from,
    send,
)
from sandbox.server import RunningSandbox

from .conftest import JUNCTION_KEY, SHORT_READ, TIMEOUT, Control
from .helpers import assert_no_secret


def list_orders(
    sandbox: RunningSandbox, session: requests.Session, **options: Any
) -> tuple[requests.Response, Exchange]:
    """GET Junction's order list through `send`, as a client does."""
    options.setdefault("timeout", TIMEOUT)
    return send(
        session,
        "GET",
        f"{sandbox.junction_url}/v3/orders",
        label="Junction",
        headers={"x-vital-api-key": JUNCTION_KEY},
        **options,
    )


def test_a_request_carries_our_user_agent_and_comes_back_redacted(
    sandbox: RunningSandbox, control: Control
) -> None:
    response, exchange = list_orders(
        sandbox, new_session(), params={"page": 1, "size": 1}, scrubber=Scrubber([JUNCTION_KEY])
    )

    assert response.status_code == 200
    assert control.last_request("junction")["headers"]["user-agent"] == USER_AGENT
    assert exchange.status == 200
    assert exchange.request_headers["x-vital-api-key"] == "***"
    assert exchange.duration_ms is not None
    assert '"orders"' in exchange.response_excerpt
    assert len(exchange.response_excerpt) <= 2000
    assert_no_secret(exchange, JUNCTION_KEY)


def test_a_secret_in_a_body_or_url_is_masked(sandbox: RunningSandbox, control: Control) -> None:
    secret = "per-account-secret-123"
    _, exchange = send(
        new_session(),
        "POST",
        f"{sandbox.junction_url}/v3/order/resend_events?echo={secret}",
        label="Junction",
        timeout=TIMEOUT,
        json={"note": secret},
        scrubber=Scrubber([secret]),
    )

    assert exchange.status == 401  # no key sent
    assert secret not in exchange.url
    assert secret not in exchange.request_body
    assert "***" in exchange.request_body


def test_connection_refused_is_transient_and_nothing_was_sent(closed_port: int) -> None:
    with pytest.raises(ProviderError) as caught:
        send(
            new_session(),
            "POST",
            f"http://127.0.0.1:{closed_port}/v3/order/resend_events",
            label="Junction",
            timeout=TIMEOUT,
            headers={"x-vital-api-key": JUNCTION_KEY},
            json={"order_ids": []},
            scrubber=Scrubber([JUNCTION_KEY]),
        )

    error = caught.value
    assert error.error_class is ErrorClass.TRANSIENT
    assert "nothing was sent" in error.message
    assert error.exchange is not None and error.exchange.status is None
    assert error.exchange.request_headers["x-vital-api-key"] == "***"
    assert_no_secret(error, JUNCTION_KEY)


def test_a_read_that_hangs_is_only_transient(sandbox: RunningSandbox, control: Control) -> None:
    """A GET cannot have changed anything at the provider, so it is simply worth repeating."""
    control.fault("junction", hang_seconds=1.0, hang_count=1)

    with pytest.raises(ProviderError) as caught:
        list_orders(sandbox, new_session(), timeout=SHORT_READ)

    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert caught.value.code == "ReadTimeout"


def test_send_makes_exactly_one_attempt(sandbox: RunningSandbox, control: Control) -> None:
    control.fault("junction", error_rate=1.0, error_status=503)

    response, _ = send(
        new_session(),
        "POST",
        f"{sandbox.junction_url}/v3/order/resend_events",
        label="Junction",
        timeout=TIMEOUT,
        headers={"x-vital-api-key": JUNCTION_KEY},
        json={"order_ids": []},
    )

    assert response.status_code == 503
    assert len(control.requests("junction")) == 1


def test_a_malformed_base_url_is_permanent() -> None:
    with pytest.raises(ProviderError) as caught:
        send(new_session(), "GET", "api.example.com/v3/orders", label="Junction")

    assert caught.value.error_class is ErrorClass.PERMANENT


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    assert parse_retry_after("7") == 7.0
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now)
        == 30.0
    )
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    )
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert retry_after_from({"Retry-After": "3", "retry-after-ms": "1500"}) == 1.5


def test_a_thread_keeps_one_session_alive_and_it_stores_no_cookie() -> None:
    import http.server
    import threading

    class SetsCookie(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Set-Cookie", "lb=worker-3; Path=/")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SetsCookie)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = pooled_session()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        first, _ = send(session, "GET", url, label="Test", timeout=TIMEOUT)
        second, _ = send(pooled_session(), "GET", url, label="Test", timeout=TIMEOUT)
    finally:
        server.shutdown()
        server.server_close()

    assert pooled_session() is session
    assert first.headers["Set-Cookie"].startswith("lb=")
    assert len(session.cookies) == 0  # never sent on to another account's call
    assert "Cookie" not in second.request.headers
    other: list[object] = []
    worker = threading.Thread(target=lambda: other.append(pooled_session()))
    worker.start()
    worker.join()
    assert other[0] is not session


def test_sessions_read_proxies_from_the_environment_only_when_some_are_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    assert new_session().trust_env is False  # nothing to read: no scan of os.environ per request
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/private-ca.pem")
    session = new_session()
    assert session.trust_env is False  # the bundle is read once, here
    assert session.verify == "/etc/ssl/private-ca.pem"
    assert (
        session.merge_environment_settings("https://api.example.com/", {}, None, None, None)[
            "verify"
        ]
        == "/etc/ssl/private-ca.pem"
    )
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    session = new_session()
    assert session.trust_env is True
    assert session.merge_environment_settings("https://api.example.com/", {}, None, None, None)[
        "proxies"
    ] == {"https": "http://proxy.internal:3128"}


def test_the_departure_gate_is_passed_once_per_request_on_an_open_connection(
    sandbox: RunningSandbox, control: Control
) -> None:
    """The gate sits right before the request's first byte: the request is prepared and its
    connection made, and the provider has not seen it yet; a kept-alive connection passes it
    again for the next request."""
    session = new_session()
    seen_at_gate: list[int] = []

    def gate() -> None:
        seen_at_gate.append(len(control.requests("junction")))

    token = departure_gate.set(gate)
    try:
        for _ in range(2):
            response, _exchange = list_orders(sandbox, session)
            assert response.status_code == 200
    finally:
        departure_gate.reset(token)
    assert seen_at_gate == [0, 1]  # once each, before the provider had it


def test_what_the_gate_returns_is_called_once_the_request_is_written(
    sandbox: RunningSandbox,
) -> None:
    """The gate's callback comes after the write and before the answer is read (the budget
    restamps there a request that left late)."""
    events: list[str] = []

    def gate() -> Callable[[], None]:
        events.append("gate")
        return lambda: events.append("written")

    token = departure_gate.set(gate)
    try:
        for _ in range(2):
            response, _exchange = list_orders(sandbox, new_session())
            events.append(f"answer {response.status_code}")
    finally:
        departure_gate.reset(token)
    assert events == ["gate", "written", "answer 200"] * 2


def test_the_gate_is_not_passed_when_nothing_can_leave(closed_port: int) -> None:
    passed: list[bool] = []
    token = departure_gate.set(lambda: passed.append(True))
    try:
        with pytest.raises(ProviderError) as caught:
            send(
                new_session(),
                "POST",
                f"http://127.0.0.1:{closed_port}/v3/order/resend_events",
                label="Junction",
                timeout=TIMEOUT,
                json={"order_ids": []},
            )
    finally:
        departure_gate.reset(token)
    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert passed == []  # the connection was refused: no departure is counted


def test_a_session_that_may_use_a_proxy_passes_the_gate_once_before_sending(
    sandbox: RunningSandbox, control: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # so this one goes direct after all
    session = new_session()
    seen_at_gate: list[int] = []
    token = departure_gate.set(lambda: seen_at_gate.append(len(control.requests("junction"))))
    try:
        response, _exchange = list_orders(sandbox, session)
    finally:
        departure_gate.reset(token)
    assert response.status_code == 200
    assert seen_at_gate == [0]  # once, and not again on the connection
