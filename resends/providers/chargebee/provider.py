"""The Chargebee adapter: the engine's `chargebee.resend_order` calls and the order sync.

Payload (the JSON stored on ProviderCall); no lines means a full resend:
    {"order_id": "ord_...", "lines": [{"id": "li_...", "quantity": 2}],
     "shipping_date": 1735689600 | null, "reason": "Damaged" | null,
     "origin_user": "alice@example.com" (optional), "customer_email": true, "webhooks": true}
(the last three are sent as headers: who asked, and whether Chargebee emails the customer and
sends webhooks about it; stored with the call, so every attempt sends the same).

Reconciling an unknown outcome
------------------------------
Chargebee keeps an idempotency key for IDEMPOTENCY_WINDOW (30 minutes, providers.md §2.5).

* Inside the window (less a safety margin for clock drift) we simply send the same request with
  the same key. If the first attempt was applied Chargebee replays its stored answer
  (`chargebee-idempotency-replayed: true`); if it never arrived, this attempt applies it now.
  Either way the effect exists exactly once: APPLIED. A refusal is raised as the ProviderError
  it is (nothing was applied); a transport failure, a 429 or a 5xx is raised too, for the
  engine to ask again later (it may then be past the window, and read instead).
* After the window a repeat could create a second resend, so we only read. The original order
  lists its resends in `resent_orders`; we fetch each one and keep those created since our first
  attempt (less CLOCK_SKEW) that point back at our order with the same lines and quantities (and
  reason, when we sent one). Exactly one such order: APPLIED, with its id. No resend at all
  since our first attempt: ABSENT (nothing happened, safe to send again). A read that fails for
  a passing reason is raised (ask again later). Anything the answers cannot settle (two
  matches, a recent resend that does not match, an order Chargebee no longer has): UNDECIDED,
  for a manager: physical goods are never re-sent on a guess.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..base import (
    CallResult,
    Exchange,
    OrderPage,
    ProviderAdapter,
    ProviderError,
    ProviderRecord,
    ProviderState,
    Reconciliation,
    Verdict,
)
from ..errors import invalid_request
from ..parsing import as_int, shown_time
from .client import MAX_RESENDS_PER_ORDER, ChargebeeClient, ChargebeeOrder
from .mirror import order_record

RESEND_ORDER = "chargebee.resend_order"
IDEMPOTENCY_WINDOW = timedelta(minutes=30)  # Chargebee's documented idempotency window
REPLAY_SAFETY_MARGIN = timedelta(minutes=2)  # replay only while comfortably inside it
CLOCK_SKEW = timedelta(minutes=5)  # between our clock and Chargebee's created_at
PAGE_SIZE = 100  # orders per page when syncing (Chargebee's most)


@dataclass(frozen=True)
class ResendPayload:
    order_id: str
    lines: tuple[tuple[str, int], ...]
    shipping_date: int | None
    reason: str | None
    origin_user: str | None = None
    customer_email: bool = True
    webhooks: bool = True

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> ResendPayload:
        order_id = payload.get("order_id")
        if not isinstance(order_id, str):
            raise invalid_request("The stored payload has no order_id.", code="bad_payload")
        raw_lines = payload.get("lines") or []
        if not isinstance(raw_lines, list):
            raise invalid_request("The stored lines must be a list.", code="bad_payload")
        lines: list[tuple[str, int]] = []
        for line in raw_lines:
            quantity = as_int(line.get("quantity")) if isinstance(line, dict) else None
            if not isinstance(line, dict) or not line.get("id") or quantity is None:
                raise invalid_request(
                    "Each stored line needs an id and a whole-number quantity.", code="bad_payload"
                )
            lines.append((str(line["id"]), quantity))
        shipping_date = payload.get("shipping_date")
        if shipping_date is not None and as_int(shipping_date) is None:
            raise invalid_request(
                "The stored shipping_date must be Unix seconds.", code="bad_payload"
            )
        reason = payload.get("reason")
        origin_user = payload.get("origin_user")
        if origin_user is not None and not isinstance(origin_user, str):
            raise invalid_request("The stored origin_user must be text.", code="bad_payload")
        switches = {name: payload.get(name, True) for name in ("customer_email", "webhooks")}
        if not all(isinstance(value, bool) for value in switches.values()):
            raise invalid_request(
                "The stored customer_email and webhooks must be true or false.", code="bad_payload"
            )
        return cls(
            order_id,
            tuple(lines),
            None if shipping_date is None else as_int(shipping_date),
            str(reason) if reason else None,
            origin_user or None,
            switches["customer_email"],
            switches["webhooks"],
        )

    @property
    def full(self) -> bool:
        return not self.lines


def _line_signature(order: ChargebeeOrder) -> Counter[tuple[str, str, int | None, int]]:
    return Counter(
        (line.sku, line.description, line.unit_price, line.quantity) for line in order.line_items
    )


def _wanted_signature(
    original: ChargebeeOrder, payload: ResendPayload
) -> Counter[tuple[str, str, int | None, int]] | None:
    """What our resend order's lines look like, or None if a line is not on the original."""
    by_id = {line.id: line for line in original.line_items}
    if payload.full:
        picked = [(line, line.quantity) for line in original.line_items]
    else:
        if any(line_id not in by_id for line_id, _ in payload.lines):
            return None
        picked = [(by_id[line_id], quantity) for line_id, quantity in payload.lines]
    return Counter((line.sku, line.description, line.unit_price, qty) for line, qty in picked)


