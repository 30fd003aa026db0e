"""The Return Helper adapter: the engine's `returnhelper.create_resend` / `cancel_resend` calls,
and the reference data the rules need (destination countries, service types per warehouse).

Payloads (the JSON stored on ProviderCall):
    create: {"inventory_ids": [19973, 19980],
             "shipment": {"shipmentServiceType": "usps", "shipmentCountryCode": "usa",
                          "shipmentName": "...", "shipmentStreet1": "...", "shipmentCity": "...",
                          "shipmentState": "...", "shipmentPostalCode": "...", ...},
             "description": "", "remarks": "",
             "seller_reference_number": "ord_..." (optional)}
    cancel: {"resend_id": 5000}

Reconciling an unknown outcome: Return Helper runs a repeated `x-returnhelper-idempotency-key`
only once and returns the stored answer (no TTL is documented), so we send the same request with
the same key. A success means the effect exists exactly once (the first attempt's, or this one's
if the first never arrived): APPLIED. A refusal is raised as the ProviderError it is. A transport
failure or 429/5xx leaves it open: UNDECIDED.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..base import (
    CallResult,
    Country,
    ErrorClass,
    ProviderAdapter,
    ProviderError,
    Reconciliation,
    ServiceRoute,
    ServiceType,
    Verdict,
)
from ..errors import invalid_request
from ..parsing import as_int
from .client import ReturnHelperClient

CREATE_RESEND = "returnhelper.create_resend"
CANCEL_RESEND = "returnhelper.cancel_resend"
CANCELED = 1  # resendStatusCode


class ReturnHelperAdapter(ProviderAdapter):
    provider = "returnhelper"
    label = "Return Helper"

    def __init__(self, client: ReturnHelperClient) -> None:
        self.client = client

    def execute(
        self, operation: str, payload: dict[str, Any], *, idempotency_key: str
    ) -> CallResult:
        if operation == CREATE_RESEND:
            return self._create(payload, idempotency_key)
        if operation == CANCEL_RESEND:
            return self._cancel(payload, idempotency_key)
        raise invalid_request(f"Return Helper cannot do {operation!r}.", code="unknown_operation")

    def _create(self, payload: dict[str, Any], idempotency_key: str) -> CallResult:
        inventory_ids = payload.get("inventory_ids")
        shipment = payload.get("shipment")
        if not isinstance(inventory_ids, list) or not isinstance(shipment, dict):
            raise invalid_request(
                "The stored payload needs inventory_ids (a list) and shipment (an object).",
                code="bad_payload",
            )
        result = self.client.create_resend(
            inventory_ids,
            shipment,
            description=str(payload.get("description") or ""),
            remarks=str(payload.get("remarks") or ""),
            idempotency_key=idempotency_key,
            seller_reference_number=payload.get("seller_reference_number") or None,
        )
        return CallResult(
            reference=str(result.resend_id),
            reference_2=result.resend_number,
            provider_status="pending",
            replayed=result.replayed,
            data={
                "resend_id": result.resend_id,
                "resend_number": result.resend_number,
                "resend_shipment_id": result.resend_shipment_id,
                "correlation_id": result.correlation_id,
            },
            exchange=result.exchange,
        )

    def _cancel(self, payload: dict[str, Any], idempotency_key: str) -> CallResult:
        resend_id = payload.get("resend_id")
        if resend_id is None:
            raise invalid_request("The stored payload has no resend_id.", code="bad_payload")
        result = self.client.cancel_resend(resend_id, idempotency_key=idempotency_key)
        return CallResult(
            reference=str(result.resend_id),
            provider_status="canceled",
            replayed=result.replayed,
            data={"resend_id": result.resend_id, "correlation_id": result.correlation_id},
            exchange=result.exchange,
        )

    def reconcile(
        self,
        operation: str,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        first_sent_at: datetime,
    ) -> Reconciliation:
        try:
            result = self.execute(operation, payload, idempotency_key=idempotency_key)
        except ProviderError as error:
            if error.error_class is not ErrorClass.PERMANENT:
                return Reconciliation(
                    Verdict.UNDECIDED,
                    "Sent the request again with the same idempotency key to learn its outcome, "
                    f"but got no usable answer: {error.message} Reconcile again later, or have a "
                    "manager check in Return Helper.",
                )
            if operation == CANCEL_RESEND:
                return self._cancel_refused(payload, error)
            raise
        what = (
            f"resend {result.reference} ({result.reference_2})"
            if operation == CREATE_RESEND
            else f"the cancellation of resend {result.reference}"
        )
        return Reconciliation(
            Verdict.APPLIED,
            "Return Helper answered the repeated idempotency key with success: "
            f"{what} exists exactly once.",
            result,
        )

    def countries(self) -> tuple[Country, ...]:
        return tuple(Country(code=c.code, name=c.name) for c in self.client.countries())

    def service_types(self, warehouse_id: str) -> tuple[ServiceType, ...]:
        number = as_int(warehouse_id)
        if number is None:
            raise invalid_request(f"{warehouse_id!r} is not a Return Helper warehouse id.")
        return tuple(
            ServiceType(
                code=offered.code,
                name=offered.name,
                routes=tuple(
                    ServiceRoute(
                        warehouse_id="" if route.warehouse_id is None else str(route.warehouse_id),
                        to_country=route.to_country,
                    )
                    for route in offered.routes
                ),
            )
            for offered in self.client.service_types(number)
        )

    def _cancel_refused(self, payload: dict[str, Any], error: ProviderError) -> Reconciliation:
        """A repeat refused ("can no longer be canceled"): maybe because our cancel worked."""
        try:
            record = self.client.get_resend(payload.get("resend_id"))  # type: ignore[arg-type]
        except ProviderError:
            raise error from None
        if record.status_code == CANCELED:
            return Reconciliation(
                Verdict.APPLIED,
                f"Resend {record.resend_number or record.resend_id} is canceled.",
                CallResult(
                    reference=str(record.resend_id),
                    reference_2=record.resend_number,
                    provider_status="canceled",
                ),
            )
        raise error
