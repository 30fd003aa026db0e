"""All outbound provider HTTP goes through here: one Session factory, one `send`.

- Explicit (connect, read) timeouts from settings on every request.
- No automatic retries and no redirects: the engine owns retries, and a redirected POST must not
  quietly turn into a GET.
- `send` performs exactly one request and returns the response together with an `Exchange` whose
  request and response are already redacted; transport failures become a `ProviderError` whose
  class says whether the provider can have acted on the request.

How a transport failure is classified:

| What happened                                              | Class      |
|------------------------------------------------------------|------------|
| connection refused, DNS failure, connect timeout, TLS/proxy | TRANSIENT  |
|   (nothing reached the provider)                            |            |
| read timeout, connection dropped or reset after sending,    | UNKNOWN    |
|   truncated body (the provider may have acted)              | (TRANSIENT for GET/HEAD) |
| malformed URL (our configuration)                           | PERMANENT  |

requests raises `ConnectionError` both for "refused" and for "dropped after sending"; we tell them
apart by the wrapped urllib3 error: `NewConnectionError` / `ConnectTimeoutError` (both raised while
connecting) versus `ProtocolError('Connection aborted.', RemoteDisconnected(...))`,
`ReadTimeoutError` and friends (raised after the request was written).
A GET has no effect at the provider, so a failure after sending it is merely TRANSIENT.
"""

from __future__ import annotations

import email.utils
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, ClassVar, Self

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.retry import Retry

from resends.redaction import MASK, redact_headers, redact_text

from .base import ErrorClass, Exchange, ProviderError

if TYPE_CHECKING:
    from resends.accounts import AccountConfig

USER_AGENT = "resend-backoffice/0.1 (+resends)"
EXCERPT_CHARS = 2000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Timeout = tuple[float, float]


def default_timeout() -> Timeout:
    """(connect, read) seconds from settings."""
    return (
        float(settings.PROVIDER_HTTP_CONNECT_TIMEOUT),
        float(settings.PROVIDER_HTTP_READ_TIMEOUT),
    )


# Set by the engine around a call: passed just before each request's first byte is written, so
# nothing slow sits between the rate budget's departure gate and the provider. What it returns,
# if anything, is called once the request's first bytes are written (the gate restamps a request
# that left late).
Gate = Callable[[], Callable[[], None] | None]
departure_gate: ContextVar[Gate | None] = ContextVar("departure_gate", default=None)


class _GatedSend:
    """For urllib3's connections: the departure gate (if the engine set one) is passed once per
    request, on an open connection, right before the request line is written. The request is
    fully prepared and its connection made by then, so what is left between the gate and the
    provider is one write."""

    _gate_pending = False
    sock: Any
    auto_open: int

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._gate_pending = departure_gate.get() is not None
        super().request(*args, **kwargs)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self._gate_pending:
            self._gate_pending = False  # first: a proxy's CONNECT while connecting is not it
            if self.sock is None and self.auto_open:
                self.connect()  # type: ignore[attr-defined]
            if (gate := departure_gate.get()) is not None and (left := gate()) is not None:
                super().send(data)  # type: ignore[misc]
                left()
                return
        super().send(data)  # type: ignore[misc]


class _GatedHTTPConnection(_GatedSend, HTTPConnection):
    pass


class _GatedHTTPSConnection(_GatedSend, HTTPSConnection):
    pass


class _GatedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GatedHTTPConnection


class _GatedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GatedHTTPSConnection


