"""Return Helper user and public APIs: resends, service types, reference lists.

Every response is the envelope ``{"correlationId", "meta": {status, data, errorCode, error},
...payload}``. Validation failures are HTTP 200 with ``meta.status`` 400 ("soft errors").
"""

from __future__ import annotations

import copy
import html
import re
import uuid
from collections.abc import Callable
from typing import Any

from sandbox import people, reference, webhooks
from sandbox.state import FIRST_RUNTIME_RESEND_ID, IdempotencyRecord, SandboxState
from sandbox.wire import Request, Response, Route, match_route, route

JsonDict = dict[str, Any]
PREFIX = "/returnhelper"
USER_API = "/user/api"
PUBLIC_API = "/public/api"
IDEMPOTENCY_HEADER = "x-returnhelper-idempotency-key"
MAX_PAGE_SIZE = 50
DEFAULT_PAGE_SIZE = 20
INVALID_ADDRESS_MARKER = "INVALID"
_LENGTH_LIMITS = {
    "shipmentName": 255,
    "shipmentStreet1": 255,
    "shipmentStreet2": 255,
    "shipmentStreet3": 255,
    "shipmentCity": 50,
    "shipmentState": 50,
    "shipmentPostalCode": 50,
    "shipmentPhone": 50,
    "shipmentFax": 50,
    "shipmentEmail": 255,
}
_REQUIRED = (
    "shipmentName",
    "shipmentStreet1",
    "shipmentCity",
    "shipmentCountryCode",
    "shipmentServiceType",
)
_SYSTEM_NUMBERS = ("resendNumber", "resendShipmentNumber")


def is_mutating(method: str, path: str) -> bool:
    return method == "POST"


def label(name: str) -> str:
    """FluentValidation-style label: 'returnInventoryIdList' -> 'return Inventory Id List'."""
    return re.sub(r"(?<!^)([A-Z])", r" \1", name)


