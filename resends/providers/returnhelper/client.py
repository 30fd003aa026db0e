"""Return Helper (returnhelper.com) resends: create, read, search, cancel; reference lists.

Every answer is an envelope `{correlationId, meta: {status, data, errorCode, error}, ...}` and
validation errors arrive as HTTP 200 with `meta.status: 400` (providers.md §3.3), so the envelope
decides, never the HTTP status alone. Ids are documented as long but arrive as strings too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

import requests

from ..base import ErrorClass, Exchange, ProviderError
from ..errors import (
    error_class_for_status,
    http_error,
    invalid_request,
    method_of,
    sentence,
    server_trouble,
    unreadable_answer,
)
from ..http import KeyedClient, Timeout, send
from ..parsing import (
    JsonDict,
    as_bool,
    as_int,
    as_str,
    iso_datetime,
    items,
    json_body,
    mapping,
)

if TYPE_CHECKING:
    from resends.accounts import AccountConfig

LABEL = "Return Helper"
IDEMPOTENCY_HEADER = "x-returnhelper-idempotency-key"
REPLAYED_HEADERS = ("x-returnhelper-idempotency-replayed", "idempotency-replayed")
DEFAULT_GROUP_MAX = 5  # ResendConfig.groupResendMaxRmaCount is not published; settings override
MAX_PAGE_SIZE = 50
# resendStatusCode (models/Resend/ResendPayload.csv); live labels come from resend_statuses().
RESEND_STATUS_NAMES = {0: "pending", 1: "canceled", 2: "inProgress", 3: "completed", 4: "failed"}
# handlingCode and handlingStatusCode (Webhook.rst tables); sent as numbers or as these names.
HANDLING_CODES = {0: "tbc", 1: "rtn", 2: "dis", 3: "rsd", 4: "ohd", 5: "oth"}
HANDLING_STATUS_CODES = {0: "pending", 1: "inProgress", 2: "completed"}
SHIPMENT_REQUIRED = (
    "shipmentServiceType",
    "shipmentCountryCode",
    "shipmentName",
    "shipmentStreet1",
    "shipmentCity",
)  # no postal code: some destinations (Hong Kong) have none
SHIPMENT_MAX_LENGTHS = {
    "shipmentName": 255,
    "shipmentStreet1": 255,
    "shipmentStreet2": 255,
    "shipmentStreet3": 255,
    "shipmentCity": 50,
    "shipmentPostalCode": 50,
}


@dataclass(frozen=True)
class ResendShipment:
    resend_shipment_id: int | None
    resend_shipment_number: str
    warehouse_id: int | None
    service_type: str
    country_code: str
    name: str
    tracking_number: str
    cost: float | None
    currency_code: str
    label_id: int | None
    error: str  # e.g. "Invalid address." when the resend failed
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ResendRecord:
    resend_id: int | None
    resend_number: str
    status_code: int | None
    status: str  # name for status_code; "" when unknown
    warehouse_id: int | None
    description: str
    remarks: str
    warehouse_remarks: str
    seller_reference_number: str
    created_at: datetime | None
    modified_at: datetime | None
    inventory_ids: tuple[int, ...]
    shipments: tuple[ResendShipment, ...]
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)

    @property
    def tracking_number(self) -> str:
        return next((s.tracking_number for s in self.shipments if s.tracking_number), "")


@dataclass(frozen=True)
class ResendSearchPage:
    records: tuple[ResendRecord, ...]
    total: int | None
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class CreateResendResult:
    resend_id: int
    resend_number: str
    resend_shipment_id: int | None
    correlation_id: str
    replayed: bool
    exchange: Exchange | None = field(default=None, repr=False, compare=False)
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class CancelResendResult:
    resend_id: int | None
    shipments: tuple[ResendShipment, ...]
    correlation_id: str
    replayed: bool
    exchange: Exchange | None = field(default=None, repr=False, compare=False)
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class CountryPair:
    warehouse_id: int | None
    from_country: str
    to_country: str
    description: str


@dataclass(frozen=True)
class ServiceType:
    code: str
    name: str
    routes: tuple[CountryPair, ...]
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)

    def serves(self, warehouse_id: int, to_country: str) -> bool:
        return any(
            (route.warehouse_id in (None, warehouse_id)) and route.to_country == to_country.lower()
            for route in self.routes
        )


@dataclass(frozen=True)
class Country:
    code: str  # ISO3 lower-case, e.g. "usa"
    name: str


@dataclass(frozen=True)
class ResendStatus:
    code: int | None
    name: str
    description: str


@dataclass(frozen=True)
class InventoryItem:
    """A returned item held at a warehouse (`returnInventory` of newInventoryCreated, an entry of
    a resend's `returnInventoryList`)."""

    id: str  # returnInventoryId as text: it arrives as a number and as a string
    warehouse_id: str
    handling_code: str  # "ohd", "rsd", ... (decoded when it arrives as a number)
    handling_status: str  # "pending", "inProgress", "completed"
    rma: str
    sku: str
    description: str
    quantity: int
    in_stock: bool
    pending_vas: bool
    created_at: datetime | None
    modified_at: datetime | None
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)


