"""The control API under ``/_sandbox/`` (no auth): inspect, reset, inject faults, emit webhooks."""

from __future__ import annotations

import copy
import functools
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox import chargebee, junction, returnhelper, webhooks
from sandbox.dataset import chargebee_backlog
from sandbox.state import PROVIDERS, SandboxState, parse_fault_config
from sandbox.wire import Request, Response, Route, match_route, route

JsonDict = dict[str, Any]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def handle(state: SandboxState, request: Request, path: str) -> Response:
    found = match_route(ROUTES, request.method, path.rstrip("/") or "/")
    if isinstance(found, str):
        status = 404 if found == "not_found" else 405
        return Response.json(status, {"error": f"{request.method} /_sandbox{path}: {found}"})
    chosen, match = found
    try:
        return chosen.handler(state, request, match)
    except ControlError as exc:
        return Response.json(exc.status, {"error": str(exc)})
    except (ValueError, TypeError) as exc:
        return Response.json(400, {"error": str(exc)})


def _body(request: Request) -> JsonDict:
    if not request.body.strip():
        return {}
    try:
        body = request.json()
    except ValueError as exc:
        raise ControlError(400, f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


def _provider(value: Any) -> str:
    if value not in PROVIDERS:
        raise ControlError(400, f"provider must be one of {', '.join(PROVIDERS)}")
    return str(value)


# --- inspection and configuration -----------------------------------------------------------


def health(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    with state.lock:
        counts = {
            "junction_orders": len(state.junction_orders),
            "chargebee_orders": len(state.chargebee_orders),
            "returnhelper_inventories": len(state.rh_inventories),
            "returnhelper_resends": len(state.rh_resends),
            "ledger_entries": len(state.ledger),
            "webhooks_sent": len(state.webhooks),
        }
    pending = state.dispatcher.pending() if state.dispatcher is not None else 0
    return Response.json(
        200, {"status": "ok", "seed": state.config.seed, "counts": counts, "pending_jobs": pending}
    )


def get_config(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    return Response.json(200, state.config.as_dict())


def post_config(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Change config fields live, keeping the data (``reset`` re-seeds instead)."""
    state.update_config(_body(request))
    return Response.json(200, state.config.as_dict())


def reset(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Re-seed data; clear ledger, idempotency stores, faults, logs. The body's fields override
    the config the sandbox was started with (not the previous reset's)."""
    state.reset(_body(request))
    return Response.json(200, {"status": "reset", "config": state.config.as_dict()})


def ledger(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    entries = state.ledger_entries(request.arg("provider"), request.arg("operation"))
    target = request.arg("target")
    if target is not None:
        entries = [
            e
            for e in entries
            if target == str(e["target"]) or target in map(str, _as_list(e["target"]))
        ]
    return Response.json(200, {"entries": entries})


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def requests_log(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    return Response.json(200, {"requests": state.request_log(request.arg("provider"))})


def clear_requests(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    with state.lock:
        state.requests.clear()
    return Response.json(200, {"requests": []})


def webhook_log(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    return Response.json(200, {"webhooks": state.webhook_log(request.arg("provider"))})


def email_log(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    provider = request.arg("provider")
    with state.lock:
        emails = [e for e in state.emails if not provider or e["provider"] == provider]
    return Response.json(200, {"emails": emails})


def send_webhook(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Sign and send any body as a provider's webhook: ``{"provider", "body": text}`` sends the
    text as it is (not JSON, NaN, deep nesting...), ``{"provider", "payload": json}`` encodes it;
    ``url`` overrides the target. Answers with the record, the app's status included."""
    body = _body(request)
    provider = _provider(body.get("provider"))
    if isinstance(body.get("body"), str):
        raw = body["body"].encode("utf-8")
    elif "payload" in body:
        raw = webhooks.encode(body["payload"])
    else:
        raise ControlError(400, "body (text) or payload (JSON) is required")
    return Response.json(200, {"sent": [webhooks.send_raw(state, provider, raw, body.get("url"))]})


def redeliver(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Send an earlier webhook again (same body and id): a duplicate delivery."""
    seq = _body(request).get("seq")
    if not isinstance(seq, int):
        raise ControlError(400, "seq (int) is required")
    record = webhooks.redeliver(state, seq)
    if record is None:
        raise ControlError(404, f"no webhook with seq {seq}")
    return Response.json(200, {"sent": [record]})


def add_chargebee_orders(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Add `count` (1-100,000) shipped Chargebee orders with no resend yet; answers them."""
    count = _body(request).get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100_000:
        raise ControlError(400, "count must be a whole number from 1 to 100000")
    with state.lock:
        made = chargebee_backlog(
            random.Random(),  # fresh ids after every reset, never the ones of an earlier backlog
            datetime.now(UTC),
            count,
            first=90_000 + len(state.chargebee_orders),
        )
        state.chargebee_orders.update((order["id"], order) for order in made)
    return Response.json(200, {"orders": made})


# --- faults ---------------------------------------------------------------------------------


def get_faults(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    return Response.json(200, {"faults": state.faults_public()})


def post_faults(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Set the faults of one provider (replacing its previous ones); provider "all" sets all."""
    body = _body(request)
    target = body.get("provider")
    names = list(PROVIDERS) if target == "all" else [_provider(target)]
    for name in names:
        state.set_faults(name, parse_fault_config(body))
    return Response.json(200, {"faults": state.faults_public()})


def delete_faults(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    provider = request.arg("provider")
    state.clear_faults(_provider(provider) if provider else None)
    return Response.json(200, {"faults": state.faults_public()})


# --- Return Helper helpers ------------------------------------------------------------------


def advance_resend(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Move a resend to a status by hand (2 inProgress, 3 completed, 4 failed, 1 canceled)
    and send the updateResendStatus webhook when a URL is configured."""
    body = _body(request)
    resend_id, status = body.get("resendId"), body.get("status")
    if not isinstance(resend_id, int) or status not in {1, 2, 3, 4}:
        raise ControlError(400, "resendId (int) and status (1-4) are required")
    payload = returnhelper.set_status(state, resend_id, int(status), body.get("error"))
    if payload is None:
        raise ControlError(404, f"no resend {resend_id}")
    record = webhooks.send_returnhelper(state, payload, url=body.get("url"))
    return Response.json(200, {"payload": payload, "sent": [record] if record else []})


def list_inventories(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Current inventories with their sandbox-only fields; ``?eligible=true`` keeps the ones
    createResend would accept, ``?warehouseId=`` filters by warehouse."""
    warehouse = request.arg("warehouseId")
    eligible = request.arg("eligible")
    with state.lock:
        rows = [copy.deepcopy(i) for i in state.rh_inventories.values()]
    if warehouse:
        rows = [i for i in rows if str(i["warehouseId"]) == warehouse]
    if eligible is not None:
        wanted = eligible.lower() == "true"
        rows = [i for i in rows if is_eligible(i) == wanted]
    return Response.json(200, {"inventories": rows})


def is_eligible(inventory: JsonDict) -> bool:
    return bool(
        inventory["handlingCode"] == "ohd" and inventory["inStock"] and not inventory["pendingVas"]
    )


def patch_inventory(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Change an inventory's handlingCode, inStock, pendingVas or orderRef (test set-up)."""
    body = _body(request)
    allowed = {"handlingCode", "handlingStatusCode", "inStock", "pendingVas", "orderRef"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ControlError(400, f"cannot change: {', '.join(unknown)}")
    with state.lock:
        inventory = state.rh_inventories.get(int(match.group("inventory_id")))
        if inventory is None:
            raise ControlError(404, "no such inventory")
        inventory.update(body)
        return Response.json(200, {"inventory": copy.deepcopy(inventory)})


# --- emitting webhooks ----------------------------------------------------------------------


Sender = Callable[[SandboxState, JsonDict, str | None], JsonDict | None]


def emit(state: SandboxState, request: Request, match: re.Match[str]) -> Response:
    """Emit a provider webhook now (or, with ``"async": true``, from the background thread).

    returnhelper: ``newInventoryCreated`` with ``returnInventoryId`` (an existing one), or
    ``inventory`` (fields for a new one), or ``all: true`` (optionally ``warehouseId``);
    ``updateResendStatus`` with ``resendId``. junction: ``order_id`` and optionally
    ``status`` (appends a new event first). chargebee: ``order_id`` and ``event``
    (``order_updated`` by default, or ``order_resent`` etc.). ``url`` overrides the target.
    """
    body = _body(request)
    provider = _provider(body.get("provider"))
    with state.lock:
        payloads, extra = _build_payloads(state, provider, body)
    sender: Sender = {
        "returnhelper": _send_rh,
        "junction": _send_junction,
        "chargebee": _send_chargebee,
    }[provider]
    url = body.get("url")
    configured = (
        url
        or {
            "returnhelper": state.config.webhook_url,
            "junction": state.config.junction_webhook_url,
            "chargebee": state.config.chargebee_webhook_url,
        }[provider]
    )
    result: JsonDict = {"payloads": payloads, "sent": [], **extra}
    if not configured:
        result["warning"] = f"no webhook URL configured for {provider}; nothing was sent"
        return Response.json(200, result)
    if body.get("async") and state.dispatcher is not None:
        for payload in payloads:
            state.dispatcher.schedule(
                0, functools.partial(_send_quietly, sender, state, payload, url)
            )
        result["scheduled"] = len(payloads)
        return Response.json(200, result)
    for payload in payloads:
        record = sender(state, payload, url)
        if record is not None:
            result["sent"].append(record)
    return Response.json(200, result)


def _send_quietly(sender: Sender, state: SandboxState, payload: JsonDict, url: str | None) -> None:
    sender(state, payload, url)


def _send_rh(state: SandboxState, payload: JsonDict, url: str | None) -> JsonDict | None:
    return webhooks.send_returnhelper(state, payload, url=url)


def _send_junction(state: SandboxState, payload: JsonDict, url: str | None) -> JsonDict | None:
    return webhooks.send_junction(state, payload, url=url)


def _send_chargebee(state: SandboxState, payload: JsonDict, url: str | None) -> JsonDict | None:
    return webhooks.send_chargebee(state, payload, url=url)


def _build_payloads(
    state: SandboxState, provider: str, body: JsonDict
) -> tuple[list[JsonDict], JsonDict]:
    event = body.get("event")
    if provider == "returnhelper":
        if event in (None, "newInventoryCreated"):
            return _inventory_payloads(state, body)
        if event == "updateResendStatus":
            resend = state.rh_resends.get(int(body.get("resendId", -1)))
            if resend is None:
                raise ControlError(404, "no such resend")
            return [returnhelper.status_webhook(state, resend)], {}
        raise ControlError(400, "returnhelper events: newInventoryCreated, updateResendStatus")
    order_id = str(body.get("order_id") or "")
    if provider == "junction":
        if order_id not in state.junction_orders:
            raise ControlError(404, "no such Junction order")
        if body.get("status"):
            junction.advance_order(state, order_id, str(body["status"]))
        return [junction.order_webhook(state, order_id)], {}
    order = state.chargebee_orders.get(order_id)
    if order is None:
        raise ControlError(404, "no such Chargebee order")
    return [chargebee.order_event(state, str(event or "order_updated"), order)], {}


def _inventory_payloads(state: SandboxState, body: JsonDict) -> tuple[list[JsonDict], JsonDict]:
    if body.get("all"):
        warehouse = body.get("warehouseId")
        ids = [
            i
            for i, inv in state.rh_inventories.items()
            if warehouse is None or int(inv["warehouseId"]) == int(warehouse)
        ]
        return [returnhelper.inventory_created_webhook(state, i) for i in ids], {}
    if body.get("returnInventoryId") is not None:
        inventory_id = int(body["returnInventoryId"])
        if inventory_id not in state.rh_inventories:
            raise ControlError(404, "no such return inventory")
    else:
        fields = body.get("inventory") or {}
        if not isinstance(fields, dict):
            raise ControlError(400, "inventory must be an object")
        inventory_id = int(returnhelper.create_inventory(state, fields)["returnInventoryId"])
    payload = returnhelper.inventory_created_webhook(state, inventory_id)
    return [payload], {"returnInventoryId": inventory_id}


ROUTES: list[Route] = [
    route("GET", r"/health", health),
    route("GET", r"/config", get_config),
    route("POST", r"/config", post_config),
    route("POST", r"/reset", reset),
    route("GET", r"/ledger", ledger),
    route("GET", r"/requests", requests_log),
    route("DELETE", r"/requests", clear_requests),
    route("GET", r"/webhooks", webhook_log),
    route("GET", r"/emails", email_log),
    route("POST", r"/webhooks/redeliver", redeliver),
    route("POST", r"/webhooks/send", send_webhook),
    route("GET", r"/faults", get_faults),
    route("POST", r"/faults", post_faults),
    route("DELETE", r"/faults", delete_faults),
    route("POST", r"/emit", emit),
    route("POST", r"/chargebee/orders", add_chargebee_orders),
    route("POST", r"/returnhelper/advance", advance_resend),
    route("GET", r"/inventories", list_inventories),
    route("POST", r"/inventories/(?P<inventory_id>\d+)", patch_inventory),
]
