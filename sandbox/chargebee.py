"""Chargebee API v2 orders: resend (with idempotency keys), list and retrieve.

Errors always use Chargebee's shape:
``{"message", "type", "api_error_code", "param"?, "http_status_code"}``.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import re
from typing import Any
from urllib.parse import unquote

from sandbox import webhooks
from sandbox.dataset import cb_make_resend, cb_record_resend, make_id
from sandbox.state import IdempotencyRecord, SandboxState
from sandbox.wire import Request, Response, Route, match_route, route

JsonDict = dict[str, Any]
PREFIX = "/chargebee"
IDEMPOTENCY_HEADER = "chargebee-idempotency-key"
REPLAYED_HEADER = "chargebee-idempotency-replayed"
MAX_IDEMPOTENCY_KEY = 100
MAX_REASON_LENGTH = 100
SHIPPING_DATE_GRACE_SECONDS = 60
_LINE_PARAM = re.compile(r"^order_line_items\[(id|fulfillment_quantity)\]\[(\d+)\]$")
_NOT_RESENDABLE = {"cancelled", "voided"}


def is_mutating(method: str, path: str) -> bool:
    return method == "POST"


def cb_error(
    status: int,
    message: str,
    api_error_code: str,
    kind: str | None = "invalid_request",
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    payload: JsonDict = {"message": message}
    if kind is not None:
        payload["type"] = kind
    payload["api_error_code"] = api_error_code
    if param is not None:
        payload["param"] = param
    payload["http_status_code"] = status
    return Response.json(status, payload, headers)


def wrong_value(param: str, message: str) -> Response:
    return cb_error(400, f"{param} : {message}", "param_wrong_value", param=param)


def rate_limited(retry_after: int) -> Response:
    return cb_error(
        429,
        "Sorry, access has been blocked temporarily due to request count exceeding acceptable "
        "limits. Please try after some time.",
        "api_request_limit_exceeded",
        kind="operation_failed",
        headers={"Retry-After": str(retry_after)},
    )


def server_error(status: int, plain: bool) -> Response:
    if plain:
        return Response.text(
            status, "<html><body><h1>503 Service Unavailable</h1></body></html>", "text/html"
        )
    return cb_error(
        status,
        "Sorry, something went wrong when trying to process the request. Please try again.",
        "internal_temporary_error",
        kind="operation_failed",
    )


def authenticated(state: SandboxState, request: Request) -> bool:
    header = request.header("authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        username = (
            base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")[0]
        )
    except ValueError:
        return False
    return username == state.config.chargebee_api_key


def handle(state: SandboxState, request: Request, path: str) -> Response:
    if not authenticated(state, request):
        return cb_error(
            401,
            "Sorry, authentication failed. Invalid api key",
            "api_authentication_failed",
            kind=None,
        )
    found = match_route(ROUTES, request.method, path)
    if isinstance(found, str):
        status = 404 if found == "not_found" else 405
        return cb_error(status, "Sorry, we couldn't find that resource", "resource_not_found")
    chosen, match = found
    return chosen.handler(state, request, match)


# --- POST /api/v2/orders/{id}/resend --------------------------------------------------------


def resend(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Resend an order, honouring ``chargebee-idempotency-key``.

    The 200 body is ``{"order": <the NEW resend order>}`` (Chargebee does not document
    which order it returns; the new one carries ``original_order_id`` to link back, and the
    original lists it in ``resent_orders``). No line items means a full resend, which also
    cancels the original; any line items given make it partial, even if they cover every
    line in full.

    Sandbox choices: a key reused within the window with the same parameters replays the
    stored response with ``chargebee-idempotency-replayed: true``; with different
    parameters it gets HTTP 409 ``invalid_request``/``duplicate_entry`` (param: the header
    name). Only 2xx responses are stored, so a request refused by validation can be
    corrected and sent again with the same key. After the window a key is forgotten.
    """
    key = (request.header(IDEMPOTENCY_HEADER) or "").strip() or None
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        return wrong_value(
            IDEMPOTENCY_HEADER, f"cannot be more than {MAX_IDEMPOTENCY_KEY} characters"
        )
    if request.body and request.content_type != "application/x-www-form-urlencoded":
        return cb_error(
            400,
            f"Content-Type {request.content_type or '(none)'} is not supported; "
            "send application/x-www-form-urlencoded",
            "invalid_request",
        )
    try:
        form = request.form()
    except UnicodeDecodeError:
        return cb_error(400, "The request body could not be decoded", "invalid_request")
    fingerprint = _fingerprint(request.path, form)
    if key is not None:
        now = state.now()
        window = state.config.idempotency_window_seconds
        # Records are kept in the order they were made, so the expired ones are at the front:
        # stop at the first live one (a scan of every record made each request cost O(n)).
        expired = []
        for stale, rec in state.cb_idempotency.items():
            if now - rec.created_at <= window:
                break
            expired.append(stale)
        for stale in expired:
            del state.cb_idempotency[stale]
        record = state.cb_idempotency.get(key)
        if record is not None and now - record.created_at > window:  # the clock was set back
            del state.cb_idempotency[key]
            record = None
        if record is not None:
            if record.fingerprint != fingerprint:
                return cb_error(
                    409,
                    "The idempotency key has already been used with different request parameters.",
                    "duplicate_entry",
                    param=IDEMPOTENCY_HEADER,
                )
            headers = dict(record.headers)
            headers[REPLAYED_HEADER] = "true"
            return Response(status=record.status, body=record.body, headers=headers)
    response = apply_resend(state, request, unquote(match.group("order_id")), form, key)
    if key is not None and 200 <= response.status < 300:
        state.cb_idempotency[key] = IdempotencyRecord(
            fingerprint, response.status, response.body, dict(response.headers), state.now()
        )
    return response


