"""Signing webhooks like each provider does, and sending them to the app in the background."""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import secrets
import string
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from sandbox.state import redact_headers

if TYPE_CHECKING:
    from sandbox.state import SandboxState

JsonDict = dict[str, Any]
HeaderFactory = Callable[[bytes], dict[str, str]]


# --- signatures -----------------------------------------------------------------------------


def rh_signature(signing_key_b64: str, url: str, timestamp: str, body: bytes) -> str:
    """Return Helper: base64(HMAC-SHA256(b64decode(key), "POST" + url + timestamp + body))."""
    key = base64.b64decode(signing_key_b64)
    message = b"POST" + url.encode("utf-8") + timestamp.encode("utf-8") + body
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def svix_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """Svix (Junction): "v1," + base64(HMAC-SHA256(b64decode(secret after whsec_), id.ts.body))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def utc_timestamp() -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2025-01-01T12:00:00.123Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def svix_message_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "msg_" + "".join(secrets.choice(alphabet) for _ in range(27))


def encode(payload: JsonDict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


# --- background scheduling ------------------------------------------------------------------


class Dispatcher:
    """Runs jobs after a delay on one background thread. A reset drops queued jobs."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._heap: list[tuple[float, int, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._running = False  # a job (a delivery, say) is under way
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()
            self._cond.notify_all()

    def pending(self) -> int:
        """Jobs waiting, plus the one under way (a reset drops the waiting ones only)."""
        with self._cond:
            return len(self._heap) + self._running

    def schedule(self, delay: float, job: Callable[[], None]) -> None:
        generation = self.state.generation
        with self._cond:
            due = time.monotonic() + max(0.0, delay)
            heapq.heappush(self._heap, (due, next(self._counter), generation, job))
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, generation, job = heapq.heappop(self._heap)
                if generation != self.state.generation:
                    continue
                self._running = True
            try:
                job()
            except Exception as exc:  # a broken job must not kill the dispatcher
                print(f"sandbox: webhook job failed: {exc!r}", file=sys.stderr, flush=True)
            finally:
                with self._cond:
                    self._running = False


# --- delivery -------------------------------------------------------------------------------


def deliver(
    state: SandboxState,
    *,
    provider: str,
    event: str,
    url: str,
    body: bytes,
    make_headers: HeaderFactory,
    message_id: str,
    attempt: int = 1,
) -> JsonDict:
    """POST one webhook now, record it (and the app's answer), schedule a retry on failure."""
    headers = {"Content-Type": "application/json", "User-Agent": f"sandbox-{provider}-webhooks/1"}
    headers.update(make_headers(body))
    record: JsonDict = {
        "provider": provider,
        "event": event,
        "url": url,
        "message_id": message_id,
        "attempt": attempt,
        "headers": redact_headers(headers),
        "body": _json_or_none(body),
        "raw_body": body.decode("utf-8"),
        "sent_at": utc_timestamp(),
        "status": None,
        "error": None,
        "response_body": None,
    }
    try:
        answer = requests.post(
            url, data=body, headers=headers, timeout=state.config.webhook_timeout
        )
        record["status"] = answer.status_code
        record["response_body"] = answer.text[:2000]
    except requests.RequestException as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    state.record_webhook(record)
    failed = record["status"] is None or not 200 <= int(record["status"]) < 300
    if failed and attempt <= state.config.webhook_retries and state.dispatcher is not None:
        state.dispatcher.schedule(
            state.config.webhook_retry_delay,
            lambda: _retry(state, record, body, make_headers),
        )
    return record


