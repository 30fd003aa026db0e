"""Junction (formerly Vital) lab-testing order API: resend_events and order reads.

Errors follow FastAPI/pydantic v2: 422 ``{"detail": [{"type", "loc", "msg", "input"}]}``.
"""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sandbox import webhooks
from sandbox.dataset import iso_z, junction_status
from sandbox.state import SandboxState
from sandbox.wire import Request, Response, Route, match_route, route

JsonDict = dict[str, Any]
PREFIX = "/junction"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


def is_mutating(method: str, path: str) -> bool:
    return method == "POST"


def rate_limited(retry_after: int) -> Response:
    return Response.json(429, {"detail": "Too Many Requests"}, {"Retry-After": str(retry_after)})


def server_error(status: int, plain: bool) -> Response:
    if plain:
        return Response.text(status, "upstream connect error or disconnect/reset before headers")
    return Response.json(status, {"detail": "Service temporarily unavailable"})


def handle(state: SandboxState, request: Request, path: str) -> Response:
    if request.header("x-vital-api-key") != state.config.junction_api_key:
        return Response.json(401, {"detail": "Invalid API key."})
    found = match_route(ROUTES, request.method, path)
    if found == "not_found":
        return Response.json(404, {"detail": "Not Found"})
    if found == "method_not_allowed":
        return Response.json(405, {"detail": "Method Not Allowed"})
    assert not isinstance(found, str)
    chosen, match = found
    return chosen.handler(state, request, match)


# --- pydantic-style validation --------------------------------------------------------------


def error(
    kind: str, loc: list[str | int], msg: str, value: Any, ctx: JsonDict | None = None
) -> JsonDict:
    item: JsonDict = {"type": kind, "loc": loc, "msg": msg, "input": value}
    if ctx is not None:
        item["ctx"] = ctx
    return item


def unprocessable(errors: list[JsonDict]) -> Response:
    return Response.json(422, {"detail": errors})


def parse_uuid(value: Any, loc: list[str | int], errors: list[JsonDict]) -> str | None:
    if not isinstance(value, str):
        errors.append(
            error("uuid_type", loc, "UUID input should be a string, bytes or UUID object", value)
        )
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        errors.append(
            error(
                "uuid_parsing",
                loc,
                "Input should be a valid UUID, unable to parse string as a UUID",
                value,
            )
        )
        return None


