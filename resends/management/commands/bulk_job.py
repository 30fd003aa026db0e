"""Create, preview or follow a bulk job from the command line (for cron users and scripts),
through the same services as the console: the same preview, approval rule and audit."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resends import rules
from resends.inputs import parse_id
from resends.models import BulkJob, BulkKind, ProviderAccount, SavedFilter
from resends.roles import can_audit
from resends.rules import RuleViolation
from resends.selectors import bulk_progress, bulk_selection
from resends.services import bulk_jobs
from resends.times import parse_time


class Command(BaseCommand):
    help = (
        "Bulk replays: `bulk_job preview ...` counts what a window or filter matches and why items "
        "are skipped; `bulk_job create ...` creates the job (large ones wait for a second "
        "manager's approval); `--filter NAME` runs a saved filter; `bulk_job status JOB` prints "
        "its progress."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for action in ("preview", "create"):
            command = sub.add_parser(action, help=f"{action} a bulk job")
            command.add_argument(
                "--kind", choices=BulkKind.values, help="What to do (default: the filter's)."
            )
            command.add_argument(
                "--filter", dest="saved_filter", help="Run a saved filter (by its name)."
            )
            command.add_argument(
                "--account", help="Provider account code (default: the kind's provider)."
            )
            command.add_argument(
                "--start", help="Window start, ISO time with a zone (junction_window)."
            )
            command.add_argument("--end", help="Window end (default: now).")
            command.add_argument("--updated-from", help="Orders updated at or after (ISO time).")
            command.add_argument("--updated-to", help="Orders updated before (ISO time).")
            command.add_argument("--status", help="Only orders with this provider status.")
            command.add_argument(
                "--warehouse", help="Return Helper warehouse id (returnhelper_inventories)."
            )
            command.add_argument("--created-from", help="Items received at or after (ISO time).")
            command.add_argument("--created-to", help="Items received before (ISO time).")
            command.add_argument("--sku", help="Only return items with this SKU.")
            command.add_argument("--rma", help="Only return items with this RMA.")
            command.add_argument(
                "--service-type", default="", help="Return Helper shipment service type."
            )
            if action == "create":
                command.add_argument(
                    "--as", dest="username", required=True, help="Manager creating it."
                )
                command.add_argument("--reason", default="", help="Chargebee reason code.")
                command.add_argument("--note", default="", help="Why (kept in the audit).")
                command.add_argument(
                    "--dry-run", action="store_true", help="Record the preview, send nothing."
                )
        status = sub.add_parser("status", help="progress of a job")
        status.add_argument("job", help="The job's number or public id.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "status":
                self._status(options["job"])
                return
            saved = None
            if options.get("saved_filter"):
                saved = bulk_selection.find_filter(options["saved_filter"])
                kind, account, criteria = self._from_filter(saved, options)
            else:
                kind = options.get("kind") or ""
                if not kind:
                    raise CommandError("Give --kind, or --filter NAME to run a saved filter.")
                account = bulk_selection.account_for(kind, options.get("account"))
                criteria = self._criteria(kind, options)
            service_type = options["service_type"] or ""
            if action == "preview":
                self._print_preview(
                    bulk_selection.preview(kind, account, criteria, service_type=service_type)
                )
                return
            job, _ = bulk_jobs.create_job(
                actor=self._manager(options["username"]), kind=kind, account=account,
                criteria=criteria, reason_code=options["reason"], service_type=service_type,
                note=options["note"], dry_run=options["dry_run"], channel="cli",
                saved_filter=saved,
            )  # fmt: skip
        except RuleViolation as violation:
            raise CommandError(str(violation)) from None
        self.stdout.write(f"Bulk job #{job.pk} ({job.public_id}): {job.get_state_display()}.")
        self._print_preview_json(job.preview)

    # criteria key -> the option that gives it
    OPTIONS = {
        "start_at": "start",
        "end_at": "end",
        "status": "status",
        "updated_from": "updated_from",
        "updated_to": "updated_to",
        "warehouse_id": "warehouse",
        "created_from": "created_from",
        "created_to": "created_to",
        "sku": "sku",
        "rma": "rma",
    }
    TIMES = {"start_at", "end_at", "updated_from", "updated_to", "created_from", "created_to"}

    def _criteria(self, kind: str, options: dict[str, Any]) -> dict[str, str]:
        criteria = {}
        for key in bulk_selection.CRITERIA_OF_KIND[kind]:
            option = self.OPTIONS[key]
            value = options.get(option)
            if not value:
                continue
            if key in self.TIMES and parse_time(value) is None:
                raise CommandError(f"--{option.replace('_', '-')}: “{value}” is not an ISO time.")
            criteria[key] = value
        problems = rules.bulk_criteria_problems(kind, criteria)
        if problems:
            flags = ", ".join(f"--{self.OPTIONS[p.subject].replace('_', '-')}" for p in problems)
            raise CommandError(" ".join(p.message for p in problems) + f" ({flags})")
        return criteria

    def _from_filter(
        self, saved: SavedFilter, options: dict[str, Any]
    ) -> tuple[str, ProviderAccount, dict[str, Any]]:
        """The saved filter's kind, account and a copy of its criteria (not mixed with others)."""
        given = [f"--{o.replace('_', '-')}" for o in self.OPTIONS.values() if options.get(o)]
        if given:
            raise CommandError(f"--filter runs the saved criteria as they are; drop {given[0]}.")
        if options.get("kind") and options["kind"] != saved.kind:
            raise CommandError(f"The saved filter “{saved}” is for {saved.kind} jobs.")
        if options.get("account") and options["account"] != saved.account.code:
            raise CommandError(
                f"The saved filter “{saved}” is for the {saved.account.code} account."
            )
        return saved.kind, saved.account, dict(saved.criteria)

    def _manager(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None or not can_audit(user):
            raise CommandError(f"“{username}” is not a manager; bulk jobs are created by managers.")
        return user

    def _print_preview(self, preview: bulk_selection.BulkPreview) -> None:
        self._print_preview_json(preview.as_json())

    def _print_preview_json(self, data: dict[str, Any]) -> None:
        if data.get("windows"):
            self.stdout.write(f"Windows: {len(data['windows'])} (each at most 60 days)")
        else:
            self.stdout.write(f"Matched: {data['matched']}  to send: {data['to_send']}")
            for reason, count in data.get("skipped", {}).items():
                self.stdout.write(f"  skipped {count}: {reason}")
        eta = data.get("eta_seconds")
        self.stdout.write(
            f"Provider requests: {data['requests']}"
            + (f", about {eta:.0f} s at {data['rate_per_second']:g}/s" if eta is not None else "")
        )

    def _status(self, ref: str) -> None:
        job = None
        if (pk := parse_id(ref)) is not None:
            job = BulkJob.objects.filter(pk=pk).first()
        else:
            with contextlib.suppress(ValueError):
                job = BulkJob.objects.filter(public_id=uuid.UUID(ref)).first()
        if job is None:
            raise CommandError(f"No bulk job “{ref}”.")
        p = bulk_progress.progress(job)
        self.stdout.write(
            f"Bulk job #{job.pk}: {job.get_state_display()}, {p.percent}% "
            f"(done {p.done}, failed {p.failed}, skipped {p.skipped}, remaining {p.remaining})"
        )