class GatedAdapter(HTTPAdapter):
    """Direct connections pass the departure gate on the connection (_GatedSend); requests
    through a proxy pass it in `send`, before they are handed to requests."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GatedHTTPPool, "https": _GatedHTTPSPool}


_PROXY_SETTINGS = frozenset({"http_proxy", "https_proxy", "all_proxy"})


class ProviderSession(requests.Session):
    may_use_proxy = False  # a proxy is set in the environment (read once, at creation)


def new_session() -> requests.Session:
    """The one way to get a Session for provider HTTP: no retries, our User-Agent."""
    session = ProviderSession()
    session.headers["User-Agent"] = USER_AGENT
    # Provider APIs authenticate per request; a cookie set for one account must never ride along
    # on another account's call through a kept-alive session.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    # The environment is read once, here. A CA bundle is taken as requests would take it; only a
    # proxy (whose NO_PROXY is matched per URL) leaves the environment to requests, which scans
    # every variable on each request (13% of a bulk worker's sending CPU when it did so for a
    # CA bundle alone).
    present = {name.lower() for name, value in os.environ.items() if value}
    session.may_use_proxy = bool(present & _PROXY_SETTINGS)
    session.trust_env = session.may_use_proxy
    if bundle := os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"):
        session.verify = bundle
    no_retries = Retry(total=0, connect=0, read=False, redirect=False, status=0, other=0)
    adapter = GatedAdapter(max_retries=no_retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


_pooled = threading.local()


def pooled_session() -> requests.Session:
    """This thread's Session, so its connections are kept alive between calls: no new TCP (and
    TLS) handshake per request, and a request leaves as soon as its rate-budget slot comes.
    Keyed by process id too, so a forked worker never shares its parent's sockets."""
    key = os.getpid()
    if getattr(_pooled, "pid", None) != key:
        _pooled.pid, _pooled.session = key, new_session()
    session: requests.Session = _pooled.session
    return session


