"""SENTRY_DSN: errors go to Sentry with every secret masked before they leave the process."""

from __future__ import annotations

import gzip
import http.server
import os
import subprocess
import sys
import threading
import uuid
from typing import Any

from django.conf import settings

from backoffice.sentry import scrub_breadcrumb, scrub_event
from tests.engine.worker import ROOT

SECRET = settings.SECRET_VALUES[0]


def test_an_event_is_masked_everywhere_a_secret_can_hide() -> None:
    event: dict[str, Any] = {
        "message": f"calling with {SECRET}",
        "exception": {
            "values": [
                {
                    "type": "ProviderError",
                    "value": f"401 for key {SECRET}",
                    "stacktrace": {"frames": [{"vars": {"api_key": f"'{SECRET}'", "n": 3}}]},
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": f"GET /orders?key={SECRET}"}]},
        "request": {
            "url": "https://resends.example.com/webhooks/chargebee/",
            "headers": {"Authorization": "Basic abc", "X-Request-ID": "r1", "Cookie": "s=1"},
            "cookies": {"sessionid": "abc"},
            "data": {"note": SECRET},
        },
        "extra": {"tuple": (SECRET, 1)},
    }
    cleaned = scrub_event(event, {})
    assert SECRET not in repr(cleaned)
    assert cleaned["exception"]["values"][0]["value"] == "401 for key ***"
    assert cleaned["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["n"] == 3
    headers = cleaned["request"]["headers"]
    assert headers == {"Authorization": "***", "X-Request-ID": "r1", "Cookie": "***"}
    assert cleaned["request"]["cookies"] == "***"
    assert scrub_breadcrumb({"message": f"key={SECRET}"}, {}) == {"message": "key=***"}


class Collector(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        Collector.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_process_with_sentry_dsn_sends_the_error_masked() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    planted = "planted-" + uuid.uuid4().hex
    marker = uuid.uuid4().hex
    code = (
        "import logging, sentry_sdk\n"
        f"logging.getLogger('ops').error('failed {marker} with {planted}')\n"
        "sentry_sdk.flush(timeout=10)\n"
    )
    env = {
        **os.environ,
        "IGNORE_DOTENV": "1",
        "DEBUG": "1",
        "SECRET_KEY": planted,
        "SENTRY_DSN": f"http://publickey@127.0.0.1:{server.server_address[1]}/1",
    }
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    sent = b"".join(Collector.received).decode(errors="replace")
    assert f"failed {marker} with ***" in sent
    assert planted not in sent
