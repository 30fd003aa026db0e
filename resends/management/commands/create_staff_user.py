"""Create (or update) a console user in a role, with a password that never appears on the
command line: typed at a prompt, read from standard input, or read from a named variable."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from resends.models.staff import time_zone_names
from resends.roles import AGENTS, MANAGERS, ensure_roles
from resends.services.staff import staff_time_zone_set

# role -> (group, staff): managers audit in the admin, so they are staff; agents use the console.
ROLES = {"agent": (AGENTS, False), "manager": (MANAGERS, True)}


class Command(BaseCommand):
    help = (
        "Create a user in a role (agent or manager). The password is asked for twice at a "
        "prompt, or read from standard input (--password-stdin) or from an environment "
        "variable named by --password-env; never from an argument, which would stay in the "
        "shell's history. --update changes an existing user's role (and password, if given)."
    )
    stealth_options = ("stdin",)  # call_command(..., stdin=...) in scripts and tests

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--email", default="")
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--password-stdin", action="store_true", help="Read the password from stdin."
        )
        source.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="Read the password from this environment variable (its name, not the value).",
        )
        source.add_argument(
            "--keep-password",
            action="store_true",
            help="With --update: leave the password as it is.",
        )
        parser.add_argument(
            "--update", action="store_true", help="The user exists: change its role."
        )
        parser.add_argument(
            "--time-zone",
            metavar="ZONE",
            help="The user's time zone, an IANA name such as Europe/Berlin (default: "
            "STAFF_TIME_ZONE until they choose one).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        username: str = options["username"].strip()
        if not username:
            raise CommandError("A user name is needed.")
        existing = User.objects.filter(username=username).first()
        if existing and not options["update"]:
            raise CommandError(f"User {username} exists; pass --update to change its role.")
        if not existing and options["update"]:
            raise CommandError(f"No user {username} to update.")
        if options["keep_password"] and not existing:
            raise CommandError("--keep-password is for --update only.")
        zone = options.get("time_zone")
        if zone is not None and zone not in time_zone_names():
            raise CommandError(
                f"{zone[:64]!r} is not a time zone: use an IANA name (Europe/Berlin)."
            )

        user = existing or User(username=username)
        user.email = options["email"] or user.email
        password = None if options["keep_password"] else self._password(options)
        if password is not None:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError("Password refused: " + " ".join(exc.messages)) from None

        group_name, staff = ROLES[options["role"]]
        with transaction.atomic():
            if not Group.objects.filter(name=group_name).exists():
                ensure_roles()
            user.is_staff = staff
            user.is_active = True
            if password is not None:
                user.set_password(password)
            user.save()
            user.groups.remove(*Group.objects.filter(name__in=[g for g, _ in ROLES.values()]))
            user.groups.add(Group.objects.get(name=group_name))
            if zone is not None:
                staff_time_zone_set(user=user, time_zone=zone)
        verb = "Updated" if existing else "Created"
        self.stdout.write(f"{verb} {options['role']} {username}.")

    def _password(self, options: dict[str, Any]) -> str:
        if options["password_env"]:
            name = options["password_env"]
            password = os.environ.get(name)
            if not password:
                raise CommandError(f"The environment variable {name} is not set or empty.")
            return password
        stdin: TextIO = options.get("stdin") or sys.stdin
        if options["password_stdin"]:
            password = stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("No password on standard input.")
            return password
        if not stdin.isatty():
            raise CommandError(
                "No terminal to ask for the password: use --password-stdin or --password-env."
            )
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        if not first:
            raise CommandError("An empty password is refused.")
        return first
