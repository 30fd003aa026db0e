"""Junction (formerly Vital) lab-testing orders: replay order webhooks, list and read orders.

On the wire this matches junction-api-sdk 2.0.0 (providers.md §1.3): JSON body, header
`x-vital-api-key`, snake_case keys, UTC datetimes written with `Z`. Unlike the SDK we never send
an explicit `null` (a key left out is omitted) and we never retry on our own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from ..base import ErrorClass, Exchange, ProviderError
from ..errors import (
    http_error,
    invalid_request,
    method_of,
    sentence,
    server_trouble,
    unreadable_answer,
)
from ..http import KeyedClient, send
from ..parsing import JsonDict, as_int, as_str, iso_datetime, iso_z, items, json_body, mapping

LABEL = "Junction"
# "When using start_at, end_at defaults to the current time and the window cannot exceed 60 days."
MAX_REPLAY_WINDOW = timedelta(days=60)


@dataclass(frozen=True)
class JunctionOrderEvent:
    id: int | None
    created_at: datetime | None
    status: str  # e.g. "collecting_sample.testkit.transit_customer"; kept raw, never an enum
    status_detail: str = ""

    @property
    def low_level_status(self) -> str:
        return self.status.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class JunctionOrder:
    id: str
    user_id: str
    team_id: str
    created_at: datetime | None
    updated_at: datetime | None
    status: str  # deprecated top-level status; prefer last_event
    last_event: JunctionOrderEvent | None
    events: tuple[JunctionOrderEvent, ...]
    patient_name: str
    patient_email: str
    lab_test_name: str
    collection_method: str
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class JunctionOrderPage:
    orders: tuple[JunctionOrder, ...]
    total: int | None
    page: int | None
    size: int | None
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ResendEventsResult:
    order_ids: tuple[str, ...]  # the orders whose latest event was replayed
    exchange: Exchange | None = field(default=None, repr=False, compare=False)
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


# --- raw JSON -> dataclasses (reused by the mirror sync) ----------------------------------------


def parse_event(raw: Any) -> JunctionOrderEvent | None:
    data = mapping(raw)
    if not data:
        return None
    return JunctionOrderEvent(
        id=as_int(data.get("id")),
        created_at=iso_datetime(data.get("created_at")),
        status=as_str(data.get("status")),
        status_detail=as_str(data.get("status_detail")),
    )


def parse_order(raw: Any) -> JunctionOrder:
    data = mapping(raw)
    patient = mapping(data.get("patient_details"))
    address = mapping(data.get("patient_address"))
    name = " ".join(
        part
        for part in (as_str(patient.get("first_name")), as_str(patient.get("last_name")))
        if part
    ) or as_str(address.get("receiver_name"))
    events = tuple(e for e in (parse_event(item) for item in items(data.get("events"))) if e)
    last_event = parse_event(data.get("last_event")) or (events[-1] if events else None)
    lab_test = mapping(data.get("lab_test"))
    return JunctionOrder(
        id=as_str(data.get("id")),
        user_id=as_str(data.get("user_id")),
        team_id=as_str(data.get("team_id")),
        created_at=iso_datetime(data.get("created_at")),
        updated_at=iso_datetime(data.get("updated_at")),
        status=as_str(data.get("status")),
        last_event=last_event,
        events=events,
        patient_name=name,
        patient_email=as_str(patient.get("email")),
        lab_test_name=as_str(lab_test.get("name")),
        collection_method=as_str(
            mapping(data.get("details")).get("type") or lab_test.get("method")
        ),
        raw=data,
    )


def parse_order_page(raw: Any) -> JunctionOrderPage:
    data = mapping(raw)
    return JunctionOrderPage(
        orders=tuple(parse_order(item) for item in items(data.get("orders"))),
        total=as_int(data.get("total")),
        page=as_int(data.get("page")),
        size=as_int(data.get("size")),
        raw=data,
    )


def describe_validation_detail(detail: Any) -> str:
    """FastAPI's `detail`: a list of {loc, msg, type} or a plain string (the SDK types it Any)."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for entry in detail:
            if isinstance(entry, Mapping):
                loc = [
                    str(p) for p in items(entry.get("loc")) if p not in ("body", "query", "path")
                ]
                msg = as_str(entry.get("msg")) or as_str(entry.get("type")) or "invalid"
                parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
            else:
                parts.append(as_str(entry))
        return "; ".join(p for p in parts if p)
    if isinstance(detail, Mapping):
        return as_str(detail.get("msg") or detail.get("message")) or str(dict(detail))
    return "" if detail is None else str(detail)


# --- request checks ---------------------------------------------------------------------------


def check_order_id(order_id: Any) -> str:
    """A canonical UUID string, or a PERMANENT ProviderError before anything is sent."""
    try:
        return str(uuid.UUID(str(order_id)))
    except (ValueError, AttributeError, TypeError):
        raise invalid_request(f"{order_id!r} is not a Junction order id (a UUID).") from None


def _aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise invalid_request(f"{name} must be a datetime, not {type(value).__name__}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise invalid_request(
            f"{name} has no timezone; pass an aware datetime (the Junction SDK would silently "
            "stamp a naive one with the host's timezone)."
        )
    return value


