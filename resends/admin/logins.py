"""Failed sign-ins (django-axes' AccessAttempt rows): who is locked out, and unlocking them.

A row counts the failures of one user name from one address (and browser). Sign-in is refused
once the failures of a user name, or from an address, reach AXES_FAILURE_LIMIT within
AXES_COOLOFF_TIME (backoffice/settings.py); each row shows both totals. Managers unlock a user
name or an address by forgetting its failures ("Unlock" action); the admin's history records who
did it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from .tables import BoundedInputsAdmin


def _recent() -> QuerySet[AccessAttempt]:
    return AccessAttempt.objects.filter(
        attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME
    ).order_by()


def _failures_sharing(field: str) -> Coalesce:
    """The recent failures of every row with the same `field` (user name or address)."""
    rows = (
        _recent()
        .filter(**{field: OuterRef(field)})
        .values(field)
        .annotate(n=Sum("failures_since_start"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def _locked(limit: int) -> Q:
    return Q(user_failures__gte=limit) | Q(address_failures__gte=limit)


class LockedOutFilter(admin.SimpleListFilter):
    title = "locked out"
    parameter_name = "locked_out"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Locked out now"), ("no", "Not locked out")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        locked = _locked(settings.AXES_FAILURE_LIMIT)
        if self.value() == "yes":
            return queryset.filter(locked)
        if self.value() == "no":
            return queryset.exclude(locked)
        return queryset


@admin.register(AccessAttempt)
class AccessAttemptAdmin(BoundedInputsAdmin):
    list_display = (
        "attempt_time",
        "username",
        "ip_address",
        "failures_since_start",
        "status",
        "path_info",
    )
    list_filter = (LockedOutFilter, "path_info")
    search_fields = ("=username",)  # shows the box; get_search_results does the work
    date_hierarchy = "attempt_time"
    fields = (
        "username",
        "ip_address",
        "user_agent",
        "path_info",
        "attempt_time",
        "failures_since_start",
        "get_data",
        "post_data",
    )
    readonly_fields = fields
    actions = ("unlock",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessAttempt]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                user_failures=_failures_sharing("username"),
                address_failures=_failures_sharing("ip_address"),
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AccessAttempt], search_term: str
    ) -> tuple[QuerySet[AccessAttempt], bool]:
        """A user name, or a client address (compared as an address, so "::1" finds "::1")."""
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            address = str(ipaddress.ip_address(term))
        except ValueError:
            return queryset.filter(username=term), False
        return queryset.filter(Q(username=term) | Q(ip_address=address)), False

    @admin.display(description="Status")
    def status(self, obj: AccessAttempt) -> str:
        limit = settings.AXES_FAILURE_LIMIT
        locked = [
            what
            for what, failures in (
                ("user name", obj.user_failures),  # type: ignore[attr-defined]
                ("address", obj.address_failures),  # type: ignore[attr-defined]
            )
            if failures >= limit
        ]
        return f"Locked out ({' and '.join(locked)})" if locked else "Not locked out"

    @admin.action(description="Unlock these user names and addresses", permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        """Forget every failure of the selected rows' user names and addresses (not only the
        selected rows: another row of the same address would keep it locked)."""
        picked = list(queryset.values_list("username", "ip_address"))
        names = {name for name, _ in picked if name is not None}
        addresses = {address for _, address in picked if address is not None}
        forgotten = AccessAttempt.objects.filter(
            Q(username__in=names) | Q(ip_address__in=addresses)
        )
        self.log_deletions(request, forgotten)
        count, _ = forgotten.delete()
        unlocked = ", ".join(sorted(names | addresses))
        self.message_user(request, f"Unlocked {unlocked} ({count} failure records forgotten).")