def _json_or_none(body: bytes) -> Any:
    """The body as JSON for the log; None for one that is not (sent on purpose, see send_raw)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _retry(state: SandboxState, record: JsonDict, body: bytes, make_headers: HeaderFactory) -> None:
    deliver(
        state,
        provider=record["provider"],
        event=record["event"],
        url=record["url"],
        body=body,
        make_headers=make_headers,
        message_id=record["message_id"],
        attempt=int(record["attempt"]) + 1,
    )


def send_returnhelper(
    state: SandboxState, payload: JsonDict, url: str | None = None, body: bytes | None = None
) -> JsonDict | None:
    """Sign and send a Return Helper webhook; ``payload`` must carry notificationId. ``body``, when
    given, is sent as it is instead of ``payload`` encoded."""
    target = url or state.config.webhook_url
    if not target:
        return None
    signing_key = state.config.rh_signing_key

    def make_headers(body: bytes) -> dict[str, str]:
        timestamp = utc_timestamp()
        return {
            "timestamp": timestamp,
            "returnhelper-signature": rh_signature(signing_key, target, timestamp, body),
        }

    return deliver(
        state,
        provider="returnhelper",
        event=str(payload.get("action")),
        url=target,
        body=encode(payload) if body is None else body,
        make_headers=make_headers,
        message_id=str(payload.get("notificationId")),
    )


def send_junction(
    state: SandboxState,
    payload: JsonDict,
    url: str | None = None,
    message_id: str | None = None,
    body: bytes | None = None,
) -> JsonDict | None:
    """Sign (Svix) and send a Junction webhook (``body``: sent as it is, as above)."""
    target = url or state.config.junction_webhook_url
    if not target:
        return None
    secret = state.config.junction_webhook_secret
    msg_id = message_id or svix_message_id()

    def make_headers(body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {
            "svix-id": msg_id,
            "svix-timestamp": timestamp,
            "svix-signature": svix_signature(secret, msg_id, timestamp, body),
        }

    return deliver(
        state,
        provider="junction",
        event=str(payload.get("event_type")),
        url=target,
        body=encode(payload) if body is None else body,
        make_headers=make_headers,
        message_id=msg_id,
    )


def send_chargebee(
    state: SandboxState, payload: JsonDict, url: str | None = None, body: bytes | None = None
) -> JsonDict | None:
    """Send a Chargebee event with HTTP Basic auth (Chargebee does not sign webhooks; ``body``: sent
    as it is, as above)."""
    target = url or state.config.chargebee_webhook_url
    if not target:
        return None
    authorization = basic_auth(
        state.config.chargebee_webhook_username, state.config.chargebee_webhook_password
    )
    return deliver(
        state,
        provider="chargebee",
        event=str(payload.get("event_type")),
        url=target,
        body=encode(payload) if body is None else body,
        make_headers=lambda _body: {"Authorization": authorization},
        message_id=str(payload.get("id")),
    )


def redeliver(state: SandboxState, seq: int) -> JsonDict | None:
    """Send an earlier webhook again with the same body and id (a duplicate delivery)."""
    records = [record for record in state.webhook_log() if record["seq"] == seq]
    if not records:
        return None
    record = records[0]
    body = str(record["raw_body"]).encode("utf-8")
    payload = record["body"] if isinstance(record["body"], dict) else {}
    if record["provider"] == "returnhelper":
        return send_returnhelper(state, payload, url=record["url"], body=body)
    if record["provider"] == "junction":
        return send_junction(
            state, payload, url=record["url"], message_id=record["message_id"], body=body
        )
    return send_chargebee(state, payload, url=record["url"], body=body)


def send_raw(state: SandboxState, provider: str, body: bytes, url: str | None = None) -> JsonDict:
    """Sign and send any body as one of the provider's webhooks, however odd its shape: a test
    of what the app does with a correctly signed event it cannot use."""
    payload = _json_or_none(body)
    payload = payload if isinstance(payload, dict) else {}
    senders = {"returnhelper": send_returnhelper, "chargebee": send_chargebee}
    if provider == "junction":
        record = send_junction(state, payload, url=url, body=body)
    else:
        record = senders[provider](state, payload, url=url, body=body)
    if record is None:
        raise ValueError(f"no webhook URL configured for {provider}")
    return record


def new_notification_id() -> str:
    return str(uuid.uuid4())