def _fingerprint(path: str, form: dict[str, list[str]]) -> str:
    items = sorted((name, value) for name, values in form.items() for value in values)
    return hashlib.sha256(json.dumps([path, items]).encode()).hexdigest()


def apply_resend(
    state: SandboxState,
    request: Request,
    order_id: str,
    form: dict[str, list[str]],
    key: str | None,
) -> Response:
    original = state.chargebee_orders.get(order_id)
    if original is None:
        return cb_error(
            404, f"Sorry, we couldn't find that resource ({order_id})", "resource_not_found"
        )
    parsed = parse_resend_params(state, original, form)
    if isinstance(parsed, Response):
        return parsed
    shipping_date, reason, lines = parsed
    refusal = resend_refusal(state, original)
    if refusal is not None:
        return cb_error(400, refusal, "invalid_state_for_request")
    full = not lines
    picked = lines or [
        (line, int(line["fulfillment_quantity"])) for line in original["order_line_items"]
    ]
    at = int(state.now())
    state.next_cb_document += 1
    new_order = cb_make_resend(
        state.rng,
        original,
        make_id(state.rng, "ord_"),
        picked,
        reason,
        at,
        shipping_date if shipping_date is not None else at,
        str(state.next_cb_document),
    )
    cb_record_resend(original, new_order, full, at)
    state.chargebee_orders[new_order["id"]] = new_order
    emails, hooks = not _disabled(request, "email"), not _disabled(request, "webhook")
    state.record_effect(
        "chargebee",
        "resend",
        order_id,
        key,
        {"order_id": new_order["id"]},
        {
            "full": full,
            "resend_reason": reason,
            "shipping_date": shipping_date,
            "line_items": [
                {"id": line["id"], "fulfillment_quantity": quantity} for line, quantity in picked
            ],
            "origin_user": origin_user(request),
            "customer_email": emails,
            "webhooks": hooks,
        },
    )
    if emails:
        email_customer(state, new_order)
    if hooks:
        schedule_resend_webhooks(state, original["id"], new_order["id"], full)
    return Response.json(200, {"order": copy.deepcopy(new_order)})


def origin_user(request: Request) -> str | None:
    """Who asked, as Chargebee's history would show it: ``chargebee-request-origin-user``, or
    the Base64 ``-encoded`` variant (which wins when both are sent)."""
    encoded = request.header("chargebee-request-origin-user-encoded")
    if encoded:
        try:
            return base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except ValueError:
            return None
    return request.header("chargebee-request-origin-user") or None


def email_customer(state: SandboxState, order: JsonDict) -> None:
    """The email Chargebee would send the customer about a new (resend) order."""
    address = order.get("shipping_address") or order.get("billing_address") or {}
    to = address.get("email") if isinstance(address, dict) else None
    state.emails.append(
        {
            "provider": "chargebee",
            "to": to or "",
            "subject": f"Your order {order.get('original_order_id')} is on its way again",
            "order_id": order["id"],
            "sent_at": int(state.now()),
        }
    )


def resend_refusal(state: SandboxState, order: JsonDict) -> str | None:
    """Why this order cannot be resent (state rules), or None."""
    if order.get("resent_status") == "fully_resent":
        return "The order has already been fully resent and cannot be resent again."
    if order["status"] in _NOT_RESENDABLE:
        return f"Orders in {order['status']} state cannot be resent."
    limit = state.config.max_resends_per_order
    if len(order.get("resent_orders") or []) >= limit:
        return f"An order can be resent at most {limit} times; this order has reached the limit."
    return None


