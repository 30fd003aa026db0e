"""Helpers for the admin tests: the trail of one resend, admin URLs, a signed-in client."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from resends.models import (
    CallAttempt,
    LineItem,
    Order,
    ProviderAccount,
    ProviderCall,
    ResendRequest,
    ResendTarget,
    ReturnInventory,
)

AUDIT_MODELS = (ResendRequest, ResendTarget, ProviderCall, CallAttempt)
MIRROR_MODELS = (ProviderAccount, Order, LineItem, ReturnInventory)


@dataclass
class Trail:
    order: Order
    line: LineItem
    inventory: ReturnInventory
    request: ResendRequest
    target: ResendTarget
    call: ProviderCall
    attempt: CallAttempt

    def instance(self, model: type[Model]) -> Model:
        return {
            ProviderAccount: self.request.account,
            Order: self.order,
            LineItem: self.line,
            ReturnInventory: self.inventory,
            ResendRequest: self.request,
            ResendTarget: self.target,
            ProviderCall: self.call,
            CallAttempt: self.attempt,
        }[model]


def admin_url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:resends_{model._meta.model_name}_{view}", args=args)


def every_admin_url(trail: Trail) -> list[str]:
    urls = []
    for model in (*AUDIT_MODELS, *MIRROR_MODELS):
        urls.append(admin_url(model, "changelist"))
        urls.append(admin_url(model, "change", trail.instance(model).pk))
    urls.append(reverse("admin:resends_resendrequest_export"))
    return urls


def signed_in(client: Client, user: User | None) -> Client:
    if user is not None:
        client.force_login(user)
    return client


def search(client: Client, model: type, term: str, **params: str) -> list[object]:
    response = client.get(admin_url(model, "changelist"), {"q": term, **params})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)