def parse_datetime(
    value: Any, loc: list[str | int], errors: list[JsonDict], end_of_day: bool = False
) -> datetime | None:
    """ISO-8601 ('Z' or offsets) or unix seconds; naive values are taken as UTC."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append(error("datetime_type", loc, "Input should be a valid datetime", value))
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        errors.append(
            error(
                "datetime_parsing",
                loc,
                "Input should be a valid datetime, unable to parse string as a datetime",
                value,
            )
        )
        return None
    if end_of_day and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        parsed = datetime.combine(parsed.date(), time(23, 59, 59))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_int(
    value: str | None,
    loc: list[str | int],
    errors: list[JsonDict],
    default: int,
    low: int,
    high: int,
) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        errors.append(
            error(
                "int_parsing",
                loc,
                "Input should be a valid integer, unable to parse string as an integer",
                value,
            )
        )
        return default
    if number < low:
        errors.append(
            error(
                "greater_than_equal",
                loc,
                f"Input should be greater than or equal to {low}",
                value,
                {"ge": low},
            )
        )
    elif number > high:
        errors.append(
            error(
                "less_than_equal",
                loc,
                f"Input should be less than or equal to {high}",
                value,
                {"le": high},
            )
        )
    return number


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- POST /v3/order/resend_events -----------------------------------------------------------


def resend_events(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    if not request.body.strip():
        return unprocessable([error("missing", ["body"], "Field required", None)])
    try:
        body = request.json()
    except ValueError as exc:
        return unprocessable(
            [error("json_invalid", ["body", 0], "JSON decode error", {}, {"error": str(exc)})]
        )
    if not isinstance(body, dict):
        return unprocessable(
            [
                error(
                    "model_attributes_type",
                    ["body"],
                    "Input should be a valid dictionary or object to extract fields from",
                    body,
                )
            ]
        )
    errors: list[JsonDict] = []
    order_ids: list[str] = []
    raw_ids = body.get("order_ids")
    if raw_ids is not None:
        if not isinstance(raw_ids, list):
            errors.append(
                error("list_type", ["body", "order_ids"], "Input should be a valid list", raw_ids)
            )
        else:
            for index, raw in enumerate(raw_ids):
                parsed = parse_uuid(raw, ["body", "order_ids", index], errors)
                if parsed is not None and parsed not in order_ids:
                    order_ids.append(parsed)
    start = end = None
    if body.get("start_at") is not None:
        start = parse_datetime(body["start_at"], ["body", "start_at"], errors)
    if body.get("end_at") is not None:
        end = parse_datetime(body["end_at"], ["body", "end_at"], errors)
    if errors:
        return unprocessable(errors)
    rule_error = check_resend_rules(state, bool(order_ids), start, end)
    if rule_error is not None:
        return unprocessable(
            [error("value_error", ["body"], f"Value error, {rule_error}", body, {"error": {}})]
        )
    replayed = select_orders(state, order_ids, start, end)
    window = None
    if start is not None:
        window = {"start_at": iso_z(start), "end_at": iso_z(end or datetime.now(UTC))}
    state.record_effect(
        "junction",
        "resend_events",
        replayed,
        None,
        {"order_ids": replayed},
        {"requested_order_ids": order_ids, "window": window},
    )
    for order_id in replayed:
        schedule_order_webhook(state, order_id)
    return Response.json(200, {"order_ids": replayed})


def check_resend_rules(
    state: SandboxState, has_ids: bool, start: datetime | None, end: datetime | None
) -> str | None:
    """The documented business rules; the message of the first one broken, or None."""
    if not has_ids and start is None:
        return "at least one of order_ids or start_at is required"
    if start is None:
        return None
    finish = end or datetime.now(UTC)
    if finish < start:
        return "end_at must be after start_at"
    limit = state.config.junction_max_window_days
    if finish - start > timedelta(days=limit):
        return f"the time window between start_at and end_at cannot exceed {limit} days"
    return None


def select_orders(
    state: SandboxState, order_ids: list[str], start: datetime | None, end: datetime | None
) -> list[str]:
    """Orders to replay.

    Sandbox choices (Junction does not document them): unknown order ids are skipped, not
    an error, and only the known ones are returned; with both order_ids and a window, an
    order must match both (the window filters the list); a window matches ``updated_at``.
    """
    finish = end or datetime.now(UTC)

    def in_window(order: JsonDict) -> bool:
        return start is None or start <= when(order["updated_at"]) <= finish

    if order_ids:
        return [
            order_id
            for order_id in order_ids
            if order_id in state.junction_orders and in_window(state.junction_orders[order_id])
        ]
    chosen = [order for order in state.junction_orders.values() if in_window(order)]
    chosen.sort(key=lambda order: (order["updated_at"], order["id"]))
    return [order["id"] for order in chosen]


def order_webhook(state: SandboxState, order_id: str) -> JsonDict:
    order = copy.deepcopy(state.junction_orders[order_id])
    user = state.junction_users.get(order["user_id"], {})
    low_level = str(order["last_event"]["status"]).rsplit(".", 1)[-1]
    return {
        "event_type": "labtest.order.created"
        if low_level == "ordered"
        else "labtest.order.updated",
        "user_id": order["user_id"],
        "client_user_id": user.get("client_user_id"),
        "team_id": order["team_id"],
        "data": order,
    }


def schedule_order_webhook(state: SandboxState, order_id: str) -> None:
    if not state.config.junction_webhook_url or state.dispatcher is None:
        return
    payload = order_webhook(state, order_id)
    state.dispatcher.schedule(0, lambda: _send(state, payload))


def _send(state: SandboxState, payload: JsonDict) -> None:
    webhooks.send_junction(state, payload)


def advance_order(state: SandboxState, order_id: str, status: str) -> JsonDict:
    """Append an event (full ``top.method.low`` status, or a low-level one) to an order."""
    order = state.junction_orders[order_id]
    if "." not in status:
        status = junction_status(order["details"]["type"], status)
    event = {"id": state.next_junction_event_id, "created_at": state.now_iso(), "status": status}
    state.next_junction_event_id += 1
    order["events"].append(event)
    order["last_event"] = event
    order["status"] = status.split(".")[0]
    order["updated_at"] = event["created_at"]
    return order


# --- GET /v3/orders and /v3/order/{id} ------------------------------------------------------


def list_orders(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    errors: list[JsonDict] = []
    page = parse_int(request.arg("page"), ["query", "page"], errors, 1, 1, 10**9)
    size = parse_int(
        request.arg("size"), ["query", "size"], errors, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE
    )
    bounds: dict[str, datetime | None] = {}
    for name in ("start_date", "end_date", "updated_start_date", "updated_end_date"):
        value = request.arg(name)
        end_of_day = name.endswith("end_date")
        parsed = (
            None if value is None else parse_datetime(value, ["query", name], errors, end_of_day)
        )
        bounds[name] = parsed
    wanted_ids: list[str] = []
    for index, raw in enumerate(_split_multi(request.args("order_ids"))):
        parsed_id = parse_uuid(raw, ["query", "order_ids", index], errors)
        if parsed_id is not None:
            wanted_ids.append(parsed_id)
    statuses = set(_split_multi(request.args("status")))
    direction = request.arg("order_direction") or "desc"
    key = request.arg("order_key") or "created_at"
    if direction not in {"asc", "desc"}:
        errors.append(
            error(
                "enum", ["query", "order_direction"], "Input should be 'asc' or 'desc'", direction
            )
        )
    if key not in {"created_at", "patient_name", "last_status"}:
        errors.append(
            error(
                "enum",
                ["query", "order_key"],
                "Input should be 'created_at', 'patient_name' or 'last_status'",
                key,
            )
        )
    if errors:
        return unprocessable(errors)
    orders = [
        order
        for order in state.junction_orders.values()
        if _order_matches(order, bounds, wanted_ids, statuses, request.arg("user_id"))
    ]
    orders.sort(
        key=lambda order: (_sort_value(order, key), order["id"]), reverse=direction == "desc"
    )
    chunk = orders[(page - 1) * size : page * size]
    return Response.json(
        200, {"orders": copy.deepcopy(chunk), "total": len(orders), "page": page, "size": size}
    )


def _split_multi(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _sort_value(order: JsonDict, key: str) -> str:
    if key == "patient_name":
        details = order["patient_details"]
        return f"{details['last_name']} {details['first_name']}".lower()
    if key == "last_status":
        return str(order["last_event"]["status"])
    return str(order["created_at"])


def _order_matches(
    order: JsonDict,
    bounds: dict[str, datetime | None],
    wanted_ids: list[str],
    statuses: set[str],
    user_id: str | None,
) -> bool:
    created, updated = when(order["created_at"]), when(order["updated_at"])
    checks = (
        (bounds["start_date"], created, True),
        (bounds["end_date"], created, False),
        (bounds["updated_start_date"], updated, True),
        (bounds["updated_end_date"], updated, False),
    )
    for bound, value, is_start in checks:
        if bound is not None and (value < bound if is_start else value > bound):
            return False
    if wanted_ids and order["id"] not in wanted_ids:
        return False
    if statuses and str(order["last_event"]["status"]).rsplit(".", 1)[-1] not in statuses:
        return False
    return user_id is None or order["user_id"] == user_id


def get_order(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    errors: list[JsonDict] = []
    order_id = parse_uuid(match.group("order_id"), ["path", "order_id"], errors)
    if order_id is None:
        return unprocessable(errors)
    order = state.junction_orders.get(order_id)
    if order is None:
        return Response.json(404, {"detail": f"Order {order_id} not found"})
    return Response.json(200, copy.deepcopy(order))


ROUTES: list[Route] = [
    route("POST", r"/v3/order/resend_events", resend_events),
    route("GET", r"/v3/orders", list_orders),
    route("GET", r"/v3/order/(?P<order_id>[^/]+)", get_order),
]
