from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from resends.providers.base import ProviderError
from resends.services.sync import sync_all


class Command(BaseCommand):
    help = (
        "Update the Junction and Chargebee order mirrors from the providers' list APIs. "
        "Incremental by default (changes since the newest one we hold); --full reads everything. "
        "Return Helper inventories arrive by webhook (newInventoryCreated) instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full", action="store_true", help="Read every order, not just recent changes."
        )
        parser.add_argument(
            "--provider", choices=["junction", "chargebee"], help="Only this provider."
        )

    def handle(self, *args: Any, full: bool, provider: str | None, **options: Any) -> None:
        try:
            for report in sync_all(full=full, provider=provider):
                self.stdout.write(str(report))
        except ProviderError as error:
            raise CommandError(
                f"The provider did not answer as expected: {error.message}"
            ) from error