def envelope(
    payload: JsonDict | None = None,
    *,
    status: int = 200,
    error_code: str | None = None,
    error: JsonDict | None = None,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    body: JsonDict = {
        "correlationId": str(uuid.uuid4()),
        "meta": {"status": status, "data": None, "errorCode": error_code, "error": error},
    }
    body.update(payload or {})
    return Response.json(http_status, body, headers)


def soft_error(errors: JsonDict, status: int = 400, code: str = "VALIDATION_FAILED") -> Response:
    return envelope(status=status, error_code=code, error=errors)


def rate_limited(retry_after: int) -> Response:
    return envelope(
        status=429,
        error_code="TOO_MANY_REQUESTS",
        error={"request": "Too many requests."},
        http_status=429,
        headers={"Retry-After": str(retry_after)},
    )


def server_error(status: int, plain: bool) -> Response:
    if plain:
        return Response.text(status, "Service Unavailable")
    return envelope(
        status=status,
        error_code="SERVICE_UNAVAILABLE",
        error={"request": "Service temporarily unavailable."},
        http_status=status,
    )


LABELS = "/labels/"  # sandbox convenience: a printable page per shipment label


def shipping_label(state: SandboxState, label_id: str) -> Response:
    """The label of a completed resend's shipment (what a warehouse portal's label link opens),
    as a small page; 404 for a label nobody made."""
    with state.lock:
        for resend in state.rh_resends.values():
            for shipment in resend.get("resendShipmentList") or []:
                if label_id.isdigit() and shipment.get("shipmentLabelId") == int(label_id):
                    lines = [
                        f"Shipping label {label_id}",
                        f"Resend {resend.get('resendNumber') or resend['resendId']}",
                        f"Service {shipment.get('shipmentServiceType') or '-'}",
                        f"Tracking {shipment.get('trackingNumber') or '-'}",
                        f"To {shipment.get('shipmentName') or '-'}, "
                        f"{shipment.get('shipmentCity') or '-'}",
                    ]
                    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
                    page = f"<!doctype html><title>Label {html.escape(label_id)}</title>{body}"
                    return Response.text(200, page, "text/html")
    return Response.text(404, "No such label.", "text/plain")


def handle(state: SandboxState, request: Request, path: str) -> Response:
    lowered = path.lower()
    if lowered.startswith(USER_API):
        if request.header("x-rr-apikey") != state.config.rh_api_key or (
            request.header("x-rr-apitoken") != state.config.rh_api_token
        ):
            return envelope(
                status=401,
                error_code="UNAUTHORIZED",
                error={"x-rr-apikey": "Invalid API key or API token."},
                http_status=401,
            )
        routes, sub = USER_ROUTES, path[len(USER_API) :]
    elif lowered.startswith(PUBLIC_API):
        routes, sub = PUBLIC_ROUTES, path[len(PUBLIC_API) :]
    elif lowered.startswith(LABELS) and request.method == "GET":
        return shipping_label(state, path[len(LABELS) :])
    else:
        return envelope(status=404, error_code="NOT_FOUND", error={"path": path}, http_status=404)
    found = match_route(routes, request.method, sub)
    if isinstance(found, str):
        status = 404 if found == "not_found" else 405
        return envelope(
            status=status, error_code="NOT_FOUND", error={"path": path}, http_status=status
        )
    chosen, match = found
    return chosen.handler(state, request, match)


# --- idempotency ----------------------------------------------------------------------------


def idempotent(
    state: SandboxState,
    request: Request,
    operation: str,
    apply: Callable[[str | None], Response],
) -> Response:
    """Run ``apply()`` once per ``x-returnhelper-idempotency-key`` (no TTL).

    A repeated key returns the stored response byte for byte, whatever the new body says
    (Return Helper "runs a repeated key only once"). Sandbox choice: only successful
    responses (meta.status 200) are stored, so a soft error can be fixed and retried.
    """
    key = (request.header(IDEMPOTENCY_HEADER) or "").strip() or None
    if key is not None:
        record = state.rh_idempotency.get((operation, key))
        if record is not None:
            return Response(status=record.status, body=record.body, headers=dict(record.headers))
    response = apply(key)
    payload = response.payload()
    if key is not None and isinstance(payload, dict) and payload["meta"]["status"] == 200:
        state.rh_idempotency[(operation, key)] = IdempotencyRecord(
            "", response.status, response.body, dict(response.headers), state.now()
        )
    return response


def _json_body(request: Request) -> JsonDict | Response:
    try:
        body = request.json()
    except ValueError:
        return soft_error({"body": "The request body is not valid JSON."})
    if not isinstance(body, dict):
        return soft_error({"body": "The request body must be a JSON object."})
    return body


# --- POST /Resend/createResend --------------------------------------------------------------


def create_resend(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    body = _json_body(request)
    if isinstance(body, Response):
        return body
    return idempotent(state, request, "createResend", lambda key: _create(state, body, key))


def _inventory_ids(raw: Any, errors: JsonDict) -> list[int]:
    if raw is None or raw == []:
        errors["returnInventoryIdList"] = f"'{label('returnInventoryIdList')}' must not be empty."
        return []
    if not isinstance(raw, list):
        errors["returnInventoryIdList"] = (
            f"'{label('returnInventoryIdList')}' must be a list of ids."
        )
        return []
    ids: list[int] = []
    for index, value in enumerate(raw):
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())
        ):
            errors[f"returnInventoryIdList[{index}]"] = (
                f"'{value}' is not a valid return inventory id."
            )
            continue
        number = int(value)
        if number in ids:
            errors[f"returnInventoryIdList[{index}]"] = (
                f"Return inventory {number} is listed twice."
            )
            continue
        ids.append(number)
    return ids


def check_inventories(state: SandboxState, ids: list[int], errors: JsonDict) -> int | None:
    """The eligibility rules; returns the (single) warehouse id when they can be checked."""
    group_max = state.config.group_max
    if len(ids) > group_max:
        errors["returnInventoryIdList"] = (
            f"'{label('returnInventoryIdList')}' must not contain more than {group_max} items."
        )
    found: list[JsonDict] = []
    for index, inventory_id in enumerate(ids):
        field = f"returnInventoryIdList[{index}]"
        inventory = state.rh_inventories.get(inventory_id)
        if inventory is None:
            errors[field] = f"Return inventory {inventory_id} was not found."
            continue
        found.append(inventory)
        if inventory["handlingCode"] != "ohd":
            errors[field] = (
                f"Return inventory {inventory_id} has handling '{inventory['handlingCode']}' "
                "and cannot be changed to 'rsd'."
            )
        elif not inventory.get("inStock", True):
            errors[field] = f"Return inventory {inventory_id} is not in stock."
        elif inventory.get("pendingVas"):
            errors[field] = f"Return inventory {inventory_id} has pending VAS requests."
    warehouses = {int(inventory["warehouseId"]) for inventory in found}
    if len(warehouses) > 1:
        errors["returnInventoryIdList"] = "All return inventories must be in the same warehouse."
        return None
    return warehouses.pop() if warehouses else None


