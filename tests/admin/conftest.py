"""Fixtures for the admin tests: one resend's whole trail, a second request, a superuser."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from resends.models import ResendRequest
from resends.models.audit import CallState, RequestState

from ..factories import (
    CallAttemptFactory,
    InventoryFactory,
    LineItemFactory,
    OrderFactory,
    ProviderCallFactory,
    ResendRequestFactory,
    ResendTargetFactory,
)
from .helpers import Trail


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """The cast's passwords are hashed on creation; the real hasher takes most of a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def trail(agent: User) -> Trail:
    """Alice resent one Chargebee order; the provider accepted it on the first attempt."""
    order = OrderFactory.create(
        external_id="cb_ord_1001",
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        raw={"id": "cb_ord_1001", "shipping_address": {"city": "London"}},
    )
    line = LineItemFactory.create(order=order, external_id="li_1")
    inventory = InventoryFactory.create(external_id="inv777", rma="RMA-777")
    request = ResendRequestFactory.create(
        submitted_by=agent, account=order.account, state=RequestState.SUCCEEDED
    )
    target = ResendTargetFactory.create(request=request, order=order)
    call = ProviderCallFactory.create(
        request=request, state=CallState.SUCCEEDED, provider_reference="cb_resend_42"
    )
    attempt = CallAttemptFactory.create(call=call)
    return Trail(order, line, inventory, request, target, call, attempt)


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@backoffice.test", "x")


@pytest.fixture
def two_requests(agent: User, second_manager: User, trail: Trail) -> ResendRequest:
    """Besides the trail's request, Max's failed resend of another customer's order."""
    other = ResendRequestFactory.create(
        submitted_by=second_manager, account=trail.order.account, state=RequestState.FAILED
    )
    ResendTargetFactory.create(
        request=other,
        order=OrderFactory.create(external_id="cb_ord_2002", customer_email="grace@example.com"),
    )
    ProviderCallFactory.create(request=other, state=CallState.FAILED, provider_reference="")
    return other