class Scrubber:
    """Redacts the configured SECRET_VALUES plus this client's own credentials.

    A non-default account's credentials come from its own environment variables and are not in
    settings.SECRET_VALUES, so each client hands its secrets here too.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len)[::-1])

    def text(self, text: str) -> str:
        text = redact_text(text)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def headers(self, headers: Mapping[str, str | bytes]) -> dict[str, str]:
        plain = {
            str(name): value.decode("latin-1") if isinstance(value, bytes) else str(value)
            for name, value in headers.items()
        }
        return {name: self.text(value) for name, value in redact_headers(plain).items()}


class KeyedClient:
    """What every provider client shares: a base URL, an API key that never shows in a repr or a
    log, an explicit timeout and this thread's pooled Session."""

    provider: ClassVar[str]

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: Timeout | None = None,
        session: requests.Session | None = None,
        more_secrets: Iterable[str] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self._session = session or pooled_session()
        self._scrubber = Scrubber([api_key, *more_secrets])

    @classmethod
    def from_config(cls, config: AccountConfig, **kwargs: Any) -> Self:
        return cls(config["base_url"], config["api_key"], **kwargs)

    def __repr__(self) -> str:  # never show the key
        return f"{type(self).__name__}({self.base_url!r})"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_after_from(headers: Mapping[str, str]) -> float | None:
    """`retry-after-ms` (Fern SDKs honour it) wins over `Retry-After`."""
    lowered = {name.lower(): value for name, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    return parse_retry_after(lowered.get("retry-after"))


def _body_text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        return body
    return "<streamed body>"


def _excerpt(response: requests.Response) -> str:
    raw = response.content[: EXCERPT_CHARS * 4]
    return raw.decode(response.encoding or "utf-8", errors="replace")[:EXCERPT_CHARS]


def _causes(exc: BaseException, depth: int = 0) -> Iterator[BaseException]:
    """The exception and everything it wraps (args, urllib3 `.reason`, __cause__)."""
    if depth > 6:
        return
    yield exc
    wrapped: list[Any] = [*exc.args, getattr(exc, "reason", None), exc.__cause__]
    for inner in wrapped:
        if isinstance(inner, BaseException) and inner is not exc:
            yield from _causes(inner, depth + 1)


_CONFIG_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


def _reached_provider(exc: requests.RequestException) -> bool:
    """False only when we know the failure happened while connecting (nothing was sent)."""
    if isinstance(exc, requests.ReadTimeout):
        return True
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        # Almost always the TLS handshake or proxy CONNECT, before the request line went out.
        return False
    return not any(isinstance(c, NewConnectionError | ConnectTimeoutError) for c in _causes(exc))


def classify_transport_error(exc: requests.RequestException, *, method: str) -> ErrorClass:
    """Could the provider have received (and acted on) the request? See the module docstring."""
    if isinstance(exc, _CONFIG_ERRORS):
        return ErrorClass.PERMANENT
    if not _reached_provider(exc) or method.upper() in SAFE_METHODS:
        return ErrorClass.TRANSIENT
    return ErrorClass.UNKNOWN


def _root_detail(exc: BaseException) -> str:
    """The innermost wrapped error, e.g. "RemoteDisconnected: Remote end closed connection"."""
    innermost = list(_causes(exc))[-1]
    text = str(innermost).split(" (Caused by")[0]
    return f"{type(innermost).__name__}: {text}"[:200] if text else type(innermost).__name__


def describe_transport_error(
    exc: requests.RequestException, error_class: ErrorClass, label: str
) -> str:
    """Plain words for an agent; the technical cause in brackets."""
    if error_class is ErrorClass.PERMANENT:
        return f"The {label} address is not a valid URL; check the account's base URL."
    if isinstance(exc, requests.ConnectTimeout):
        what = f"Could not connect to {label} in time"
    elif isinstance(exc, requests.ReadTimeout):
        what = f"{label} did not answer in time"
    elif isinstance(exc, requests.exceptions.SSLError):
        what = f"Could not set up a secure connection to {label}"
    elif not _reached_provider(exc):
        what = f"Could not connect to {label} (connection refused or host not found)"
    else:
        what = f"The connection to {label} broke before its answer arrived"
    if not _reached_provider(exc):
        consequence = "nothing was sent"
    elif error_class is ErrorClass.UNKNOWN:
        consequence = "the request was sent and may have been applied"
    else:
        consequence = "it was only a read, so it is safe to repeat"
    return f"{what}; {consequence} ({_root_detail(exc)})."


def _gated_on_the_connection(session: requests.Session, prepared: requests.PreparedRequest) -> bool:
    """Will the connection pass the gate itself (a direct connection through our adapter)?"""
    if not isinstance(session, ProviderSession) or session.may_use_proxy or session.proxies:
        return False  # a proxy may take the request: the gate is passed in `send` instead
    try:
        return isinstance(session.get_adapter(prepared.url or ""), GatedAdapter)
    except requests.exceptions.InvalidSchema:
        return False


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    label: str,
    timeout: Timeout | None = None,
    headers: Mapping[str, str] | None = None,
    params: Any = None,
    json: Any = None,
    data: Any = None,
    auth: Any = None,
    scrubber: Scrubber | None = None,
) -> tuple[requests.Response, Exchange]:
    """Perform exactly one request; return (response, redacted Exchange) whatever its status.

    Raises ProviderError (with the Exchange attached) when no HTTP response was received.
    `headers` should be a fresh dict built for this call; it is copied, never mutated.
    """
    scrub = scrubber or Scrubber()
    request = requests.Request(
        method.upper(),
        url,
        headers=dict(headers or {}),
        params=params,
        json=json,
        data=data,
        auth=auth,
    )
    try:
        prepared = session.prepare_request(request)
    except requests.RequestException as exc:
        exchange = Exchange(method.upper(), scrub.text(url), {}, "")
        raise ProviderError(
            describe_transport_error(exc, ErrorClass.PERMANENT, label),
            error_class=ErrorClass.PERMANENT,
            code="invalid_url",
            exchange=exchange,
        ) from None

    def exchange_for(response: requests.Response | None) -> Exchange:
        duration = int((time.monotonic() - started) * 1000)
        return Exchange(
            method=prepared.method or method.upper(),
            url=scrub.text(prepared.url or url),
            request_headers=scrub.headers(prepared.headers),
            request_body=scrub.text(_body_text(prepared.body)),
            status=None if response is None else response.status_code,
            response_headers={} if response is None else scrub.headers(response.headers),
            response_excerpt="" if response is None else scrub.text(_excerpt(response)),
            duration_ms=duration,
        )

    gated_here = None
    if (gate := departure_gate.get()) is not None and not _gated_on_the_connection(
        session, prepared
    ):
        gate()  # through a proxy, when the request leaves is not seen here: not restamped
        gated_here = departure_gate.set(None)  # passed: the connection must not pass it again
    started = time.monotonic()
    try:
        response = session.send(
            prepared, timeout=timeout or default_timeout(), allow_redirects=False
        )
    except requests.RequestException as exc:
        error_class = classify_transport_error(exc, method=prepared.method or method)
        raise ProviderError(
            scrub.text(describe_transport_error(exc, error_class, label)),
            error_class=error_class,
            code=type(exc).__name__,
            exchange=exchange_for(None),
        ) from None
    finally:
        if gated_here is not None:
            departure_gate.reset(gated_here)
    return response, exchange_for(response)
