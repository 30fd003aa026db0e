"""Small factories for the mirrors and the audit. Accounts are the defaults made by post_migrate.

    order = OrderFactory.create()                       # a Chargebee order
    request = ResendRequestFactory.create(submitted_by=agent, state="failed")
    target = ResendTargetFactory.create(request=request)  # an order of the request's account
    call = ProviderCallFactory.create(request=request, state="succeeded", provider_reference="r_1")
    CallAttemptFactory.create(call=call)

Call `.create()` rather than the class itself: both save the row, but only `.create()` is typed as
returning the model (factory_boy's metaclass `__call__` is untyped, so mypy sees the factory).

`submitted_at` (auto_now_add on the model) may be passed to ResendRequestFactory; it is written
after the insert.
"""

from __future__ import annotations

import datetime
from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils import timezone
from factory.django import DjangoModelFactory

from resends.accounts import DEFAULT_ACCOUNTS
from resends.models import (
    CallAttempt,
    LineItem,
    Order,
    Provider,
    ProviderAccount,
    ProviderCall,
    ResendRequest,
    ResendTarget,
    ReturnInventory,
)
from resends.models.audit import CallState, ResendKind

_DEFAULTS_BY_CODE = {
    code: (provider, label, prefix) for provider, (code, label, prefix) in DEFAULT_ACCOUNTS.items()
}


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@backoffice.test")


class AccountFactory(DjangoModelFactory[ProviderAccount]):
    """The default account for `code` (chargebee unless told); a new account for another code."""

    class Meta:
        model = ProviderAccount
        django_get_or_create = ("code",)

    code = "chargebee"
    provider = factory.LazyAttribute(
        lambda o: _DEFAULTS_BY_CODE.get(o.code, (Provider.CHARGEBEE,))[0]
    )
    label = factory.LazyAttribute(lambda o: o.code.replace("_", " ").title())
    env_prefix = factory.LazyAttribute(lambda o: o.code.upper())


class OrderFactory(DjangoModelFactory[Order]):
    class Meta:
        model = Order

    account = factory.SubFactory(AccountFactory)
    external_id = factory.Sequence(lambda n: f"ord_{n:06d}")
    customer_name = factory.Sequence(lambda n: f"Customer {n}")
    customer_email = factory.Sequence(lambda n: f"customer{n}@example.com")
    status = "shipped"
    provider_created_at = factory.LazyFunction(timezone.now)
    raw = factory.LazyAttribute(lambda o: {"id": o.external_id, "status": o.status})


class LineItemFactory(DjangoModelFactory[LineItem]):
    class Meta:
        model = LineItem

    order = factory.SubFactory(OrderFactory)
    external_id = factory.Sequence(lambda n: f"li_{n:06d}")
    description = "Blood test kit"
    sku = factory.Sequence(lambda n: f"SKU-{n % 7}")
    quantity = 1


class InventoryFactory(DjangoModelFactory[ReturnInventory]):
    class Meta:
        model = ReturnInventory

    account = factory.SubFactory(AccountFactory, code="returnhelper")
    external_id = factory.Sequence(lambda n: f"inv{n:06d}")
    warehouse_id = "WH-1"
    handling_code = "rsd"
    rma = factory.Sequence(lambda n: f"RMA-{n:06d}")
    sku = "SKU-1"
    provider_created_at = factory.LazyFunction(timezone.now)


class ResendRequestFactory(DjangoModelFactory[ResendRequest]):
    class Meta:
        model = ResendRequest

    intent_key = factory.Sequence(lambda n: f"intent-{n}")
    submitted_by = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory)
    kind = ResendKind.CHARGEBEE_FULL
    reason_code = "Lost in transit"

    @classmethod
    def _create(cls, model_class: type[ResendRequest], *args: Any, **kwargs: Any) -> ResendRequest:
        submitted_at: datetime.datetime | None = kwargs.pop("submitted_at", None)
        request = super()._create(model_class, *args, **kwargs)
        if submitted_at is not None:
            model_class.objects.filter(pk=request.pk).update(submitted_at=submitted_at)
            request.submitted_at = submitted_at
        return request


class ResendTargetFactory(DjangoModelFactory[ResendTarget]):
    class Meta:
        model = ResendTarget

    request = factory.SubFactory(ResendRequestFactory)
    order = factory.SubFactory(OrderFactory, account=factory.SelfAttribute("..request.account"))


class ProviderCallFactory(DjangoModelFactory[ProviderCall]):
    class Meta:
        model = ProviderCall

    request = factory.SubFactory(ResendRequestFactory)
    account = factory.SelfAttribute("request.account")
    intent_key = factory.Sequence(lambda n: f"call-intent-{n}")
    operation = ProviderCall.Operation.CHARGEBEE_RESEND_ORDER
    state = CallState.PENDING
    # The model's checks: a call in flight is locked, a succeeded call has finished.
    locked_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.state == CallState.IN_FLIGHT else None
    )
    finished_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.state == CallState.SUCCEEDED else None
    )


class CallAttemptFactory(DjangoModelFactory[CallAttempt]):
    class Meta:
        model = CallAttempt

    call = factory.SubFactory(ProviderCallFactory)
    number = factory.LazyAttribute(lambda o: o.call.attempt_rows.count() + 1)
    celery_task_id = factory.Faker("uuid4")
    duration_ms = 120
    request_redacted = factory.LazyAttribute(
        lambda o: {"method": "POST", "headers": {"Authorization": "***"}, "json": o.call.payload}
    )
    response_status = 200
    response_excerpt = '{"ok": true}'
    outcome = "succeeded"
