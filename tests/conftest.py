"""Shared fixtures: the cast of users (alice the agent, mona the manager, otto the outsider)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from resends.roles import AGENTS, MANAGERS

PASSWORD = "correct horse battery staple"


def make_user(username: str, *, group: str | None = None, staff: bool = False) -> User:
    user = User.objects.create_user(
        username, f"{username}@backoffice.test", PASSWORD, is_staff=staff
    )
    if group:
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