def resend_events_body(
    order_ids: Iterable[str] | None,
    start_at: datetime | None,
    end_at: datetime | None,
    *,
    now: datetime | None = None,
) -> JsonDict:
    """The JSON body, checked against Junction's documented rules; absent keys are omitted."""
    body: JsonDict = {}
    if order_ids is not None:
        ids = [check_order_id(order_id) for order_id in order_ids]
        if ids:
            body["order_ids"] = ids
    if start_at is not None:
        body["start_at"] = iso_z(_aware("start_at", start_at))
    if end_at is not None:
        body["end_at"] = iso_z(_aware("end_at", end_at))
    if "order_ids" not in body and "start_at" not in body:
        raise invalid_request("Give at least one order id or a start time.")
    if end_at is not None and start_at is None:
        raise invalid_request("An end time needs a start time.")
    if start_at is not None:
        effective_end = end_at or now or datetime.now(UTC)
        if effective_end <= start_at:
            raise invalid_request("The end time must be after the start time.")
        if effective_end - start_at > MAX_REPLAY_WINDOW:
            raise invalid_request(
                f"The window is longer than Junction allows ({MAX_REPLAY_WINDOW.days} days)."
            )
    return body


# --- the client -------------------------------------------------------------------------------


class JunctionClient(KeyedClient):
    provider = "junction"

    def _headers(self) -> dict[str, str]:
        """Built fresh for every call."""
        return {"x-vital-api-key": self._api_key, "Accept": "application/json"}

    def _call(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> tuple[Any, Exchange]:
        response, exchange = send(
            self._session,
            method,
            f"{self.base_url}{path}",
            label=LABEL,
            timeout=self._timeout,
            headers=self._headers(),
            params=params,
            json=json,
            scrubber=self._scrubber,
        )
        body = json_body(response)
        if 200 <= response.status_code < 300:
            if not isinstance(body, dict):
                raise unreadable_answer(LABEL, method, response, exchange)
            return body, exchange
        raise self._error(response, exchange, body)

    def _error(self, response: requests.Response, exchange: Exchange, body: Any) -> ProviderError:
        status = response.status_code
        detail = describe_validation_detail(mapping(body).get("detail")) if body else ""
        detail = self._scrubber.text(detail)[:500]
        if status in (400, 422):
            return http_error(
                sentence(f"{LABEL} rejected the request: {detail or 'no reason given'}"),
                response=response,
                exchange=exchange,
                code="validation_error",
            )
        if status in (401, 403):
            return http_error(
                f"{LABEL} refused the API key (HTTP {status}); check the account's credentials "
                "and region.",
                response=response,
                exchange=exchange,
                code="unauthorized",
            )
        if status == 404:
            return http_error(
                sentence(
                    f"{LABEL} does not know this order or path (HTTP 404): {detail or 'not found'}"
                ),
                response=response,
                exchange=exchange,
                code="not_found",
            )
        if status == 429:
            return http_error(
                f"{LABEL} is busy (rate limited); nothing was applied, try again later.",
                response=response,
                exchange=exchange,
                code="rate_limited",
            )
        if status == 409:  # the SDK retries 409s too: a conflict, nothing was applied
            return http_error(
                f"{LABEL} reported a conflict (HTTP 409); nothing was applied, try again later.",
                response=response,
                exchange=exchange,
                error_class=ErrorClass.TRANSIENT,
                code="conflict",
            )
        if status >= 500:
            return http_error(
                server_trouble(LABEL, status, method_of(response)),
                response=response,
                exchange=exchange,
                code="server_error",
            )
        return http_error(
            sentence(f"{LABEL} answered HTTP {status}: {detail or 'no reason given'}"),
            response=response,
            exchange=exchange,
            code=f"http_{status}",
        )

    # --- operations ---------------------------------------------------------------------------

    def resend_events(
        self,
        order_ids: Iterable[str] | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
    ) -> ResendEventsResult:
        """POST /v3/order/resend_events: replay the latest webhook of some orders (no re-ship)."""
        body = resend_events_body(order_ids, start_at, end_at)
        data, exchange = self._call("POST", "/v3/order/resend_events", json=body)
        return ResendEventsResult(
            order_ids=tuple(as_str(item) for item in items(data.get("order_ids"))),
            exchange=exchange,
            raw=data,
        )

    def list_orders(
        self,
        page: int = 1,
        size: int = 50,
        *,
        updated_start_date: datetime | None = None,
        updated_end_date: datetime | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        search_input: str | None = None,
        order_ids: Iterable[str] | None = None,
    ) -> JunctionOrderPage:
        """GET /v3/orders, one page (page numbers start at 1); `order_ids` only these orders."""
        params: dict[str, Any] = {"page": page, "size": size}
        if order_ids is not None:
            params["order_ids"] = [check_order_id(order_id) for order_id in order_ids]
        for name, value in (
            ("updated_start_date", updated_start_date),
            ("updated_end_date", updated_end_date),
            ("start_date", start_date),
            ("end_date", end_date),
        ):
            if value is not None:
                params[name] = iso_z(_aware(name, value))
        if search_input:
            params["search_input"] = search_input
        data, _ = self._call("GET", "/v3/orders", params=params)
        return parse_order_page(data)

    def get_order(self, order_id: str) -> JunctionOrder:
        """GET /v3/order/{order_id}."""
        data, _ = self._call("GET", f"/v3/order/{check_order_id(order_id)}")
        return parse_order(data)
