"""Chargebee orders: resend an order, read and list orders.

On the wire this matches the chargebee 3.x SDK (providers.md §2.2): HTTP Basic with the API key as
username and an empty password, `application/x-www-form-urlencoded` bodies with
`param[sub][index]` keys, `Accept: application/json`. Unlike the SDK we build the headers dict
fresh for every call (the SDK mutates a caller's dict and so can leak one idempotency key into the
next request) and never retry on our own.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from ..base import ErrorClass, Exchange, ProviderError
from ..errors import (
    error_class_for_status,
    http_error,
    invalid_request,
    method_of,
    server_trouble,
    unreadable_answer,
)
from ..http import KeyedClient, Scrubber, send
from ..parsing import (
    JsonDict,
    as_bool,
    as_int,
    as_str,
    items,
    json_body,
    mapping,
    unix_datetime,
)

LABEL = "Chargebee"
ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
MAX_RESENDS_PER_ORDER = 5  # "Upto 5 resend operations are allowed per [order]"
MAX_REASON_LENGTH = 100
MAX_IDEMPOTENCY_KEY_LENGTH = 100
IDEMPOTENCY_HEADER = "chargebee-idempotency-key"
REPLAYED_HEADER = "chargebee-idempotency-replayed"
# Who asked, for Chargebee's own history: an ASCII email as it is, any other one Base64-encoded.
ORIGIN_USER_HEADER = "chargebee-request-origin-user"
ORIGIN_USER_ENCODED_HEADER = "chargebee-request-origin-user-encoded"
MAX_ORIGIN_USER_LENGTH = 254  # the longest email address
# Per-request switches: "all-disabled" keeps Chargebee from emailing the customer / sending
# webhooks about this request.
EVENT_EMAIL_HEADER = "chargebee-event-email"
EVENT_WEBHOOK_HEADER = "chargebee-event-webhook"
DISABLED = "all-disabled"


@dataclass(frozen=True)
class ChargebeeLineItem:
    id: str
    sku: str
    description: str
    quantity: int  # fulfillment_quantity
    unit_price: int | None  # minor units
    amount: int | None
    status: str
    entity_id: str
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ResentOrderLink:
    """One entry of an original order's `resent_orders`."""

    order_id: str
    reason: str
    amount: int | None


@dataclass(frozen=True)
class ChargebeeOrder:
    id: str
    document_number: str
    status: str  # raw: Chargebee adds values without notice
    customer_id: str
    customer_name: str
    customer_email: str
    created_at: datetime | None
    updated_at: datetime | None
    shipping_date: datetime | None
    line_items: tuple[ChargebeeLineItem, ...]
    # Resend facts
    resent_status: str  # "" | "partially_resent" | "fully_resent"
    is_resent: bool
    original_order_id: str
    resend_reason: str
    resent_orders: tuple[ResentOrderLink, ...]
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)

    @property
    def resend_count(self) -> int:
        return len(self.resent_orders)

    @property
    def resends_left(self) -> int:
        return max(0, MAX_RESENDS_PER_ORDER - self.resend_count)


@dataclass(frozen=True)
class ChargebeeOrderPage:
    orders: tuple[ChargebeeOrder, ...]
    next_offset: str | None  # opaque; None when there are no more pages


@dataclass(frozen=True)
class ChargebeeResendResult:
    order: ChargebeeOrder  # the order in the response
    new_order_id: str  # the resend order Chargebee created
    replayed: bool  # answered from Chargebee's idempotency store
    exchange: Exchange | None = field(default=None, repr=False, compare=False)


# --- raw JSON -> dataclasses (reused by the mirror sync) ----------------------------------------


def parse_line_item(raw: Any) -> ChargebeeLineItem:
    data = mapping(raw)
    return ChargebeeLineItem(
        id=as_str(data.get("id")),
        sku=as_str(data.get("sku")),
        description=as_str(data.get("description")),
        quantity=as_int(data.get("fulfillment_quantity")) or 0,
        unit_price=as_int(data.get("unit_price")),
        amount=as_int(data.get("amount")),
        status=as_str(data.get("status")),
        entity_id=as_str(data.get("entity_id")),
        raw=data,
    )