def check_shipment(
    state: SandboxState, shipment: Any, warehouse_id: int | None, errors: JsonDict
) -> None:
    if not isinstance(shipment, dict):
        errors["resendShipment"] = f"'{label('resendShipment')}' must not be empty."
        return
    for name in _SYSTEM_NUMBERS:
        if name in shipment:
            errors[f"resendShipment.{name}"] = (
                f"'{name}' is generated by the system and must not be supplied."
            )
    for name in _REQUIRED:
        value = shipment.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[f"resendShipment.{name}"] = f"'{label(name)}' must not be empty."
    for name, limit in _LENGTH_LIMITS.items():
        value = shipment.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[f"resendShipment.{name}"] = f"'{label(name)}' must be a string."
        elif len(value) > limit:
            errors[f"resendShipment.{name}"] = (
                f"'{label(name)}' must be {limit} characters or fewer. "
                f"You entered {len(value)} characters."
            )
    country = shipment.get("shipmentCountryCode")
    if isinstance(country, str) and country and country not in reference.ISO3_CODES:
        errors["resendShipment.shipmentCountryCode"] = (
            f"'{country}' is not a valid country code (ISO3, lower-case, e.g. 'usa')."
        )
        return
    service = shipment.get("shipmentServiceType")
    if warehouse_id is None or not isinstance(service, str) or not service or not country:
        return
    if not service_allowed(warehouse_id, service, str(country)):
        errors["resendShipment.shipmentServiceType"] = (
            f"Shipment service type '{service}' is not available from warehouse {warehouse_id} "
            f"to '{country}'."
        )


def service_allowed(warehouse_id: int, service: str, country: str) -> bool:
    return any(
        row["serviceTypeCode"] == service
        and pair["warehouseId"] == warehouse_id
        and pair["toCountryCode"] == country
        for row in reference.service_types()
        for pair in row["countryCodePairList"]
    )


def _create(state: SandboxState, body: JsonDict, key: str | None) -> Response:
    errors: JsonDict = {}
    for name in _SYSTEM_NUMBERS:
        if name in body:
            errors[name] = f"'{name}' is generated by the system and must not be supplied."
    ids = _inventory_ids(body.get("returnInventoryIdList"), errors)
    warehouse_id = check_inventories(state, ids, errors) if ids else None
    check_shipment(state, body.get("resendShipment"), warehouse_id, errors)
    if errors or warehouse_id is None:
        return soft_error(errors or {"returnInventoryIdList": "No valid return inventory given."})
    resend = _store_resend(state, body, ids, warehouse_id, key)
    state.record_effect(
        "returnhelper",
        "createResend",
        ids,
        key,
        {"resendId": resend["resendId"], "resendNumber": resend["resendNumber"]},
        {
            "warehouseId": warehouse_id,
            "shipmentCountryCode": body["resendShipment"]["shipmentCountryCode"],
            "shipmentServiceType": body["resendShipment"]["shipmentServiceType"],
        },
    )
    if state.config.rh_auto_progress:
        schedule_progress(state, resend["resendId"], to_status=2)
    return envelope(
        {
            "resendId": resend["resendId"],
            "resendNumber": resend["resendNumber"],
            "resendShipmentId": resend["resendShipmentList"][0]["resendShipmentId"],
        }
    )