ParsedResend = tuple[int | None, str | None, list[tuple[JsonDict, int]]]


def parse_resend_params(
    state: SandboxState, order: JsonDict, form: dict[str, list[str]]
) -> ParsedResend | Response:
    lines_by_index: dict[int, dict[str, str]] = {}
    for name, values in form.items():
        line_match = _LINE_PARAM.match(name)
        if line_match:
            lines_by_index.setdefault(int(line_match.group(2)), {})[line_match.group(1)] = values[
                -1
            ]
        elif name not in {"shipping_date", "resend_reason"}:
            return wrong_value(name, "unknown parameter")
    shipping_date: int | None = None
    raw_date = (form.get("shipping_date") or [""])[-1].strip()
    if raw_date:
        if not re.fullmatch(r"\d+", raw_date):
            return wrong_value("shipping_date", "invalid timestamp, expected Unix seconds")
        shipping_date = int(raw_date)
        if shipping_date < state.now() - SHIPPING_DATE_GRACE_SECONDS:
            return wrong_value("shipping_date", "should be a date in the future")
    reason = (form.get("resend_reason") or [""])[-1] or None
    if reason is None and state.config.reason_mandatory:
        return wrong_value("resend_reason", "cannot be blank")
    if reason is not None:
        if len(reason) > MAX_REASON_LENGTH:
            return wrong_value(
                "resend_reason", f"cannot be more than {MAX_REASON_LENGTH} characters"
            )
        if reason not in state.config.reason_codes:
            return wrong_value(
                "resend_reason", f"'{reason}' is not a configured order resend reason code"
            )
    lines = parse_lines(order, lines_by_index)
    if isinstance(lines, Response):
        return lines
    return shipping_date, reason, lines


def parse_lines(
    order: JsonDict, lines_by_index: dict[int, dict[str, str]]
) -> list[tuple[JsonDict, int]] | Response:
    """Requested (line, quantity) pairs. A line sent without a quantity resends it in full."""
    known = {line["id"]: line for line in order["order_line_items"]}
    chosen: list[tuple[JsonDict, int]] = []
    for index in sorted(lines_by_index):
        values = lines_by_index[index]
        id_param = f"order_line_items[id][{index}]"
        qty_param = f"order_line_items[fulfillment_quantity][{index}]"
        line_id = values.get("id", "").strip()
        if not line_id:
            return wrong_value(id_param, "cannot be blank")
        line = known.get(line_id)
        if line is None:
            return wrong_value(id_param, f"{line_id} is not a line item of order {order['id']}")
        if any(existing["id"] == line_id for existing, _ in chosen):
            return wrong_value(id_param, f"{line_id} is given more than once")
        limit = int(line["fulfillment_quantity"])
        raw_qty = values.get("fulfillment_quantity", "").strip()
        if not raw_qty:
            chosen.append((line, limit))
            continue
        if not re.fullmatch(r"-?\d+", raw_qty):
            return wrong_value(qty_param, "invalid integer")
        quantity = int(raw_qty)
        if not 1 <= quantity <= limit:
            return wrong_value(qty_param, f"should be between 1 and {limit}")
        chosen.append((line, quantity))
    return chosen


def _disabled(request: Request, kind: str) -> bool:
    """Whether ``chargebee-event-<kind>`` (email, webhook) or ``chargebee-event-actions`` says
    ``all-disabled`` for this request."""
    return "all-disabled" in {
        (request.header(f"chargebee-event-{kind}") or "").lower(),
        (request.header("chargebee-event-actions") or "").lower(),
    }


def order_event(state: SandboxState, event_type: str, order: JsonDict) -> JsonDict:
    return {
        "id": make_id(state.rng, "ev_", 16),
        "occurred_at": int(state.now()),
        "source": "api",
        "object": "event",
        "api_version": "v2",
        "event_type": event_type,
        "webhook_status": "scheduled",
        "content": {"order": copy.deepcopy(order)},
    }


def schedule_resend_webhooks(
    state: SandboxState, original_id: str, new_id: str, full: bool
) -> None:
    """After a resend: ``order_resent`` (content: the new order), then ``order_cancelled`` for
    a fully resent original or ``order_updated`` for a partially resent one."""
    if not state.config.chargebee_webhook_url or state.dispatcher is None:
        return
    events = [
        order_event(state, "order_resent", state.chargebee_orders[new_id]),
        order_event(
            state,
            "order_cancelled" if full else "order_updated",
            state.chargebee_orders[original_id],
        ),
    ]
    for event in events:
        state.dispatcher.schedule(0, functools.partial(_send, state, event))


