"""Request/response values passed between the HTTP server and the provider modules."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from sandbox.state import SandboxState

JsonDict = dict[str, Any]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        all_headers = {"Content-Type": "application/json"}
        all_headers.update(headers or {})
        return cls(status=status, body=body, headers=all_headers)

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain") -> Response:
        return cls(status=status, body=text.encode("utf-8"), headers={"Content-Type": content_type})

    def payload(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


Handler = Callable[["SandboxState", Request, "re.Match[str]"], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def route(method: str, pattern: str, handler: Handler, ignore_case: bool = False) -> Route:
    flags = re.IGNORECASE if ignore_case else 0
    return Route(method, re.compile(f"^{pattern}$", flags), handler)


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route, re.Match[str]] | str:
    """The matching route, or "not_found" / "method_not_allowed"."""
    path_matched = False
    for candidate in routes:
        found = candidate.pattern.match(path)
        if found is None:
            continue
        path_matched = True
        if candidate.method == method:
            return candidate, found
    return "method_not_allowed" if path_matched else "not_found"
