from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from resends.providers.base import ProviderError
from resends.services.sync import SyncReport, sync_all

BAR_WIDTH = 20


class Command(BaseCommand):
    help = (
        "Update the Junction and Chargebee order mirrors from the providers' list APIs. "
        "Incremental by default (changes since the newest one we hold); --full reads everything, "
        "showing its progress page by page. Return Helper inventories arrive by webhook "
        "(newInventoryCreated) instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full", action="store_true", help="Read every order, not just recent changes."
        )
        parser.add_argument(
            "--provider", choices=["junction", "chargebee"], help="Only this provider."
        )
        parser.add_argument(
            "--progress",
            action="store_true",
            help="Show the progress of an incremental sync too (--full always shows it).",
        )

    def handle(
        self, *args: Any, full: bool, provider: str | None, progress: bool, **options: Any
    ) -> None:
        shown = full or progress
        self._terminal = self.stdout.isatty()
        self._drawing = ""  # the account whose line is drawn in place on a terminal
        try:
            reports = sync_all(
                full=full,
                provider=provider,
                progress=self._draw if shown and options["verbosity"] >= 1 else None,
            )
        except ProviderError as error:
            self._end_line()
            raise CommandError(
                f"The provider did not answer as expected: {error.message}"
            ) from error
        self._end_line()
        for report in reports:
            self.stdout.write(str(report))

    def _draw(self, report: SyncReport) -> None:
        """After each page: one line redrawn in place on a terminal, a new line otherwise."""
        line = f"{report.account}: page {report.pages}, {report.seen:,}"
        if report.total:
            filled = min(BAR_WIDTH, round(BAR_WIDTH * report.seen / report.total))
            percent = min(100, round(100 * report.seen / report.total))
            line += f" of {report.total:,} orders read [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {percent}%"
        else:
            line += " orders read"
        line += f", {report.changed:,} changed"
        if not self._terminal:
            self.stdout.write(line)
            return
        if self._drawing and self._drawing != report.account:
            self._end_line()
        self._drawing = report.account
        self.stdout.write("\r" + line, ending="")
        self.stdout.flush()

    def _end_line(self) -> None:
        if self._terminal and self._drawing:
            self.stdout.write("")
            self._drawing = ""
