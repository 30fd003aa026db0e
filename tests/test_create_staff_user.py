"""create_staff_user: a user in a role, the password never on the command line."""

from __future__ import annotations

import getpass
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from resends.roles import AGENTS, MANAGERS, can_audit, can_use_console

pytestmark = pytest.mark.django_db
GOOD = "lantern-orbit-cactus-42"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def groups(user: User) -> list[str]:
    return list(user.groups.values_list("name", flat=True))


def test_an_agent_from_an_environment_variable(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NEW_AGENT_PASSWORD", GOOD)
    call_command("create_staff_user", "ann", "--role", "agent", "--password-env",
                 "NEW_AGENT_PASSWORD", "--email", "ann@example.com")  # fmt: skip
    ann = User.objects.get(username="ann")
    assert ann.check_password(GOOD) and ann.email == "ann@example.com"
    assert groups(ann) == [AGENTS] and not ann.is_staff
    assert can_use_console(ann) and not can_audit(ann)
    assert "Created agent ann." in capsys.readouterr().out


def test_a_manager_from_standard_input() -> None:
    call_command("create_staff_user", "meg", "--role", "manager", "--password-stdin",
                 stdin=io.StringIO(GOOD + "\n"))  # fmt: skip
    meg = User.objects.get(username="meg")
    assert meg.check_password(GOOD) and meg.is_staff and groups(meg) == [MANAGERS]
    assert can_audit(meg)


def test_at_a_prompt_the_password_is_typed_twice(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    typed = iter([GOOD, GOOD + "x"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(typed))
    with pytest.raises(CommandError, match="differ"):
        call_command("create_staff_user", "pat", "--role", "agent", stdin=Terminal())
    typed = iter([GOOD, GOOD])
    call_command("create_staff_user", "pat", "--role", "agent", stdin=Terminal())
    assert User.objects.get(username="pat").check_password(GOOD)


def test_without_a_terminal_it_asks_for_a_way_in() -> None:
    with pytest.raises(CommandError, match="--password-stdin or --password-env"):
        call_command("create_staff_user", "sam", "--role", "agent", stdin=io.StringIO(""))
    with pytest.raises(CommandError, match="NOT_SET_ANYWHERE"):
        call_command("create_staff_user", "sam", "--role", "agent",
                     "--password-env", "NOT_SET_ANYWHERE")  # fmt: skip
    assert not User.objects.filter(username="sam").exists()


def test_no_password_argument_and_weak_passwords_are_refused() -> None:
    with pytest.raises(CommandError):
        call_command("create_staff_user", "sam", "--role", "agent", "--password", GOOD)
    with pytest.raises(CommandError, match="too common"):
        call_command("create_staff_user", "sam", "--role", "agent", "--password-stdin",
                     stdin=io.StringIO("password\n"))  # fmt: skip
    assert not User.objects.filter(username="sam").exists()


def test_an_existing_user_changes_role_only_with_update() -> None:
    call_command("create_staff_user", "kim", "--role", "agent", "--password-stdin",
                 stdin=io.StringIO(GOOD + "\n"))  # fmt: skip
    with pytest.raises(CommandError, match="--update"):
        call_command("create_staff_user", "kim", "--role", "manager", "--keep-password")
    call_command("create_staff_user", "kim", "--role", "manager", "--update", "--keep-password")
    kim = User.objects.get(username="kim")
    assert groups(kim) == [MANAGERS] and kim.is_staff and kim.check_password(GOOD)


def test_a_time_zone_can_be_set_and_a_wrong_one_is_refused() -> None:
    from resends.selectors.staff import time_zone_name_of

    with pytest.raises(CommandError, match="not a time zone"):
        call_command("create_staff_user", "tim", "--role", "agent", "--password-stdin",
                     "--time-zone", "Europe/Atlantis", stdin=io.StringIO(GOOD + "\n"))  # fmt: skip
    assert not User.objects.filter(username="tim").exists()
    call_command("create_staff_user", "tim", "--role", "agent", "--password-stdin",
                 "--time-zone", "Europe/Berlin", stdin=io.StringIO(GOOD + "\n"))  # fmt: skip
    assert time_zone_name_of(User.objects.get(username="tim")) == "Europe/Berlin"
    call_command("create_staff_user", "tim", "--role", "agent", "--update", "--keep-password",
                 "--time-zone", "Asia/Tokyo")  # fmt: skip
    assert time_zone_name_of(User.objects.get(username="tim")) == "Asia/Tokyo"
