"""Small helpers for the process-level tests of backoffice/ (logging, probes, Celery)."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from backoffice.logs import ContextFilter, JsonFormatter
from resends.redaction import RedactSecretsFilter


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def json_log() -> Iterator[io.StringIO]:
    """The production handler (context ids, masking, JSON) on the root logger, into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line parsed; a line that is not a JSON object fails the test, naming it."""
    lines = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(parsed, dict), line
        lines.append(parsed)
    return lines
