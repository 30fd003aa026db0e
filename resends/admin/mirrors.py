"""The mirrors: orders, their line items and Return Helper inventories, as providers sent them.

Read-only for everyone, superusers included: the rows are copies of what the providers hold,
written by sync and webhooks only, and the resend rules read them; a hand edit here would make
the console allow or refuse resends on facts the provider does not have.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.db.models.functions import Upper
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from ..inputs import prefix_upper_bound
from ..models import LineItem, Order, ReturnInventory
from .tables import (
    LargeTableAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    pretty_json,
)


class LineItemInline(ReadOnlyInline):
    model = LineItem
    fields = ("external_id", "description", "sku", "quantity", "status")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = (
        "external_id",
        "account",
        "customer_name",
        "customer_email",
        "status",
        "provider_created_at",
        "resend_count",
        "is_resent",
    )
    list_select_related = ("account",)
    list_filter = ("account", "is_resent")
    sortable_by = ("provider_created_at",)
    search_fields = ("=external_id",)  # shows the box; get_search_results does the work
    search_help_text = "Exact order id, exact customer email, or the start of the customer name."
    inlines = (LineItemInline,)
    exclude = ("raw",)
    readonly_fields = ("raw_pretty", "resends_link", "synced_at")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            return queryset.filter(customer_email=term.lower()), False
        # The name prefix goes through the Upper(customer_name) index: a range on the indexed
        # expression finds the candidates; LIKE (istartswith) keeps the exact meaning.
        prefix = term.upper()
        by_name = Q(upper_name__gte=prefix, customer_name__istartswith=term)
        if (bound := prefix_upper_bound(prefix)) is not None:
            by_name &= Q(upper_name__lt=bound)
        queryset = queryset.alias(upper_name=Upper("customer_name"))
        return queryset.filter(Q(external_id=term) | by_name), False

    @admin.display(description="Raw provider data")
    def raw_pretty(self, order: Order) -> str:
        return pretty_json(order.raw)

    @admin.display(description="Resends")
    def resends_link(self, order: Order) -> str:
        url = reverse("admin:resends_resendrequest_changelist")
        return format_html(
            '<a href="{}?{}">Resend requests for this order</a>',
            url,
            urlencode({"q": order.external_id}),
        )


@admin.register(LineItem)
class LineItemAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = ("external_id", "order", "description", "sku", "quantity", "status")
    list_select_related = ("order",)
    sortable_by = ()
    search_fields = ("=order__external_id",)
    search_help_text = "Exact order id."

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[LineItem], search_term: str
    ) -> tuple[QuerySet[LineItem], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(order__external_id=term), False


@admin.register(ReturnInventory)
class ReturnInventoryAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = (
        "external_id",
        "rma",
        "account",
        "warehouse_id",
        "handling_code",
        "sku",
        "quantity",
        "in_stock",
        "order",
        "provider_created_at",
    )
    list_select_related = ("account", "order")
    list_filter = ("account", "in_stock", "pending_vas")
    sortable_by = ("provider_created_at",)
    search_fields = ("=external_id", "=rma")
    search_help_text = "Exact returnInventoryId or RMA."
    exclude = ("raw",)
    readonly_fields = ("raw_pretty", "synced_at")
    raw_id_fields = ("order",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ReturnInventory], search_term: str
    ) -> tuple[QuerySet[ReturnInventory], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(external_id=term) | Q(rma=term)), False

    @admin.display(description="Raw provider data")
    def raw_pretty(self, inventory: ReturnInventory) -> str:
        return pretty_json(inventory.raw)
