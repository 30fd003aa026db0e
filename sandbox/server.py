"""The HTTP server: routing by path prefix, fault injection, and in-process start/stop."""

from __future__ import annotations

import contextlib
import io
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox import chargebee, control, junction, returnhelper
from sandbox.config import SandboxConfig
from sandbox.state import SandboxState
from sandbox.webhooks import Dispatcher
from sandbox.wire import Request, Response

CONTROL_PREFIX = "/_sandbox"


@dataclass(frozen=True)
class Provider:
    name: str
    prefix: str
    handle: Callable[[SandboxState, Request, str], Response]
    is_mutating: Callable[[str, str], bool]
    rate_limited: Callable[[int], Response]
    server_error: Callable[[int, bool], Response]


PROVIDERS: tuple[Provider, ...] = tuple(
    Provider(
        name,
        module.PREFIX,
        module.handle,
        module.is_mutating,
        module.rate_limited,
        module.server_error,
    )
    for name, module in (
        ("junction", junction),
        ("chargebee", chargebee),
        ("returnhelper", returnhelper),
    )
)


def find_provider(path: str) -> tuple[Provider, str] | None:
    lowered = path.lower()
    for provider in PROVIDERS:
        if lowered == provider.prefix or lowered.startswith(provider.prefix + "/"):
            return provider, path[len(provider.prefix) :]
    return None


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # bursts of concurrent clients (load and race tests)

    def __init__(self, address: tuple[str, int], state: SandboxState) -> None:
        super().__init__(address, SandboxRequestHandler)
        self.state = state


SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)  # Linux's value; Python does not export it


class StampedSocketIO(socket.SocketIO):
    """Reads the connection with recvmsg and keeps the kernel's receive time of the latest bytes:
    when the request reached this host, however long the handler then waited for a CPU (a
    provider's edge stamps requests before its application sees them; on a loaded bench machine
    the handler thread can start tens of milliseconds later)."""

    # Set and defined by CPython's SocketIO / IOBase, but private, so typeshed leaves them out.
    _sock: socket.socket
    _checkReadable: Callable[[], None]

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock, "rb")
        self.stamp: float | None = None

    def readinto(self, buffer: Any) -> int:
        self._checkClosed()
        self._checkReadable()
        nbytes, ancillary, _, _ = self._sock.recvmsg_into([buffer], 64)
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(data) == 16:
                seconds, micros = struct.unpack("qq", data)
                self.stamp = seconds + micros / 1_000_000
        return nbytes


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive connections
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        self._stamped: StampedSocketIO | None = None
        if sys.platform == "linux":
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
            except OSError:
                return
            self._stamped = StampedSocketIO(self.connection)
            self.rfile = io.BufferedReader(self._stamped)

    def parse_request(self) -> bool:
        # Called once the request line is read: its bytes' kernel receive time is the arrival.
        stamp = self._stamped.stamp if self._stamped else None
        self.arrived = datetime.fromtimestamp(stamp, UTC) if stamp else datetime.now(UTC)
        return super().parse_request()

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.state.config.verbose:
            sys.stderr.write(f"sandbox: {self.address_string()} {format % args}\n")

    # --- request handling -------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _request(self) -> Request:
        parts = urlsplit(self.path)
        return Request(
            method=self.command.upper(),
            path=parts.path or "/",
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self._read_body(),
        )

    def _dispatch(self) -> None:
        state = self.server.state
        try:
            request = self._request()
        except (ValueError, OSError):
            self._write(Response.json(400, {"error": "malformed request"}))
            return
        try:
            if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
                response = control.handle(state, request, request.path[len(CONTROL_PREFIX) :])
                if request.method != "GET":
                    state.save()
                self._write(response)
                return
            found = find_provider(request.path)
            if found is None:
                self._write(Response.json(404, {"error": f"no provider serves {request.path}"}))
                return
            self._provider_request(state, found[0], request, found[1])
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self._write(Response.json(500, {"error": "sandbox internal error"}))

    def _provider_request(
        self, state: SandboxState, provider: Provider, request: Request, path: str
    ) -> None:
        generation = state.generation
        received_at = self.arrived.isoformat().replace("+00:00", "Z")
        entry = state.log_request(provider.name, request)
        mutating = provider.is_mutating(request.method, path)
        decision = state.fault_decision(provider.name, request.method, mutating)
        entry["fault"] = decision.name
        if decision.latency:
            time.sleep(decision.latency)
        if decision.rate_limited:
            response = provider.rate_limited(decision.retry_after)
        elif decision.error_status is not None:
            response = provider.server_error(decision.error_status, decision.error_plain)
        else:
            if decision.hang:
                time.sleep(decision.hang)  # the client has likely given up; we still apply
            with state.lock:
                if state.generation != generation:
                    # Reset while this request waited (latency, a hang): it belongs to the old
                    # data and must not land in the new ledger.
                    response = provider.server_error(503, True)
                else:
                    before = len(state.ledger)
                    response = provider.handle(state, request, path)
                    for effect in state.ledger[before:]:
                        effect["received_at"] = received_at  # when the request arrived
                    if request.method != "GET":
                        state.save()  # before the client hears of it
            if decision.drop:
                entry["status"] = "dropped"
                self._drop()
                return
            if decision.error_after_apply is not None:
                response = provider.server_error(decision.error_after_apply, decision.error_plain)
        entry["status"] = response.status
        self._write(response)

    # --- responses --------------------------------------------------------------------------

    def _write(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
        except OSError:
            self.close_connection = True  # the client went away (e.g. timed out during a hang)

    def _drop(self) -> None:
        """Close the connection without a response: the client sees RemoteDisconnected."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


@dataclass
class RunningSandbox:
    server: SandboxHTTPServer
    state: SandboxState
    dispatcher: Dispatcher
    thread: threading.Thread

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def junction_url(self) -> str:
        return self.url + junction.PREFIX

    @property
    def chargebee_url(self) -> str:
        return self.url + chargebee.PREFIX

    @property
    def returnhelper_user_url(self) -> str:
        return self.url + returnhelper.PREFIX + returnhelper.USER_API

    @property
    def returnhelper_public_url(self) -> str:
        return self.url + returnhelper.PREFIX + returnhelper.PUBLIC_API

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.dispatcher.stop()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    config: SandboxConfig | None = None,
    state_file: Path | None = None,
    **overrides: Any,
) -> RunningSandbox:
    """Start the sandbox on a background thread (``port=0`` picks a free port).

    ``overrides`` are :class:`SandboxConfig` fields, e.g. ``group_max=3``. With ``state_file``
    the sandbox resumes from that file if it exists and keeps it up to date (ValueError if it
    cannot be read).
    """
    settings = (config or SandboxConfig()).updated(overrides)
    state = SandboxState(settings, state_file=state_file)
    dispatcher = Dispatcher(state)
    state.dispatcher = dispatcher
    dispatcher.start()
    returnhelper.resume_progress(state)
    server = SandboxHTTPServer((host, port), state)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-http", daemon=True
    )
    thread.start()
    return RunningSandbox(server=server, state=state, dispatcher=dispatcher, thread=thread)
