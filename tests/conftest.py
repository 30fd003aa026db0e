"""Shared fixtures: the cast of users (alice the agent, mona the manager, otto the outsider)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from resends.roles import AGENTS, MANAGERS, ensure_roles

PASSWORD = "correct horse battery staple"


def make_user(username: str, *, group: str | None = None, staff: bool = False) -> User:
    user = User.objects.create_user(
        username, f"{username}@backoffice.test", PASSWORD, is_staff=staff
    )
    if group:
        if not Group.objects.filter(name=group).exists():
            ensure_roles()  # an earlier transactional test flushed the tables
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def agent(db: None) -> User:
    return make_user("alice", group=AGENTS)


@pytest.fixture
def manager(db: None) -> User:
    return make_user("mona", group=MANAGERS, staff=True)


@pytest.fixture
def second_manager(db: None) -> User:
    return make_user("max", group=MANAGERS, staff=True)


@pytest.fixture
def outsider(db: None) -> User:
    """Staff, so the admin lets them in, but in neither role."""
    return make_user("otto", staff=True)


@pytest.fixture(autouse=True)
def unlimited_rate_budget(settings):  # type: ignore[no-untyped-def]
    """Tests send as fast as they like unless they test the budget (tests/engine/test_budget.py)."""
    settings.RATE_PER_SECOND = dict.fromkeys(settings.RATE_PER_SECOND, 0.0)


# --- The provider sandbox, over real HTTP ----------------------------------------------------
@pytest.fixture(scope="session")
def sandbox_server():  # type: ignore[no-untyped-def]
    from sandbox.server import start_in_thread

    running = start_in_thread(port=0, webhook_delay=0.2)
    yield running
    running.stop()


@pytest.fixture
def sandbox(sandbox_server, settings):  # type: ignore[no-untyped-def]
    """A freshly reset sandbox, with every provider setting pointing at it."""
    import requests

    requests.post(f"{sandbox_server.url}/_sandbox/reset", json={}, timeout=10).raise_for_status()
    requests.delete(f"{sandbox_server.url}/_sandbox/faults", timeout=10).raise_for_status()
    settings.JUNCTION = {**settings.JUNCTION, "base_url": sandbox_server.junction_url}
    settings.CHARGEBEE = {**settings.CHARGEBEE, "base_url": sandbox_server.chargebee_url}
    settings.RETURNHELPER = {
        **settings.RETURNHELPER,
        "base_url": sandbox_server.returnhelper_user_url,
        "public_base_url": sandbox_server.returnhelper_public_url,
    }
    return sandbox_server


@pytest.fixture
def app_webhooks(live_server, sandbox, settings, transactional_db):  # type: ignore[no-untyped-def]
    """The sandbox sending its signed webhooks to the live server: real HTTP both ways."""
    import requests

    settings.SITE_URL = live_server.url  # Return Helper signs the URL it posts to
    requests.post(
        f"{sandbox.url}/_sandbox/config",
        json={
            "webhook_url": f"{live_server.url}/webhooks/returnhelper/",
            "chargebee_webhook_url": f"{live_server.url}/webhooks/chargebee/",
            "junction_webhook_url": f"{live_server.url}/webhooks/junction/",
        },
        timeout=10,
    ).raise_for_status()
    return sandbox


@pytest.fixture(scope="session", autouse=True)
def no_stray_sessions_at_teardown(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """PostgreSQL will not drop the test database while a session is connected to it. A worker
    or live-server connection can outlive its test by a moment; end them once every test is done,
    just before pytest-django drops the database."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