def _store_resend(
    state: SandboxState, body: JsonDict, ids: list[int], warehouse_id: int, key: str | None
) -> JsonDict:
    now = state.now_iso()
    resend_id = state.next_resend_id
    state.next_resend_id += 1
    shipment_id = state.next_resend_shipment_id
    state.next_resend_shipment_id += 1
    given = body["resendShipment"]
    inventories = [state.rh_inventories[i] for i in ids]
    shipment: JsonDict = {
        "resendShipmentId": shipment_id,
        "resendId": resend_id,
        "warehouseId": warehouse_id,
        "resendShipmentNumber": f"RSS-{shipment_id:06d}",
    }
    for name in ("shipmentServiceType", "shipmentCountryCode", *_LENGTH_LIMITS):
        shipment[name] = given.get(name, "" if name in _LENGTH_LIMITS else None)
    shipment.update(
        {
            "trackingNumber": None,
            "costCurrencyCode": inventories[0]["valueCurrencyCode"],
            "cost": None,
            "chargeTypeCode": "resend",
            "chargeableWeight": sum(int(i["weight"]) for i in inventories),
            "shipmentLabelId": None,
            "error": None,
        }
    )
    resend: JsonDict = {
        "resendId": resend_id,
        "apiId": 7,
        "resendNumber": f"RS-{resend_id:06d}",
        "resendStatusCode": 0,
        "warehouseId": warehouse_id,
        "description": body.get("description"),
        "remarks": body.get("remarks"),
        "warehouseRemarks": None,
        "sellerReferenceNumber": body.get("sellerReferenceNumber"),
        "createOn": now,
        "modifyOn": now,
        "returnRequestLineItemId": None,
        "returnRequestLineItemNumber": None,
        "returnInventoryIdList": ids,
        "resendShipmentList": [shipment],
        "idempotencyKey": key,
    }
    state.rh_resends[resend_id] = resend
    for inventory in inventories:
        _set_handling(inventory, "rsd", 0, now)
    return resend


def _set_handling(inventory: JsonDict, code: str, status: int, now: str) -> None:
    inventory["handlingCode"] = code
    inventory["handlingStatusCode"] = status
    inventory["handlingUpdatedOn"] = now
    inventory["modifyOn"] = now


# --- lifecycle ------------------------------------------------------------------------------


def render_resend(state: SandboxState, resend: JsonDict) -> JsonDict:
    """A resend as getResend returns it (ResendResponse)."""
    out = {
        k: copy.deepcopy(v)
        for k, v in resend.items()
        if k not in {"returnInventoryIdList", "idempotencyKey"}
    }
    out["returnInventoryList"] = [
        copy.deepcopy(state.rh_inventories[i]) for i in resend["returnInventoryIdList"]
    ]
    return out


def status_webhook(state: SandboxState, resend: JsonDict) -> JsonDict:
    rendered = render_resend(state, resend)
    return {
        "category": "resend",
        "action": "updateResendStatus",
        "eventTime": state.now_iso(),
        "notificationId": webhooks.new_notification_id(),
        "version": "1",
        "resend": {
            k: v
            for k, v in rendered.items()
            if k not in {"resendShipmentList", "returnInventoryList"}
        },
        "resendShipmentList": rendered["resendShipmentList"],
        "returnInventoryList": rendered["returnInventoryList"],
    }


def set_status(
    state: SandboxState, resend_id: int, status: int, error_message: str | None = None
) -> JsonDict | None:
    """Move a resend to ``status`` and update its inventories; returns the webhook payload."""
    with state.lock:
        resend = state.rh_resends.get(resend_id)
        if resend is None:
            return None
        now = state.now_iso()
        resend["resendStatusCode"] = status
        resend["modifyOn"] = now
        inventories = [state.rh_inventories[i] for i in resend["returnInventoryIdList"]]
        for shipment in resend["resendShipmentList"]:
            if status == 3:
                shipment["trackingNumber"] = f"9400{state.rng.randint(10**17, 10**18 - 1)}"
                shipment["shipmentLabelId"] = 30_000 + resend_id
                shipment["cost"] = round(state.rng.uniform(4, 15), 2)
                shipment["error"] = None
            if status == 4:
                shipment["error"] = {"message": error_message or "Invalid address."}
        for inventory in inventories:
            if status == 2:
                _set_handling(inventory, "rsd", 1, now)
            elif status == 3:
                _set_handling(inventory, "rsd", 2, now)
                inventory["completeOn"] = now
                inventory["inStock"] = False
            elif status in {1, 4}:
                # Sandbox choice: a canceled or failed resend puts its items back on hold.
                _set_handling(inventory, "ohd", 0, now)
        return status_webhook(state, resend)