def _send(state: SandboxState, event: JsonDict) -> None:
    webhooks.send_chargebee(state, event)


# --- GET /api/v2/orders ---------------------------------------------------------------------

_FILTERABLE_STRINGS = ("id", "customer_id", "subscription_id", "invoice_id", "original_order_id")
_FILTERABLE_ENUMS = ("status", "resent_status", "order_type")
_FILTERABLE_TIMES = ("updated_at", "created_at", "order_date", "shipping_date")


def _list_values(raw: str) -> list[str]:
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part.strip().strip("'\"") for part in text.split(",") if part.strip()]


def _string_op(op: str, text: str, raw: str) -> bool:
    if op == "is":
        return text == raw
    if op == "is_not":
        return text != raw
    if op == "in":
        return text in _list_values(raw)
    if op == "not_in":
        return text not in _list_values(raw)
    return text.startswith(raw)


def _matches(order: JsonDict, request: Request) -> bool | Response:
    for name in _FILTERABLE_STRINGS + _FILTERABLE_ENUMS:
        value = order.get(name)
        for op in ("is", "is_not", "in", "not_in", "starts_with"):
            raw = request.arg(f"{name}[{op}]")
            if raw is None:
                continue
            if not _string_op(op, "" if value is None else str(value), raw):
                return False
    raw_resent = request.arg("is_resent[is]")
    if raw_resent is not None and bool(order.get("is_resent")) != (raw_resent.lower() == "true"):
        return False
    for name in _FILTERABLE_TIMES:
        value = order.get(name)
        for op in ("after", "before", "between"):
            raw = request.arg(f"{name}[{op}]")
            if raw is None:
                continue
            bounds = _list_values(raw)
            if not bounds or not all(re.fullmatch(r"\d+", b) for b in bounds):
                return wrong_value(f"{name}[{op}]", "invalid timestamp")
            if value is None:
                return False
            stamp = int(value)
            if op == "after" and not stamp > int(bounds[0]):
                return False
            if op == "before" and not stamp < int(bounds[0]):
                return False
            if op == "between" and not (
                len(bounds) == 2 and int(bounds[0]) <= stamp <= int(bounds[1])
            ):
                return False
    return True


def list_orders(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    raw_limit = request.arg("limit") or "10"
    if not re.fullmatch(r"\d+", raw_limit) or not 1 <= int(raw_limit) <= 100:
        return wrong_value("limit", "should be between 1 and 100")
    limit = int(raw_limit)
    asc, desc = request.arg("sort_by[asc]"), request.arg("sort_by[desc]")
    if asc and desc:
        return wrong_value("sort_by", "only one of sort_by[asc] and sort_by[desc] can be given")
    field = asc or desc or "created_at"
    if field not in {"created_at", "updated_at"}:
        return wrong_value(
            "sort_by[asc]" if asc else "sort_by[desc]", "should be created_at or updated_at"
        )
    descending = not asc
    selected: list[JsonDict] = []
    for order in state.chargebee_orders.values():
        verdict = _matches(order, request)
        if isinstance(verdict, Response):
            return verdict
        if verdict:
            selected.append(order)
    selected.sort(key=lambda o: (int(o[field]), o["id"]), reverse=descending)
    start = 0
    raw_offset = request.arg("offset")
    if raw_offset:
        cursor = _decode_offset(raw_offset)
        if cursor is None:
            return wrong_value("offset", "invalid offset")
        start = next(
            (
                index
                for index, o in enumerate(selected)
                if (
                    (int(o[field]), o["id"]) < cursor
                    if descending
                    else (int(o[field]), o["id"]) > cursor
                )
            ),
            len(selected),
        )
    page = selected[start : start + limit]
    payload: JsonDict = {"list": [{"order": copy.deepcopy(order)} for order in page]}
    if start + limit < len(selected) and page:
        last = page[-1]
        payload["next_offset"] = json.dumps([str(int(last[field])), last["id"]])
    return Response.json(200, payload)


def _decode_offset(raw: str) -> tuple[int, str] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        return None
    if not value[0].isdigit():
        return None
    return int(value[0]), value[1]


def get_order(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    order = state.chargebee_orders.get(unquote(match.group("order_id")))
    if order is None:
        return cb_error(404, "Sorry, we couldn't find that resource", "resource_not_found")
    return Response.json(200, {"order": copy.deepcopy(order)})


ROUTES: list[Route] = [
    route("POST", r"/api/v2/orders/(?P<order_id>[^/]+)/resend", resend),
    route("GET", r"/api/v2/orders", list_orders),
    route("GET", r"/api/v2/orders/(?P<order_id>[^/]+)", get_order),
]
