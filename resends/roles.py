"""Who may do what. The groups and their permissions are created by migration 0002."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

AGENTS = "Customer service"
MANAGERS = "Managers"

AGENT_PERMISSIONS = (
    "resends.view_provideraccount",
    "resends.view_order",
    "resends.view_lineitem",
    "resends.view_returninventory",
    "resends.add_resendrequest",
)
MANAGER_PERMISSIONS = (
    *AGENT_PERMISSIONS,
    "resends.view_resendrequest",
    "resends.view_resendtarget",
    "resends.view_providercall",
    "resends.view_callattempt",
    "resends.view_bulkjob",
    "resends.view_savedfilter",
    "resends.add_savedfilter",
    "resends.change_savedfilter",
    "resends.delete_savedfilter",
    "resends.approve_resendrequest",
    "resends.view_reviewdecision",
    "resends.decide_reviewdecision",
    # Anyone's time zone (each staff member sets their own in the console).
    "resends.view_staffprofile",
    "resends.add_staffprofile",
    "resends.change_staffprofile",
    "django_celery_beat.view_periodictask",
    "django_celery_beat.add_periodictask",
    "django_celery_beat.change_periodictask",
    "django_celery_beat.delete_periodictask",
    "django_celery_beat.view_crontabschedule",
    "django_celery_beat.add_crontabschedule",
    "django_celery_beat.change_crontabschedule",
    "django_celery_beat.view_intervalschedule",
    "django_celery_beat.add_intervalschedule",
    "django_celery_beat.change_intervalschedule",
    # Failed sign-ins: see who is locked out, and unlock (resends/admin/logins.py).
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
)


def can_use_console(user: Any) -> bool:
    return bool(
        user.is_authenticated and user.is_active and user.has_perm("resends.add_resendrequest")
    )


def can_audit(user: Any) -> bool:
    return bool(
        user.is_authenticated and user.is_active and user.has_perm("resends.view_resendrequest")
    )


def console_user_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Agents and managers only; any other signed-in account gets 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_use_console(request.user):
            raise PermissionDenied("This console is for customer service and managers.")
        return view(request, *args, **kwargs)

    return wrapper


def ensure_roles() -> None:
    """(Re)create both groups with their permissions; idempotent. Migration 0002 does this at
    install time; tests that flush the database call it to put the roles back."""
    from django.contrib.auth.models import Group, Permission

    for name, wanted in ((AGENTS, AGENT_PERMISSIONS), (MANAGERS, MANAGER_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        perms = [
            Permission.objects.get(content_type__app_label=app, codename=code)
            for app, code in (perm.split(".") for perm in wanted)
        ]
        group.permissions.set(perms)