def schedule_progress(state: SandboxState, resend_id: int, to_status: int) -> None:
    """pending -> inProgress -> completed (or failed for an 'INVALID' street), one delay apart."""
    if state.dispatcher is None:
        return
    generation = state.generation
    state.dispatcher.schedule(
        state.config.webhook_delay, lambda: _progress(state, resend_id, to_status, generation)
    )


def _progress(state: SandboxState, resend_id: int, to_status: int, generation: int) -> None:
    with state.lock:
        if state.generation != generation:
            return  # the sandbox was reset meanwhile; resend ids start over
        resend = state.rh_resends.get(resend_id)
        expected = 0 if to_status == 2 else 2
        if resend is None or resend["resendStatusCode"] != expected:
            return  # canceled or moved by hand meanwhile
        if to_status == 3:
            street = str(resend["resendShipmentList"][0].get("shipmentStreet1") or "")
            to_status = 4 if INVALID_ADDRESS_MARKER in street.upper() else 3
        payload = set_status(state, resend_id, to_status)
        state.save()
    if payload is not None:
        webhooks.send_returnhelper(state, payload)
    if to_status == 2:
        schedule_progress(state, resend_id, to_status=3)


def resume_progress(state: SandboxState) -> None:
    """After a restart from a state file: resends made at run time that were still on their way
    (pending or in progress) move on again; the seeded ones stay where the dataset put them."""
    if not state.config.rh_auto_progress:
        return
    with state.lock:
        moving = [
            (resend_id, 2 if resend["resendStatusCode"] == 0 else 3)
            for resend_id, resend in state.rh_resends.items()
            if resend_id >= FIRST_RUNTIME_RESEND_ID and resend["resendStatusCode"] in (0, 2)
        ]
    for resend_id, to_status in moving:
        schedule_progress(state, resend_id, to_status)


# --- GET /resend/getResend, /resend/searchResend --------------------------------------------


def _int_arg(
    request: Request, name: str, errors: JsonDict, default: int | None = None
) -> int | None:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?\d+", raw.strip()):
        errors[name] = f"'{label(name)}' must be a number."
        return default
    return int(raw)