def parse_order(raw: Any) -> ChargebeeOrder:
    data = mapping(raw)
    address = mapping(data.get("shipping_address")) or mapping(data.get("billing_address"))
    name = " ".join(
        part
        for part in (as_str(address.get("first_name")), as_str(address.get("last_name")))
        if part
    )
    links = tuple(
        ResentOrderLink(
            order_id=as_str(link.get("order_id")),
            reason=as_str(link.get("reason")),
            amount=as_int(link.get("amount")),
        )
        for link in map(mapping, items(data.get("resent_orders")))
        if link.get("order_id")
    )
    return ChargebeeOrder(
        id=as_str(data.get("id")),
        document_number=as_str(data.get("document_number")),
        status=as_str(data.get("status")),
        customer_id=as_str(data.get("customer_id")),
        customer_name=name,
        customer_email=as_str(address.get("email")),
        created_at=unix_datetime(data.get("created_at")),
        updated_at=unix_datetime(data.get("updated_at")),
        shipping_date=unix_datetime(data.get("shipping_date")),
        line_items=tuple(parse_line_item(line) for line in items(data.get("order_line_items"))),
        resent_status=as_str(data.get("resent_status")),
        is_resent=as_bool(data.get("is_resent")),
        original_order_id=as_str(data.get("original_order_id")),
        resend_reason=as_str(data.get("resend_reason")),
        resent_orders=links,
        raw=data,
    )


def parse_order_page(raw: Any) -> ChargebeeOrderPage:
    data = mapping(raw)
    orders = tuple(parse_order(mapping(entry).get("order")) for entry in items(data.get("list")))
    next_offset = data.get("next_offset")
    return ChargebeeOrderPage(orders=orders, next_offset=as_str(next_offset) or None)


# --- request checks and encoding ----------------------------------------------------------------


def check_order_id(order_id: Any) -> str:
    """Path-safe order id (the SDK's quote() leaves '/' alone, so we refuse odd ids instead)."""
    if not isinstance(order_id, str) or not ORDER_ID_PATTERN.fullmatch(order_id):
        raise invalid_request(f"{order_id!r} is not a Chargebee order id.")
    return order_id


def resend_form(
    lines: Sequence[tuple[str, int]],
    shipping_date: int | None,
    reason: str | None,
) -> list[tuple[str, str]]:
    """Form fields in the SDK's order: `order_line_items[id][0]` (sub-key, then index)."""
    fields: list[tuple[str, str]] = []
    if shipping_date is not None:
        if (
            isinstance(shipping_date, bool)
            or not isinstance(shipping_date, int)
            or shipping_date < 0
        ):
            raise invalid_request("shipping_date must be Unix seconds (an integer).")
        fields.append(("shipping_date", str(shipping_date)))
    if reason is not None:
        if not reason.strip() or len(reason) > MAX_REASON_LENGTH:
            raise invalid_request(f"The resend reason must be 1 to {MAX_REASON_LENGTH} characters.")
        fields.append(("resend_reason", reason))
    seen: set[str] = set()
    for index, (line_id, quantity) in enumerate(lines):
        if not isinstance(line_id, str) or not ORDER_ID_PATTERN.fullmatch(line_id):
            raise invalid_request(f"{line_id!r} is not a Chargebee line item id.")
        if line_id in seen:
            raise invalid_request(f"Line item {line_id} appears twice.")
        seen.add(line_id)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise invalid_request(
                f"The quantity for {line_id} must be a whole number of at least 1."
            )
        fields.append((f"order_line_items[id][{index}]", line_id))
        fields.append((f"order_line_items[fulfillment_quantity][{index}]", str(quantity)))
    return fields


def origin_headers(origin_user: str | None) -> dict[str, str]:
    """The header naming who asked for a request (none for no email)."""
    if not origin_user:
        return {}
    if (
        not isinstance(origin_user, str)
        or len(origin_user) > MAX_ORIGIN_USER_LENGTH
        or "@" not in origin_user
        or any(c.isspace() or not c.isprintable() for c in origin_user)
    ):
        raise invalid_request("The origin user must be an email address.", code="bad_payload")
    if origin_user.isascii():
        return {ORIGIN_USER_HEADER: origin_user}
    encoded = base64.b64encode(origin_user.encode("utf-8")).decode("ascii")
    return {ORIGIN_USER_ENCODED_HEADER: encoded}


def event_headers(*, customer_email: bool, webhooks: bool) -> dict[str, str]:
    """The switches for Chargebee's own emails and webhooks about a request (on: no header)."""
    headers = {}
    if not customer_email:
        headers[EVENT_EMAIL_HEADER] = DISABLED
    if not webhooks:
        headers[EVENT_WEBHOOK_HEADER] = DISABLED
    return headers