# --- raw JSON -> dataclasses (reused by the mirror sync and the webhook handler) ---------------


def parse_shipment(raw: Any) -> ResendShipment:
    data = mapping(raw)
    error = data.get("error")
    cost = data.get("cost")
    return ResendShipment(
        resend_shipment_id=as_int(data.get("resendShipmentId")),
        resend_shipment_number=as_str(data.get("resendShipmentNumber")),
        warehouse_id=as_int(data.get("warehouseId")),
        service_type=as_str(data.get("shipmentServiceType")),
        country_code=as_str(data.get("shipmentCountryCode")).lower(),
        name=as_str(data.get("shipmentName")),
        tracking_number=as_str(data.get("trackingNumber")),
        cost=float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
        currency_code=as_str(data.get("costCurrencyCode")),
        label_id=as_int(data.get("shipmentLabelId")),
        error=as_str(mapping(error).get("message"))
        if isinstance(error, Mapping)
        else as_str(error),
        raw=data,
    )


def parse_resend(raw: Any) -> ResendRecord:
    data = mapping(raw)
    status_code = as_int(data.get("resendStatusCode"))
    return ResendRecord(
        resend_id=as_int(data.get("resendId")),
        resend_number=as_str(data.get("resendNumber")),
        status_code=status_code,
        status=RESEND_STATUS_NAMES.get(status_code, "") if status_code is not None else "",
        warehouse_id=as_int(data.get("warehouseId")),
        description=as_str(data.get("description")),
        remarks=as_str(data.get("remarks")),
        warehouse_remarks=as_str(data.get("warehouseRemarks")),
        seller_reference_number=as_str(data.get("sellerReferenceNumber")),
        created_at=iso_datetime(data.get("createOn")),
        modified_at=iso_datetime(data.get("modifyOn")),
        inventory_ids=_inventory_ids(data),
        shipments=tuple(parse_shipment(s) for s in items(data.get("resendShipmentList"))),
        raw=data,
    )


def _inventory_ids(data: JsonDict) -> tuple[int, ...]:
    """From `returnInventoryIdList` (search) or `returnInventoryList[].returnInventoryId` (get)."""
    raw = items(data.get("returnInventoryIdList")) or [
        mapping(row).get("returnInventoryId") for row in items(data.get("returnInventoryList"))
    ]
    return tuple(i for i in (as_int(v) for v in raw) if i is not None)


def decode_code(value: Any, names: Mapping[int, str]) -> str:
    """A code sent sometimes as a number (4, "4") and sometimes as its name ("ohd"), as the name."""
    text = as_str(value).strip()
    number = as_int(text)
    return names.get(number, text) if number is not None else text


def parse_inventory(raw: Any) -> InventoryItem:
    data = mapping(raw)
    return InventoryItem(
        id=as_str(data.get("returnInventoryId")).strip(),
        warehouse_id=as_str(data.get("warehouseId")).strip(),
        handling_code=decode_code(data.get("handlingCode"), HANDLING_CODES),
        handling_status=decode_code(data.get("handlingStatusCode"), HANDLING_STATUS_CODES),
        rma=as_str(data.get("rma")),
        sku=as_str(data.get("sku")),
        description=as_str(data.get("description")),
        quantity=as_int(data.get("quantity")) or 1,
        # inStock and pendingVas are the sandbox's; the real API has no such fields (yet)
        in_stock=as_bool(data.get("inStock", True)),
        pending_vas=as_bool(data.get("pendingVas", False)),
        created_at=iso_datetime(data.get("createOn")),
        modified_at=iso_datetime(data.get("modifyOn")),
        raw=data,
    )


