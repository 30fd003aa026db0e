"""Fixtures for the staff console views: a Chargebee order with lines, a Return Helper item, and
resends in the states the request page acts on (queued, failed, accepted by Return Helper)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from resends.accounts import default_account
from resends.engine.outcome import refresh_request_state
from resends.models import BulkJob, BulkKind, CallAttempt, Order, ResendRequest, ReturnInventory
from resends.models.audit import CallState, RequestState
from resends.services import bulk_jobs
from resends.services.submit import submit_chargebee_resend, submit_returnhelper_resend

from ..factories import InventoryFactory, LineItemFactory, OrderFactory
from .helpers import HTMX, SHIPMENT, accept_returnhelper


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_lookups() -> None:
    """Return Helper countries and service types are cached; each test asks the sandbox anew."""
    cache.clear()


@pytest.fixture
def order(db: None) -> Order:
    """A shipped Chargebee order with two lines (2 kits, 1 tube), never resent."""
    order = OrderFactory.create(external_id="cb_order_1", customer_name="Jane Doe")
    LineItemFactory.create(
        order=order, external_id="li_kit", description="Blood test kit", quantity=2
    )
    LineItemFactory.create(order=order, external_id="li_tube", description="Spare tube", quantity=1)
    return order


@pytest.fixture
def inventory(db: None) -> ReturnInventory:
    """An item on hold at warehouse 11: eligible for a Return Helper resend."""
    return InventoryFactory.create(external_id="3474", warehouse_id="11", handling_code="ohd")


@pytest.fixture
def resend(order: Order, agent: User) -> ResendRequest:
    """A queued partial resend of one kit, submitted by alice (its call stays pending: the
    queue is rung on commit, which a test transaction never reaches)."""
    line = order.line_items.get(external_id="li_kit")
    return submit_chargebee_resend(
        actor=agent, order=order, lines=[(line, 1)], intent_key="fixture-resend"
    ).request


@pytest.fixture
def failed_resend(resend: ResendRequest) -> ResendRequest:
    """The fixture resend after Chargebee refused its call (HTTP 400): the request is failed
    (and final)."""
    resend.calls.update(
        state=CallState.FAILED,
        failure_reason="Order is locked for fulfilment",
        error_class="permanent",
        attempts=1,
        finished_at=timezone.now(),
    )
    CallAttempt.objects.create(
        call=resend.calls.get(),
        number=1,
        finished_at=timezone.now(),
        response_status=400,
        outcome="permanent",
        error_class="permanent",
        error_message="Order is locked for fulfilment",
    )
    refresh_request_state(resend.pk)
    resend.refresh_from_db()
    assert resend.state == RequestState.FAILED
    return resend


@pytest.fixture
def rh_resend(inventory: ReturnInventory, agent: User) -> ResendRequest:
    """A Return Helper resend of the fixture item, accepted by Return Helper and still pending
    at the warehouse (so it can be cancelled)."""
    submitted = submit_returnhelper_resend(
        actor=agent,
        inventories=[inventory],
        shipment=SHIPMENT,
        countries=["usa"],
        service_types=["usps"],
        intent_key="fixture-rh",
    )
    accept_returnhelper(submitted.request)
    return submitted.request


@pytest.fixture
def job(second_manager: User) -> BulkJob:
    created, _ = bulk_jobs.create_job(
        actor=second_manager,
        kind=BulkKind.JUNCTION_WINDOW,
        account=default_account("junction"),
        criteria={"start_at": "2026-01-01T00:00:00Z", "end_at": "2026-01-02T00:00:00Z"},
    )
    return created


@pytest.fixture
def targets(
    order: Order,
    inventory: ReturnInventory,
    resend: ResendRequest,
    rh_resend: ResendRequest,
    job: BulkJob,
) -> dict[str, tuple[str, dict[str, str]]]:
    """Every console URL (name -> (url, headers)), with real ids so each one resolves."""
    public_id = resend.public_id
    call = resend.calls.get()
    return {
        "find": (reverse("resends:find"), {}),
        "order": (reverse("resends:order", args=[order.pk]), {}),
        "order-by-reference": (
            reverse("resends:order-by-reference", args=["chargebee", order.external_id])
            + "?ticket=ABC-123",
            {},
        ),
        "chargebee": (reverse("resends:chargebee", args=[order.pk]), {}),
        "returnhelper": (f"{reverse('resends:returnhelper')}?inventory={inventory.pk}", {}),
        "returnhelper-service-types": (
            f"{reverse('resends:returnhelper-service-types')}"
            f"?inventory={inventory.pk}&shipmentCountryCode=usa",
            HTMX,
        ),
        "junction": (reverse("resends:junction"), {}),
        "requests": (reverse("resends:requests"), {}),
        "request": (reverse("resends:request", args=[public_id]), {}),
        "request-status": (reverse("resends:request-status", args=[public_id]), HTMX),
        "request-retry": (reverse("resends:request-retry", args=[public_id]), {}),
        "request-cancel": (reverse("resends:request-cancel", args=[rh_resend.public_id]), {}),
        "bulk-jobs": (reverse("resends:bulk-jobs"), {}),
        "bulk-new": (reverse("resends:bulk-new"), {}),
        "bulk-job": (reverse("resends:bulk-job", args=[job.public_id]), {}),
        "bulk-progress": (reverse("resends:bulk-progress", args=[job.public_id]), HTMX),
        "bulk-action": (reverse("resends:bulk-action", args=[job.public_id, "pause"]), {}),
        "reports": (reverse("resends:reports"), {}),
        "time-zone": (reverse("resends:time-zone"), {}),
        "review-queue": (reverse("resends:review-queue"), {}),
        "review": (reverse("resends:review", args=[call.pk]), {}),
        "review-provider": (reverse("resends:review-provider", args=[call.pk]), HTMX),
        "review-decide": (reverse("resends:review-decide", args=[call.pk]), {}),
    }