def check_idempotency_key(key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise invalid_request("The idempotency key must be 1 to 100 characters.")
    return key


# --- errors in plain words ----------------------------------------------------------------------

_CAP_PATTERN = re.compile(r"(at most|maximum of|up ?to|limit of)\s*(\d+)?", re.IGNORECASE)
_LINE_PARAM = re.compile(r"^order_line_items\[(id|fulfillment_quantity)\]\[(\d+)\]$")


def _field_words(param: str) -> str:
    line = _LINE_PARAM.match(param)
    if line:
        what = "item" if line.group(1) == "id" else "quantity"
        return f"line {int(line.group(2)) + 1} {what}"
    return {
        "resend_reason": "resend reason",
        "shipping_date": "shipping date",
        IDEMPOTENCY_HEADER: "idempotency key",
    }.get(param, param.replace("_", " "))


def plain_message(status: int, error: JsonDict, order_id: str | None = None) -> str:
    """Chargebee's developer-facing `message`, re-worded for an agent where we recognise it."""
    code = as_str(error.get("api_error_code") or error.get("error_code"))
    message = as_str(error.get("message")).strip()
    param = as_str(error.get("param"))
    if param and message.startswith(f"{param} :"):
        message = message[len(param) + 2 :].strip()
    lowered = message.lower()
    order = f"order {order_id}" if order_id else "this order"
    if code == "invalid_state_for_request" and "resen" in lowered:
        if "fully resent" in lowered:
            return (
                "This order was already resent in full (which cancelled it); "
                "it cannot be resent again."
            )
        cap = _CAP_PATTERN.search(message)
        if cap or "limit" in lowered:
            limit = cap.group(2) if cap and cap.group(2) else MAX_RESENDS_PER_ORDER
            return f"This order already has {limit} resends, the most Chargebee allows."
    if code == "invalid_state_for_request":
        return f"Chargebee will not resend {order} in its current state: {message}"
    if code == "resource_not_found" or status == 404:
        return f"Chargebee has no {order}."
    if status == 409 and param == IDEMPOTENCY_HEADER:
        return (
            "This call's idempotency key was already used for a different resend; "
            "the request was not applied."
        )
    if status == 401 or code == "api_authentication_failed":
        return "Chargebee refused the API key; check the account's credentials and site."
    if status == 402 or as_str(error.get("type")) == "payment":
        return f"Chargebee refused for a payment reason: {message}"
    if param:
        return f"Chargebee rejected the {_field_words(param)}: {message or 'invalid value'}"
    return message or f"Chargebee answered HTTP {status}."


def error_from_response(
    response: requests.Response,
    exchange: Exchange,
    *,
    order_id: str | None = None,
    scrubber: Scrubber | None = None,
) -> ProviderError:
    """Chargebee's `{message, type, api_error_code, param}` (or a gateway page) -> ProviderError."""
    status = response.status_code
    body = json_body(response)
    error = mapping(body)
    code = as_str(error.get("api_error_code") or error.get("error_code"))
    scrub = scrubber or Scrubber()
    if status == 429 or code == "api_request_limit_exceeded":
        return http_error(
            "Chargebee's rate limit was reached; nothing was applied, try again shortly.",
            response=response,
            exchange=exchange,
            error_class=ErrorClass.TRANSIENT,
            code=code or "api_request_limit_exceeded",
        )
    if status == 408:
        return http_error(
            "Chargebee gave up waiting for the request (HTTP 408); nothing was applied.",
            response=response,
            exchange=exchange,
            error_class=ErrorClass.TRANSIENT,
            code=code or "request_timeout",
        )
    if status >= 500:  # gateway pages (non-JSON 502/503/504) included
        # A 5xx on the resend POST is an unknown outcome, always (not only when the next attempt
        # would fall outside Chargebee's 30-minute idempotency window): a 502 or 504 from the
        # gateway can come after the order was applied, and when the next attempt happens is
        # not ours to know here (a bulk job paused and resumed, workers stopped, a long
        # backoff). Inside the window the reconcile is the same-key repeat a retry would have
        # been, so this costs nothing; after it, the reconcile reads the order instead of
        # resending blind.
        method = method_of(response)
        return http_error(
            server_trouble(LABEL, status, method),
            response=response,
            exchange=exchange,
            error_class=error_class_for_status(status, method),
            code=code or "server_error",
        )
    if not error:
        what = "an unexpected redirect" if 300 <= status < 400 else "an unreadable body"
        return http_error(
            f"Chargebee answered HTTP {status} with {what}; check the account's base URL.",
            response=response,
            exchange=exchange,
            error_class=ErrorClass.PERMANENT,
            code=f"http_{status}",
        )
    return http_error(
        scrub.text(plain_message(status, error, order_id)),
        response=response,
        exchange=exchange,
        error_class=ErrorClass.PERMANENT,
        code=code or f"http_{status}",
    )


# --- the client -------------------------------------------------------------------------------


class ChargebeeClient(KeyedClient):
    """`base_url` is the site root, e.g. https://acme-test.chargebee.com (no /api/v2)."""

    provider = "chargebee"

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        form: list[tuple[str, str]] | None = None,
        idempotency_key: str | None = None,
        order_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> tuple[JsonDict, requests.Response, Exchange]:
        headers = {"Accept": "application/json"}  # a fresh dict for every call
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        headers.update(extra_headers or {})
        response, exchange = send(
            self._session,
            method,
            f"{self.base_url}/api/v2{path}",
            label=LABEL,
            timeout=self._timeout,
            headers=headers,
            params=params,
            data=form if form is not None else None,
            auth=HTTPBasicAuth(self._api_key, ""),
            scrubber=self._scrubber,
        )
        if not 200 <= response.status_code < 300:
            raise error_from_response(
                response, exchange, order_id=order_id, scrubber=self._scrubber
            )
        body = json_body(response)
        if not isinstance(body, dict):
            raise unreadable_answer(LABEL, method, response, exchange)
        return body, response, exchange

    # --- operations ---------------------------------------------------------------------------

    def resend_order(
        self,
        order_id: str,
        lines: Iterable[tuple[str, int]] = (),
        shipping_date: int | None = None,
        reason: str | None = None,
        *,
        idempotency_key: str,
        origin_user: str | None = None,
        customer_email: bool = True,
        webhooks: bool = True,
    ) -> ChargebeeResendResult:
        """POST /api/v2/orders/{id}/resend. No lines = a full resend (which cancels the original).

        `origin_user`: the email of whoever asked (Chargebee's history shows it);
        `customer_email` / `webhooks` off: Chargebee sends no email / webhook about it."""
        order_id = check_order_id(order_id)
        form = resend_form(list(lines), shipping_date, reason)
        extra = {
            **origin_headers(origin_user),
            **event_headers(customer_email=customer_email, webhooks=webhooks),
        }
        body, response, exchange = self._call(
            "POST",
            f"/orders/{order_id}/resend",
            form=form,
            idempotency_key=check_idempotency_key(idempotency_key),
            order_id=order_id,
            extra_headers=extra,
        )
        order = parse_order(body.get("order"))
        if not order.id:
            raise unreadable_answer(LABEL, "POST", response, exchange)
        replayed = response.headers.get(REPLAYED_HEADER, "").strip().lower() == "true"
        return ChargebeeResendResult(
            order=order,
            new_order_id=new_order_id(order, order_id),
            replayed=replayed,
            exchange=exchange,
        )

    def get_order(self, order_id: str) -> ChargebeeOrder:
        """GET /api/v2/orders/{id}."""
        order_id = check_order_id(order_id)
        body, _, _ = self._call("GET", f"/orders/{order_id}", order_id=order_id)
        return parse_order(body.get("order"))

    def list_orders(
        self,
        limit: int = 100,
        offset: str | None = None,
        updated_after: int | datetime | None = None,
        sort_by: str | None = "updated_at",
        *,
        include_deleted: bool = False,
    ) -> ChargebeeOrderPage:
        """GET /api/v2/orders, one page, oldest change first (pass `next_offset` back)."""
        if not 1 <= limit <= 100:
            raise invalid_request("limit must be between 1 and 100.")
        params: list[tuple[str, str]] = [("limit", str(limit))]
        if offset:
            params.append(("offset", offset))
        if updated_after is not None:
            seconds = (
                int(updated_after.timestamp())
                if isinstance(updated_after, datetime)
                else int(updated_after)
            )
            params.append(("updated_at[after]", str(seconds)))
        if sort_by:
            params.append(("sort_by[asc]", sort_by))
        if include_deleted:
            params.append(("include_deleted", "true"))
        body, _, _ = self._call("GET", "/orders", params=params)
        return parse_order_page(body)


def new_order_id(order: ChargebeeOrder, original_id: str) -> str:
    """The id of the order a resend created, whichever order Chargebee put in the response.

    The docs do not say whether `order` is the new resend order or the original; the new one has
    `is_resent` and `original_order_id`, the original lists it last in `resent_orders`.
    """
    if order.id != original_id and (order.is_resent or order.original_order_id == original_id):
        return order.id
    if order.id == original_id and order.resent_orders:
        return order.resent_orders[-1].order_id
    return order.id if order.id != original_id else ""