def parse_service_types(raw: Any) -> tuple[ServiceType, ...]:
    envelope = mapping(raw)
    rows = envelope.get("data")
    if rows is None:
        rows = mapping(envelope.get("meta")).get("data")
    result = []
    for row in map(mapping, items(rows)):
        routes = tuple(
            CountryPair(
                warehouse_id=as_int(pair.get("warehouseId")),
                from_country=as_str(pair.get("fromCountryCode")).lower(),
                to_country=as_str(pair.get("toCountryCode")).lower(),
                description=as_str(pair.get("description")),
            )
            for pair in map(mapping, items(row.get("countryCodePairList")))
        )
        result.append(
            ServiceType(
                code=as_str(row.get("serviceTypeCode")),
                name=as_str(row.get("serviceType")),
                routes=routes,
                raw=row,
            )
        )
    return tuple(result)


def parse_countries(raw: Any) -> tuple[Country, ...]:
    return tuple(
        Country(
            code=as_str(row.get("countryCode")).lower(),
            name=as_str(row.get("CountryName") or row.get("countryName")),
        )
        for row in map(mapping, items(mapping(raw).get("countries")))
    )


def parse_resend_statuses(raw: Any) -> tuple[ResendStatus, ...]:
    return tuple(
        ResendStatus(
            code=as_int(row.get("resendStatusCode")),
            name=as_str(row.get("resendStatus")),
            description=as_str(row.get("resendStageDescription")),
        )
        for row in map(mapping, items(mapping(raw).get("resendStatusList")))
    )


def _names_itself(field_name: str, text: str) -> bool:
    """Whether a message already says which field it is about (FluentValidation's usually do)."""
    last = re.sub(r"\[\d+\]$", "", field_name.rsplit(".", 1)[-1]).lower()
    return last in re.sub(r"[\s'\"]", "", text.lower())


def describe_field_errors(error: Any) -> str:
    """`meta.error` {field: message} (or a list / a string) as one readable sentence."""
    if isinstance(error, Mapping):
        parts = []
        for name, message in error.items():
            text = (
                "; ".join(as_str(m) for m in message)
                if isinstance(message, list)
                else as_str(message)
            )
            text = text.strip().rstrip(".")
            parts.append(f"{name}: {text}" if name and not _names_itself(str(name), text) else text)
        return "; ".join(p for p in parts if p)
    if isinstance(error, list):
        return "; ".join(describe_field_errors(e) for e in error)
    return as_str(error)


# --- request checks -----------------------------------------------------------------------------


def check_inventory_ids(inventory_ids: Iterable[Any], group_max: int) -> list[int]:
    ids: list[int] = []
    for value in inventory_ids:
        number = as_int(value)
        if number is None or number <= 0:
            raise invalid_request(f"{value!r} is not a Return Helper inventory id.")
        if number in ids:
            raise invalid_request(f"Inventory {number} is listed twice.")
        ids.append(number)
    if not ids:
        raise invalid_request("Pick at least one returned item to resend.")
    if len(ids) > group_max:
        raise invalid_request(f"Return Helper resends at most {group_max} items together.")
    return ids


def check_shipment(shipment: Mapping[str, Any]) -> JsonDict:
    if not isinstance(shipment, Mapping):
        raise invalid_request("The destination address is missing.")
    clean = {name: value for name, value in shipment.items() if value is not None}
    missing = [name for name in SHIPMENT_REQUIRED if not as_str(clean.get(name)).strip()]
    if missing:
        raise invalid_request(f"The destination address lacks {', '.join(missing)}.")
    for name, limit in SHIPMENT_MAX_LENGTHS.items():
        if len(as_str(clean.get(name))) > limit:
            raise invalid_request(f"{name} is longer than {limit} characters.")
    country = as_str(clean["shipmentCountryCode"])
    if len(country) != 3 or not country.isalpha():
        raise invalid_request(f"{country!r} is not an ISO3 country code (like 'usa').")
    clean["shipmentCountryCode"] = country.lower()
    return clean


# --- the client -------------------------------------------------------------------------------


