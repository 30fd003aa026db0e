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
if the first never arrived): APPLIED. A refusal is raised as the ProviderError it is (nothing was
applied; a refused cancel is checked against the resend's status first). A transport failure, a
429 or a 5xx is raised as well: Return Helper could not be asked this time, and the engine asks
again later. So Return Helper always settles a call once it answers; only a provider that stays
unreachable past the engine's patience leaves one for a manager.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..base import (
    CallResult,
    Country,
    ProviderAdapter,
    ProviderError,
    ProviderRecord,
    ProviderState,
    Reconciliation,
    ServiceRoute,
    ServiceType,
    Verdict,
)
from ..errors import invalid_request
from ..parsing import as_int, shown_time
from .client import MAX_PAGE_SIZE, ResendRecord, ReturnHelperClient

CREATE_RESEND = "returnhelper.create_resend"
CANCEL_RESEND = "returnhelper.cancel_resend"
CANCELED = 1  # resendStatusCode
CLOCK_SKEW = timedelta(minutes=5)  # between our clock and Return Helper's createOn
SEARCH_PAGES = 4  # a manager's look at one addressee's recent resends reads at most this many


class ReturnHelperAdapter(ProviderAdapter):
    provider = "returnhelper"
    label = "Return Helper"
    reference_label = "Return Helper resend id"

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
            if error.permanent and operation == CANCEL_RESEND:
                return self._cancel_refused(payload, error)
            raise  # refused: nothing applied; anything else: ask again later
        what = (
            f"resend {result.reference} ({result.reference_2})"
            if operation == CREATE_RESEND
            else f"the cancellation of resend {result.reference}"
        )
        return Reconciliation(
            Verdict.APPLIED,
            "Sent the request again with the same idempotency key; Return Helper answered with "
            f"success ({'its stored answer' if result.replayed else 'applied now'}): "
            f"{what} exists exactly once.",
            result,
        )

    def current_state(
        self,
        operation: str,
        payload: dict[str, Any],
        *,
        reference: str,
        first_sent_at: datetime,
    ) -> ProviderState:
        """The resend by its id when we know it; otherwise Return Helper's resends for the same
        addressee since the day of our first attempt that hold any of our items."""
        if operation == CANCEL_RESEND:
            record = self.client.get_resend(payload.get("resend_id"))  # type: ignore[arg-type]
            return ProviderState(
                f"Resend {record.resend_number or record.resend_id} is {record.status or '?'}.",
                (_record(record, matches=record.status_code == CANCELED),),
            )
        if operation != CREATE_RESEND:
            raise invalid_request(
                f"Return Helper cannot do {operation!r}.", code="unknown_operation"
            )
        ours = {i for i in (as_int(v) for v in payload.get("inventory_ids") or []) if i is not None}
        if reference:
            record = self.client.get_resend(reference)
            return ProviderState(
                f"Resend {record.resend_number or record.resend_id} is {record.status or '?'}.",
                (_record(record, matches=set(record.inventory_ids) == ours),),
            )
        shipment = payload.get("shipment") or {}
        if first_sent_at.tzinfo is None:
            first_sent_at = first_sent_at.replace(tzinfo=UTC)
        since = first_sent_at - CLOCK_SKEW
        found: list[ProviderRecord] = []
        for offset in range(0, SEARCH_PAGES * MAX_PAGE_SIZE, MAX_PAGE_SIZE):
            page = self.client.search_resend(
                offset=offset,
                create_from=f"{since:%Y-%m-%d}",
                shipment_name=str(shipment.get("shipmentName") or "") or None,
                shipment_country_code=str(shipment.get("shipmentCountryCode") or "") or None,
            )
            for record in page.records:
                if not ours & set(record.inventory_ids):
                    continue
                recent = record.created_at is None or record.created_at >= since
                found.append(
                    _record(
                        record,
                        matches=recent
                        and set(record.inventory_ids) == ours
                        and record.status_code != CANCELED,
                    )
                )
            if len(page.records) < MAX_PAGE_SIZE:
                break
        matching = sum(record.matches for record in found)
        return ProviderState(
            f"{len(found)} resend(s) to {shipment.get('shipmentName') or 'this addressee'} since "
            f"{since:%Y-%m-%d} hold any of our items {sorted(ours)}; {matching} hold exactly "
            "them and were created since our first attempt.",
            tuple(found),
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
        except ProviderError as read_error:
            if read_error.permanent:
                raise error from None
            raise  # could not read it now: ask again later
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


def _record(record: ResendRecord, *, matches: bool) -> ProviderRecord:
    return ProviderRecord(
        f"Resend {record.resend_id} ({record.resend_number or 'no number yet'})",
        (
            ("Status", record.status or str(record.status_code)),
            ("Created", shown_time(record.created_at)),
            ("Items", ", ".join(str(i) for i in record.inventory_ids) or "-"),
            ("Ship to", ", ".join(s.name for s in record.shipments if s.name) or "-"),
            ("Tracking", record.tracking_number or "-"),
        ),
        reference=str(record.resend_id or ""),
        matches=matches,
    )
