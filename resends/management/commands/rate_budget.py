"""Show or reset the shared request budget of provider accounts (resends/engine/budget.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resends.engine import budget
from resends.models import ProviderAccount


class Command(BaseCommand):
    help = (
        "`rate_budget show [ACCOUNT ...]` prints each account's rate, cooldown (after a 429), "
        "next free slot, whether an agent's resend holds bulk work back, and the requests sent "
        "in the last second; `rate_budget reset ACCOUNT` clears the cooldown and both lanes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="print the budget of every account (or those named)")
        show.add_argument("accounts", nargs="*", metavar="ACCOUNT", help="account codes")
        reset = sub.add_parser("reset", help="clear an account's cooldown and lanes")
        reset.add_argument("accounts", nargs="+", metavar="ACCOUNT", help="account codes")

    def handle(self, *args: Any, action: str, accounts: list[str], **options: Any) -> None:
        chosen = self._accounts(accounts)
        if action == "reset":
            for account in chosen:
                budget.reset(account)
                self.stdout.write(f"{account.code}: cooldown and lanes cleared.")
            return
        store = "Redis" if settings.REDIS_URL else "database"
        self.stdout.write(f"Budget state in the {store}.")
        for account in chosen:
            rate = budget.rate_per_second(account)
            if rate <= 0:
                self.stdout.write(f"{account.code}: unlimited (rate 0)")
                continue
            state = budget.state(account)
            self.stdout.write(
                f"{account.code}: {rate:g}/s, "
                f"cooldown {_seconds(state.cooldown_for).replace('in ', '')}, "
                f"next slot {_seconds(state.next_slot_in, zero='free now')}, "
                f"bulk held back {_seconds(state.priority_for).replace('in ', '')}, "
                f"sent in the last {budget.departure_window():g} s: {state.recent_departures}"
            )

    @staticmethod
    def _accounts(codes: list[str]) -> list[ProviderAccount]:
        found = list(ProviderAccount.objects.filter(code__in=codes) if codes else
                     ProviderAccount.objects.order_by("provider", "code"))  # fmt: skip
        missing = sorted(set(codes) - {account.code for account in found})
        if missing:
            known = ", ".join(ProviderAccount.objects.values_list("code", flat=True))
            raise CommandError(f"Unknown account {', '.join(missing)} (known: {known}).")
        return found


def _seconds(value: float, zero: str = "none") -> str:
    return zero if value <= 0 else f"in {value:.1f} s"