def _result_for(
    order: ChargebeeOrder,
    *,
    reference: str | None = None,
    replayed: bool = False,
    exchange: Exchange | None = None,
) -> CallResult:
    """`order` is normally the new resend order (what Chargebee returns); `reference` its id."""
    new_id = order.id if reference is None else reference
    return CallResult(
        reference=new_id,
        provider_status=order.status if order.id == new_id else "",
        replayed=replayed,
        data={
            "new_order_id": new_id,
            "original_order_id": order.original_order_id or "",
            "document_number": order.document_number if order.id == new_id else "",
        },
        exchange=exchange,
    )


class ChargebeeAdapter(ProviderAdapter):
    provider = "chargebee"
    label = "Chargebee"
    reference_label = "Chargebee order id of the resend"

    def __init__(
        self,
        client: ChargebeeClient,
        *,
        idempotency_window: timedelta = IDEMPOTENCY_WINDOW,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.idempotency_window = idempotency_window
        self.clock = clock

    def execute(
        self, operation: str, payload: dict[str, Any], *, idempotency_key: str
    ) -> CallResult:
        if operation != RESEND_ORDER:
            raise invalid_request(f"Chargebee cannot do {operation!r}.", code="unknown_operation")
        request = ResendPayload.from_json(payload)
        result = self.client.resend_order(
            request.order_id,
            request.lines,
            shipping_date=request.shipping_date,
            reason=request.reason,
            idempotency_key=idempotency_key,
            origin_user=request.origin_user,
            customer_email=request.customer_email,
            webhooks=request.webhooks,
        )
        return _result_for(
            result.order,
            reference=result.new_order_id,
            replayed=result.replayed,
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
        if operation != RESEND_ORDER:
            raise invalid_request(f"Chargebee cannot do {operation!r}.", code="unknown_operation")
        if first_sent_at.tzinfo is None:
            first_sent_at = first_sent_at.replace(tzinfo=UTC)
        elapsed = self.clock() - first_sent_at
        if elapsed < self.idempotency_window - REPLAY_SAFETY_MARGIN:
            return self._replay(payload, idempotency_key)
        return self._look_up(ResendPayload.from_json(payload), first_sent_at)

    def changed_order_pages(self, since: datetime | None) -> Iterator[OrderPage]:
        offset = None
        while True:
            result = self.client.list_orders(limit=PAGE_SIZE, offset=offset, updated_after=since)
            yield OrderPage(tuple(order_record(order) for order in result.orders))  # no total
            if not result.next_offset:
                return
            offset = result.next_offset

    def current_state(
        self,
        operation: str,
        payload: dict[str, Any],
        *,
        reference: str,
        first_sent_at: datetime,
    ) -> ProviderState:
        """The original order and each of its resends, those that look like ours marked."""
        if operation != RESEND_ORDER:
            raise invalid_request(f"Chargebee cannot do {operation!r}.", code="unknown_operation")
        request = ResendPayload.from_json(payload)
        if first_sent_at.tzinfo is None:
            first_sent_at = first_sent_at.replace(tzinfo=UTC)
        original = self.client.get_order(request.order_id)
        wanted = _wanted_signature(original, request)
        records = [
            ProviderRecord(
                f"Order {original.id} (the original)",
                (
                    ("Status", original.status or "-"),
                    ("Resent", original.resent_status or "not resent"),
                    ("Resends", f"{original.resend_count} of {MAX_RESENDS_PER_ORDER}"),
                    ("Updated", shown_time(original.updated_at)),
                    ("Lines", _lines(original)),
                ),
            )
        ]
        since = first_sent_at - CLOCK_SKEW
        matching = 0
        for link in original.resent_orders:
            resend = self.client.get_order(link.order_id)
            recent = resend.created_at is not None and resend.created_at >= since
            same_reason = request.reason is None or resend.resend_reason == request.reason
            looks_like_ours = (
                recent
                and resend.original_order_id == original.id
                and wanted is not None
                and _line_signature(resend) == wanted
                and same_reason
            )
            matching += looks_like_ours
            records.append(
                ProviderRecord(
                    f"Resend order {resend.id}",
                    (
                        ("Created", shown_time(resend.created_at)),
                        ("Since our first attempt", "yes" if recent else "no, earlier"),
                        ("Reason", resend.resend_reason or "-"),
                        ("Status", resend.status or "-"),
                        ("Lines", _lines(resend)),
                    ),
                    reference=resend.id,
                    matches=looks_like_ours,
                )
            )
        summary = (
            f"Order {original.id} has {original.resend_count} resend(s); {matching} created since "
            f"our first attempt ({shown_time(first_sent_at)}) with our lines"
            + (f" and reason “{request.reason}”." if request.reason else ".")
        )
        return ProviderState(summary, tuple(records))

    def _replay(self, payload: dict[str, Any], idempotency_key: str) -> Reconciliation:
        # Any ProviderError goes up as it is: a refusal means nothing was applied; anything else
        # means Chargebee could not be asked this time.
        result = self.execute(RESEND_ORDER, payload, idempotency_key=idempotency_key)
        if result.replayed:
            explanation = (
                "Sent the request again with the same idempotency key: Chargebee replayed its "
                "stored answer, so the first attempt was applied and created order "
                f"{result.reference}."
            )
        else:
            explanation = (
                "Sent the request again with the same idempotency key: Chargebee had no record "
                f"of the key, so the first attempt never arrived; this repeat applied it and "
                f"created order {result.reference}."
            )
        return Reconciliation(Verdict.APPLIED, explanation, result)

    def _read(self, order_id: str, asked: list[str]) -> ChargebeeOrder | str:
        """The order, or why Chargebee says it cannot give it (a refusal: it will not change by
        asking again). A failure to ask is raised."""
        asked.append(f"GET {self.client.base_url}/api/v2/orders/{order_id}")
        try:
            return self.client.get_order(order_id)
        except ProviderError as error:
            if not error.permanent:
                raise
            return f"Chargebee would not give order {order_id}: {error.message}"

    def _look_up(self, payload: ResendPayload, first_sent_at: datetime) -> Reconciliation:
        since = first_sent_at - CLOCK_SKEW
        asked: list[str] = []
        original = self._read(payload.order_id, asked)
        if isinstance(original, str):
            return Reconciliation(Verdict.UNDECIDED, original, asked=tuple(asked))
        wanted = _wanted_signature(original, payload)
        if wanted is None:
            return Reconciliation(
                Verdict.UNDECIDED,
                f"Order {original.id} no longer has all the line items we resent, so its resends "
                "cannot be matched against ours.",
                asked=tuple(asked),
            )
        matches: list[ChargebeeOrder] = []
        others: list[str] = []
        for link in original.resent_orders:
            resend = self._read(link.order_id, asked)
            if isinstance(resend, str):
                return Reconciliation(
                    Verdict.UNDECIDED,
                    f"Order {original.id} lists resend {link.order_id}, but {resend}",
                    asked=tuple(asked),
                )
            if resend.original_order_id != original.id:
                continue
            if resend.created_at is None or resend.created_at < since:
                continue
            same_reason = payload.reason is None or resend.resend_reason == payload.reason
            if _line_signature(resend) == wanted and same_reason:
                matches.append(resend)
            else:
                others.append(resend.id)
        count = original.resend_count
        read = f"Read order {original.id} and its {count} resend(s) (past the idempotency window)"
        if len(matches) == 1:
            found = matches[0]
            return Reconciliation(
                Verdict.APPLIED,
                f"{read}: exactly one resend was created since our first attempt with our lines "
                f"and quantities: {found.id}.",
                _result_for(found),
                tuple(asked),
            )
        if not matches and not others:
            return Reconciliation(
                Verdict.ABSENT,
                f"{read}: none was created since our first attempt "
                f"({first_sent_at:%Y-%m-%d %H:%M} UTC). Nothing was applied; safe to send again.",
                asked=tuple(asked),
            )
        found_ids = ", ".join(o.id for o in matches) or "none"
        return Reconciliation(
            Verdict.UNDECIDED,
            f"{read}: Chargebee's answer cannot tell which is ours. Resends created since our "
            f"first attempt with our lines: {found_ids}; other resends since then: "
            f"{', '.join(others) or 'none'}.",
            asked=tuple(asked),
        )


def _lines(order: ChargebeeOrder) -> str:
    return (
        "; ".join(
            f"{line.sku or line.description or line.id} × {line.quantity}"
            for line in order.line_items
        )
        or "-"
    )