class ReturnHelperClient(KeyedClient):
    provider = "returnhelper"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_token: str,
        *,
        public_base_url: str | None = None,
        group_max: int = DEFAULT_GROUP_MAX,
        timeout: Timeout | None = None,
        session: requests.Session | None = None,
    ) -> None:
        """`base_url` is the User API root (…/user/api); `public_base_url` the Public API's."""
        super().__init__(
            base_url, api_key, timeout=timeout, session=session, more_secrets=[api_token]
        )
        self.public_base_url = (public_base_url or "").rstrip("/")
        self.group_max = group_max
        self._api_token = api_token

    @classmethod
    def from_config(cls, config: AccountConfig, **kwargs: Any) -> Self:
        return cls(
            config["base_url"],
            config["api_key"],
            config["api_token"],
            public_base_url=config.get("public_base_url"),
            group_max=int(config.get("group_max") or DEFAULT_GROUP_MAX),
            **kwargs,
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        idempotency_key: str | None = None,
        public: bool = False,
    ) -> tuple[JsonDict, requests.Response, Exchange]:
        headers = {"Accept": "application/json"}  # a fresh dict for every call
        if not public:
            headers["x-rr-apikey"] = self._api_key
            headers["x-rr-apitoken"] = self._api_token
        if idempotency_key is not None:
            if not idempotency_key:
                raise invalid_request("The idempotency key is empty.")
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        if public and not self.public_base_url:
            raise invalid_request("This account has no Public API address configured.")
        base = self.public_base_url if public else self.base_url
        response, exchange = send(
            self._session,
            method,
            f"{base}{path}",
            label=LABEL,
            timeout=self._timeout,
            headers=headers,
            params=params,
            json=json,
            scrubber=self._scrubber,
        )
        body = json_body(response)
        envelope = mapping(body)
        meta = mapping(envelope.get("meta"))
        meta_status = as_int(meta.get("status"))
        http_ok = 200 <= response.status_code < 300
        if http_ok and meta_status in (None, 200) and isinstance(body, dict):
            return envelope, response, exchange
        if http_ok and not isinstance(body, dict):
            raise unreadable_answer(LABEL, method, response, exchange)
        raise self._error(response, exchange, meta, meta_status)

    def _error(
        self,
        response: requests.Response,
        exchange: Exchange,
        meta: JsonDict,
        meta_status: int | None,
    ) -> ProviderError:
        http_status = response.status_code
        # The envelope decides, unless the HTTP layer itself failed (429/5xx from a gateway).
        failed_http = http_status == 429 or http_status >= 500
        status = http_status if failed_http or meta_status in (None, 200) else meta_status
        code = as_str(meta.get("errorCode"))
        detail = self._scrubber.text(describe_field_errors(meta.get("error")))[:600]
        method = method_of(response)
        error_class = error_class_for_status(status, method)
        if status >= 500:
            message = server_trouble(LABEL, status, method)
        elif error_class is ErrorClass.TRANSIENT:
            what = "is busy (rate limited)" if status == 429 else f"timed out ({status})"
            message = f"{LABEL} {what}; nothing was applied, try again later."
        elif status in (401, 403):
            message = f"{LABEL} refused the API key or token; check the account's credentials."
        elif status == 404:
            message = sentence(f"{LABEL} could not find it: {detail or 'not found'}")
        elif code == "VALIDATION_FAILED" or status == 400:
            message = sentence(
                f"{LABEL} refused the request: {detail or code or 'invalid request'}"
            )
        else:
            message = sentence(
                f"{LABEL} refused the request ({code or status}): {detail or 'no reason given'}"
            )
        return http_error(
            message,
            response=response,
            exchange=exchange,
            error_class=error_class,
            code=code or f"http_{status}",
            status=status,
        )

    @staticmethod
    def _replayed(response: requests.Response) -> bool:
        return any(
            response.headers.get(name, "").strip().lower() == "true" for name in REPLAYED_HEADERS
        )

    # --- operations ---------------------------------------------------------------------------

    def create_resend(
        self,
        inventory_ids: Iterable[int | str],
        shipment: Mapping[str, Any],
        description: str = "",
        remarks: str = "",
        *,
        idempotency_key: str,
        seller_reference_number: str | None = None,
    ) -> CreateResendResult:
        """POST /Resend/createResend: ship warehoused return items to a customer address."""
        body: JsonDict = {
            "returnInventoryIdList": check_inventory_ids(inventory_ids, self.group_max),
            "resendShipment": check_shipment(shipment),
        }
        if description:
            body["description"] = description
        if remarks:
            body["remarks"] = remarks
        if seller_reference_number:
            body["sellerReferenceNumber"] = seller_reference_number
        data, response, exchange = self._call(
            "POST", "/Resend/createResend", json=body, idempotency_key=idempotency_key
        )
        resend_id = as_int(data.get("resendId"))
        if resend_id is None:
            raise unreadable_answer(LABEL, "POST", response, exchange)
        return CreateResendResult(
            resend_id=resend_id,
            resend_number=as_str(data.get("resendNumber")),
            resend_shipment_id=as_int(data.get("resendShipmentId")),
            correlation_id=as_str(data.get("correlationId")),
            replayed=self._replayed(response),
            exchange=exchange,
            raw=data,
        )

    def get_resend(self, resend_id: int | str) -> ResendRecord:
        """GET /resend/getResend?resendId=…"""
        number = as_int(resend_id)
        if number is None:
            raise invalid_request(f"{resend_id!r} is not a Return Helper resend id.")
        data, _, _ = self._call("GET", "/resend/getResend", params={"resendId": number})
        return parse_resend(data.get("resend") if isinstance(data.get("resend"), dict) else data)

    def search_resend(
        self,
        *,
        page_size: int = MAX_PAGE_SIZE,
        offset: int = 0,
        resend_number: str | None = None,
        resend_status_code: int | None = None,
        warehouse_id: int | None = None,
        shipment_country_code: str | None = None,
        shipment_name: str | None = None,
        create_from: str | None = None,
        create_to: str | None = None,
        **more_filters: Any,
    ) -> ResendSearchPage:
        """GET /resend/searchResend, one page (pageSize at most 50)."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise invalid_request(f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
        params: dict[str, Any] = {"pageSize": page_size, "offset": offset}
        for name, value in (
            ("resendNumber", resend_number),
            ("resendStatusCode", resend_status_code),
            ("warehouseId", warehouse_id),
            ("shipmentCountryCode", shipment_country_code),
            ("shipmentName", shipment_name),
            ("createFromStr", create_from),
            ("createToStr", create_to),
            *more_filters.items(),
        ):
            if value is not None:
                params[name] = value
        data, _, _ = self._call("GET", "/resend/searchResend", params=params)
        return ResendSearchPage(
            records=tuple(parse_resend(r) for r in items(data.get("searchResendPayloadList"))),
            total=as_int(data.get("totalNumberOfRecords")),
            raw=data,
        )

    def cancel_resend(self, resend_id: int | str, *, idempotency_key: str) -> CancelResendResult:
        """POST /Resend/cancelResend: only while the warehouse has not shipped."""
        number = as_int(resend_id)
        if number is None:
            raise invalid_request(f"{resend_id!r} is not a Return Helper resend id.")
        data, response, exchange = self._call(
            "POST",
            "/Resend/cancelResend",
            json={"resendId": number},
            idempotency_key=idempotency_key,
        )
        return CancelResendResult(
            resend_id=as_int(data.get("resendId")) or number,
            shipments=tuple(parse_shipment(s) for s in items(data.get("resendShipmentList"))),
            correlation_id=as_str(data.get("correlationId")),
            replayed=self._replayed(response),
            exchange=exchange,
            raw=data,
        )

    def service_types(self, warehouse_id: int) -> tuple[ServiceType, ...]:
        """GET /Shipment/getAvailableShipmentServiceType?warehouseId=…"""
        data, _, _ = self._call(
            "GET", "/Shipment/getAvailableShipmentServiceType", params={"warehouseId": warehouse_id}
        )
        return parse_service_types(data)

    def countries(self) -> tuple[Country, ...]:
        """Public API: GET /country/getAllCountries (no credentials)."""
        data, _, _ = self._call("GET", "/country/getAllCountries", public=True)
        return parse_countries(data)

    def resend_statuses(self) -> tuple[ResendStatus, ...]:
        """Public API: GET /resendstatus/getAllResendStatus (no credentials)."""
        data, _, _ = self._call("GET", "/resendstatus/getAllResendStatus", public=True)
        return parse_resend_statuses(data)
