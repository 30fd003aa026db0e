"""The two roles, proven over the cast: anonymous, an agent, a manager, staff in neither role.

Customer service views the mirrors and creates resends; managers do all of that and see the
audit, approve, and manage schedules. Nobody in either role changes the audit.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import Client
from django.urls import reverse

from resends.roles import (
    AGENT_PERMISSIONS,
    AGENTS,
    MANAGER_PERMISSIONS,
    MANAGERS,
    can_audit,
    can_use_console,
    ensure_roles,
)

MIRRORS = ("resends.view_provideraccount", "resends.view_order", "resends.view_returninventory")
AUDIT = (
    "resends.view_resendrequest",
    "resends.view_resendtarget",
    "resends.view_providercall",
    "resends.view_callattempt",
)
SCHEDULES = ("django_celery_beat.view_periodictask", "django_celery_beat.change_periodictask")
NOBODY = (
    "resends.change_resendrequest",
    "resends.delete_resendrequest",
    "resends.add_providercall",
    "resends.change_providercall",
    "resends.delete_callattempt",
    "resends.change_provideraccount",
    "resends.change_order",
)

# who -> (console, audit, mirrors, create resends, approve, schedules)
MATRIX = {
    "anonymous": (False, False, False, False, False, False),
    "agent": (True, False, True, True, False, False),
    "manager": (True, True, True, True, True, True),
    "outsider": (False, False, False, False, False, False),
}


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def anonymous(db: None) -> AnonymousUser:
    return AnonymousUser()


def cast(request: pytest.FixtureRequest, who: str) -> User | AnonymousUser:
    return request.getfixturevalue(who)


def test_the_groups_hold_exactly_the_permissions_of_roles_py(db: None) -> None:
    if not Group.objects.exists():  # an earlier transactional test flushed the migration's rows
        ensure_roles()
    for name, expected in ((AGENTS, AGENT_PERMISSIONS), (MANAGERS, MANAGER_PERMISSIONS)):
        group = Group.objects.get(name=name)
        held = {
            f"{app}.{codename}"
            for app, codename in group.permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        assert held == set(expected), name


@pytest.mark.parametrize("who", MATRIX)
def test_the_permission_matrix(request: pytest.FixtureRequest, who: str) -> None:
    user = cast(request, who)
    console, audit, mirrors, create, approve, schedules = MATRIX[who]
    assert can_use_console(user) is console
    assert can_audit(user) is audit
    assert all(user.has_perm(p) for p in MIRRORS) is mirrors
    assert any(user.has_perm(p) for p in MIRRORS) is mirrors
    assert user.has_perm("resends.add_resendrequest") is create
    assert all(user.has_perm(p) for p in AUDIT) is audit
    assert any(user.has_perm(p) for p in AUDIT) is audit
    assert user.has_perm("resends.approve_resendrequest") is approve
    assert all(user.has_perm(p) for p in SCHEDULES) is schedules
    assert not any(user.has_perm(p) for p in NOBODY)


def test_an_inactive_manager_has_no_role(manager: User) -> None:
    manager.is_active = False
    manager.save()
    assert not can_use_console(manager)
    assert not can_audit(manager)


# who -> status of: the console home, the audit list, the orders list, the schedules list
PAGES = {
    "anonymous": (302, 302, 302, 302),
    "agent": (200, 302, 302, 302),  # agents are not staff: the admin sends them to its login
    "manager": (200, 200, 200, 200),
    "outsider": (403, 403, 403, 403),
}


@pytest.mark.parametrize("who", PAGES)
def test_who_reaches_which_page(client: Client, request: pytest.FixtureRequest, who: str) -> None:
    user = cast(request, who)
    if isinstance(user, User):
        client.force_login(user)
    urls = (
        reverse("resends:find"),
        reverse("admin:resends_resendrequest_changelist"),
        reverse("admin:resends_order_changelist"),
        reverse("admin:django_celery_beat_periodictask_changelist"),
    )
    assert tuple(client.get(url).status_code for url in urls) == PAGES[who]