def get_resend(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    errors: JsonDict = {}
    resend_id = _int_arg(request, "resendId", errors)
    if resend_id is None and not errors:
        errors["resendId"] = f"'{label('resendId')}' must not be empty."
    if errors or resend_id is None:
        return soft_error(errors)
    resend = state.rh_resends.get(resend_id)
    if resend is None:
        return soft_error({"resendId": f"Resend {resend_id} was not found."}, 404, "NOT_FOUND")
    return envelope(render_resend(state, resend))


def search_resend(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Search resends. Besides the documented filters the sandbox accepts ``idempotencyKey``
    (the key a resend was created with) and ``sellerReferenceNumber``, so a client can find
    a resend it may have created, as a lookup by its own reference would."""
    errors: JsonDict = {}
    page_size = _int_arg(request, "pageSize", errors, DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE
    offset = _int_arg(request, "offset", errors, 0) or 0
    status = _int_arg(request, "resendStatusCode", errors)
    warehouse_id = _int_arg(request, "warehouseId", errors)
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        errors["pageSize"] = f"'{label('pageSize')}' must be between 1 and {MAX_PAGE_SIZE}."
    if offset < 0:
        errors["offset"] = "'offset' must be greater than or equal to 0."
    if errors:
        return soft_error(errors)
    exact = {
        "resendNumber": request.arg("resendNumber"),
        "idempotencyKey": request.arg("idempotencyKey"),
        "sellerReferenceNumber": request.arg("sellerReferenceNumber"),
    }
    country = request.arg("shipmentCountryCode")
    name = (request.arg("shipmentName") or "").lower()
    matches: list[JsonDict] = []
    for resend in sorted(state.rh_resends.values(), key=lambda r: -int(r["resendId"])):
        shipment = resend["resendShipmentList"][0]
        if any(value is not None and resend.get(k) != value for k, value in exact.items()):
            continue
        if status is not None and resend["resendStatusCode"] != status:
            continue
        if warehouse_id is not None and resend["warehouseId"] != warehouse_id:
            continue
        if country and shipment.get("shipmentCountryCode") != country:
            continue
        if name and name not in str(shipment.get("shipmentName") or "").lower():
            continue
        matches.append(resend)
    page = [render_resend(state, r) for r in matches[offset : offset + page_size]]
    return envelope(
        {
            "searchResendPayloadList": page,
            "totalNumberOfRecords": len(matches),
            "pageSize": page_size,
            "offset": offset,
        }
    )


# --- POST /Resend/cancelResend --------------------------------------------------------------


def cancel_resend(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    body = _json_body(request)
    if isinstance(body, Response):
        return body
    return idempotent(state, request, "cancelResend", lambda key: _cancel(state, body, key))


def _cancel(state: SandboxState, body: JsonDict, key: str | None) -> Response:
    raw = body.get("resendId")
    if isinstance(raw, bool) or not (
        isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit())
    ):
        return soft_error({"resendId": f"'{label('resendId')}' must not be empty."})
    resend = state.rh_resends.get(int(raw))
    if resend is None:
        return soft_error({"resendId": f"Resend {raw} was not found."}, 404, "NOT_FOUND")
    current = int(resend["resendStatusCode"])
    if current != 0:
        name = reference.RESEND_STATUS_NAMES.get(current, str(current))
        return soft_error(
            {
                "resendId": f"Resend {resend['resendNumber']} is '{name}' and can no longer be "
                "canceled; contact support if the warehouse has shipped it."
            }
        )
    payload = set_status(state, int(raw), 1)
    state.record_effect(
        "returnhelper",
        "cancelResend",
        int(raw),
        key,
        {"resendId": int(raw), "resendStatusCode": 1},
        {"returnInventoryIdList": list(resend["returnInventoryIdList"])},
    )
    if payload is not None and state.dispatcher is not None and state.config.webhook_url:
        state.dispatcher.schedule(0, lambda: _send(state, payload))
    return envelope(
        {"resendId": int(raw), "resendShipmentList": copy.deepcopy(resend["resendShipmentList"])}
    )


def _send(state: SandboxState, payload: JsonDict) -> None:
    webhooks.send_returnhelper(state, payload)


# --- service types and public reference lists -----------------------------------------------


def available_service_types(
    state: SandboxState, request: Request, match: re.Match[str]
) -> Response:
    errors: JsonDict = {}
    warehouse_id = _int_arg(request, "warehouseId", errors)
    if warehouse_id is None and not errors:
        errors["warehouseId"] = f"'{label('warehouseId')}' must not be empty."
    if errors or warehouse_id is None:
        return soft_error(errors)
    if reference.warehouse_country(warehouse_id) is None:
        return soft_error({"warehouseId": f"Warehouse {warehouse_id} was not found."})
    rows = []
    for row in reference.service_types():
        pairs = [p for p in row["countryCodePairList"] if p["warehouseId"] == warehouse_id]
        if pairs:
            rows.append({**row, "countryCodePairList": pairs})
    return envelope({"data": rows})


def all_resend_statuses(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    return envelope({"resendStatusList": [dict(row) for row in reference.RESEND_STATUSES]})


def all_countries(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    return envelope({"countries": reference.countries()})


def all_handlings(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    return envelope({"handlingList": [dict(row) for row in reference.HANDLINGS]})


def all_handling_statuses(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    return envelope({"handlingStatusList": [dict(row) for row in reference.HANDLING_STATUSES]})


# --- newInventoryCreated (used by the control API) ------------------------------------------


def create_inventory(state: SandboxState, fields: JsonDict) -> JsonDict:
    """Add a new inventory (eligible unless ``fields`` say otherwise) and its return shipment."""
    inventory_id = state.next_inventory_id
    state.next_inventory_id += state.rng.randint(1, 7)
    warehouse_id = int(fields.get("warehouseId", 11))
    order = state.chargebee_orders.get(str(fields.get("orderRef") or ""))
    if order is not None:
        line = state.rng.choice(order["order_line_items"])
        sku, description = str(line["sku"]), str(line["description"])
    else:
        sku, description, _ = state.rng.choice(people.PRODUCTS)
    now = state.now_iso()
    shipment_id = max(state.rh_shipments, default=880_000) + 1
    inventory: JsonDict = {
        "returnInventoryId": inventory_id,
        "warehouseId": warehouse_id,
        "apiId": 7,
        "description": fields.get("description", description),
        "quantity": int(fields.get("quantity", 1)),
        "dimension1": 20.0,
        "dimension2": 15.0,
        "dimension3": 5.0,
        "dimensionUom": "cm",
        "weight": 400,
        "weightUom": "g",
        "valueCurrencyCode": "USD" if warehouse_id == 11 else "EUR",
        "value": 25.0,
        "handlingCode": str(fields.get("handlingCode", "ohd")),
        "handlingStatusCode": 0,
        "completeOn": None,
        "warehouseRemarks": None,
        "handlingUpdatedOn": now,
        "sku": fields.get("sku", sku),
        "rma": f"TWN-20-{inventory_id % 1_000_000:06d}-D{state.rng.randint(10000, 99999)}-36",
        "modifyOn": now,
        "createOn": now,
        "imageList": [],
        "returnInventoryMetaList": [],
        "inStock": bool(fields.get("inStock", True)),
        "pendingVas": bool(fields.get("pendingVas", False)),
        "orderRef": order["id"] if order is not None else fields.get("orderRef"),
        "shipmentId": shipment_id,
    }
    state.rh_inventories[inventory_id] = inventory
    state.rh_shipments[shipment_id] = {
        "shipmentId": shipment_id,
        "returnRequestId": 60_000 + shipment_id % 10_000,
        "trackingNumber": f"TRK{state.rng.randint(10**9, 10**10 - 1)}",
        "referenceNumber": inventory["orderRef"] or f"RR-{shipment_id}",
        "serviceType": "SHIPMENT_USPS_RETURN" if warehouse_id == 11 else "SHIPMENT_DHL_RETURN",
        "customFieldMap": {},
        "shipToWarehouse": "US-NJ" if warehouse_id == 11 else "DE-FRA",
        "shipToWarehouseId": warehouse_id,
        "receiveDate": now,
    }
    return inventory


def inventory_created_webhook(state: SandboxState, inventory_id: int) -> JsonDict:
    """The newInventoryCreated body; ids are strings, as in Return Helper's own sample."""
    inventory = copy.deepcopy(state.rh_inventories[inventory_id])
    for name in ("returnInventoryId", "warehouseId", "apiId"):
        inventory[name] = str(inventory[name])
    shipment = copy.deepcopy(state.rh_shipments.get(int(inventory["shipmentId"]), {}))
    for name in ("shipmentId", "returnRequestId", "shipToWarehouseId"):
        if name in shipment:
            shipment[name] = str(shipment[name])
    inventory["shipmentId"] = str(inventory["shipmentId"])
    return {
        "category": "newInventoryCreated",
        "action": "newInventoryCreated",
        "eventTime": state.now_iso(),
        "notificationId": webhooks.new_notification_id(),
        "version": "2",
        "returnInventory": inventory,
        "shipment": shipment,
    }


_I = True  # Return Helper routes are case-insensitive (ASP.NET routing)
USER_ROUTES: list[Route] = [
    route("POST", r"/resend/createResend", create_resend, _I),
    route("GET", r"/resend/getResend", get_resend, _I),
    route("GET", r"/resend/searchResend", search_resend, _I),
    route("POST", r"/resend/cancelResend", cancel_resend, _I),
    route("GET", r"/shipment/getAvailableShipmentServiceType", available_service_types, _I),
]
PUBLIC_ROUTES: list[Route] = [
    route("GET", r"/resendstatus/getAllResendStatus", all_resend_statuses, _I),
    route("GET", r"/country/getAllCountries", all_countries, _I),
    route("GET", r"/handling/getAllHandlings", all_handlings, _I),
    route("GET", r"/handlingstatus/getAllHandlingStatus", all_handling_statuses, _I),
]
