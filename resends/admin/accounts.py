"""Provider accounts: where each account's credentials live, edited by superusers only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ..accounts import env_variable_names
from ..models import Provider, ProviderAccount


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    """Accounts name where their credentials live (environment variables); they hold none.

    Only superusers may add or edit them. Nobody deletes one here: orders and the audit point at
    it; clear "active" instead.
    """

    list_display = (
        "label",
        "provider",
        "code",
        "environment",
        "env_prefix",
        "is_default",
        "is_active",
    )
    list_filter = ("provider", "is_active")
    readonly_fields = ("reads_variables", "created_at")
    fields = (
        "provider",
        "code",
        "label",
        "environment",
        "env_prefix",
        "reads_variables",
        "order_url_template",
        "resend_url_template",
        "label_url_template",
        "is_default",
        "is_active",
        "created_at",
    )

    @admin.display(description="Reads from the environment")
    def reads_variables(self, account: ProviderAccount) -> str:
        if not account.env_prefix or account.provider not in Provider.values:
            return "-"
        return ", ".join(env_variable_names(account))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
