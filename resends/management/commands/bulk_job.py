"""Create, preview or follow a bulk job from the command line (for cron users and scripts),
through the same services as the console: the same preview, approval rule and audit."""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resends import rules
from resends.inputs import parse_id
from resends.models import BulkJob, BulkKind, BulkState, ProviderAccount, SavedFilter
from resends.roles import can_audit
from resends.rules import RuleViolation
from resends.selectors import bulk_progress, bulk_selection
from resends.services import bulk_jobs
from resends.times import parse_time


class Command(BaseCommand):
    help = (
        "Bulk replays: `bulk_job preview ...` counts what a window or filter matches and why items "
        "are skipped; `bulk_job create ...` creates the job (large ones wait for a second "
        "manager's approval); `--filter NAME` runs a saved filter; `bulk_job approve|reject JOB "
        "--by USER --note ...` decides on a job waiting for approval (a manager other than its "
        "creator); `bulk_job status JOB [--follow]` prints its progress, or follows it with a "
        "progress bar until it stops."
    )
    # While a job is in one of these states, --follow keeps following it.
    MOVING = (BulkState.QUEUED, BulkState.RUNNING)
    BAR_WIDTH = 30

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
        status.add_argument(
            "--follow", action="store_true", help="Draw a progress bar until the job stops."
        )
        status.add_argument(
            "--interval", type=float, default=2.0, help="Seconds between looks (--follow)."
        )
        status.add_argument(
            "--timeout",
            type=float,
            help="Give up following after this many seconds, exiting with an error (--follow).",
        )
        for action in ("approve", "reject"):
            decide = sub.add_parser(action, help=f"{action} a job waiting for approval")
            decide.add_argument("job", help="The job's number or public id.")
            decide.add_argument(
                "--by", dest="username", required=True,
                help="The manager deciding (not the one who created the job).",
            )  # fmt: skip
            decide.add_argument(
                "--note", default="", required=action == "reject",
                help="Why (kept with the job)" + ("." if action == "approve" else "; required."),
            )  # fmt: skip

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "status":
                job = self._job(options["job"])
                if options["follow"]:
                    self._follow(job, max(0.05, options["interval"]), options["timeout"])
                else:
                    self.stdout.write(self._line(job, bulk_progress.progress(job)))
                return
            if action in ("approve", "reject"):
                self._decide(action, options)
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

    def _job(self, ref: str) -> BulkJob:
        number = parse_id(ref)
        job = (
            BulkJob.objects.filter(pk=number).first()
            if number is not None
            else BulkJob.objects.filter(public_id=ref).first()
            if _is_uuid(ref)
            else None
        )
        if job is None:
            raise CommandError(f"No bulk job “{ref}”.")
        return job

    def _decide(self, action: str, options: dict[str, Any]) -> None:
        job = self._job(options["job"])
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user “{options['username']}”.")
        try:
            job = bulk_jobs.decide(
                job, manager=user, approve=action == "approve", note=options["note"]
            )
        except PermissionDenied as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(
            f"Bulk job #{job.pk}: {job.get_state_display()} by {user.get_username()}"
            + (f" ({job.decision_note})" if job.decision_note else "")
            + "."
        )

    def _line(self, job: BulkJob, p: bulk_progress.Progress) -> str:
        return (
            f"Bulk job #{job.pk}: {job.get_state_display()}, {p.percent}% "
            f"(done {p.done}, failed {p.failed}, skipped {p.skipped}, remaining {p.remaining})"
        )

    def _bar(self, job: BulkJob, p: bulk_progress.Progress) -> str:
        filled = round(self.BAR_WIDTH * p.percent / 100)
        bar = "#" * filled + "-" * (self.BAR_WIDTH - filled)
        line = (
            f"#{job.pk} {job.get_state_display().lower():<9} [{bar}] {p.percent:3d}%  "
            f"done {p.done}  failed {p.failed}  skipped {p.skipped}  "
            f"in progress {p.in_progress}  remaining {p.remaining}"
        )
        if p.per_second:
            line += f"  {p.per_second:.1f}/s"
        if p.eta_seconds is not None:
            line += f"  about {_duration(p.eta_seconds)} left"
        return line

    def _follow(self, job: BulkJob, interval: float, timeout: float | None) -> None:
        """One line redrawn in place on a terminal; a new line for each change otherwise (a log
        file or a pipe), so that a cron mail is not thousands of identical lines."""
        terminal = self.stdout.isatty()
        shown = ""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                job.refresh_from_db()
                line = self._bar(job, bulk_progress.progress(job))
                if terminal:
                    self.stdout.write("\r" + line.ljust(len(shown)), ending="")
                    self.stdout.flush()
                elif line != shown:
                    self.stdout.write(line)
                shown = line
                if job.state not in self.MOVING:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    if terminal:
                        self.stdout.write("")
                    raise CommandError(
                        f"Bulk job #{job.pk} is still {job.get_state_display().lower()} after "
                        f"{timeout:g} s (it goes on)."
                    )
                time.sleep(interval)
        except KeyboardInterrupt:
            if terminal:
                self.stdout.write("")
            self.stdout.write("Stopped following; the job goes on.")
            return
        if terminal:
            self.stdout.write("")
        self.stdout.write(self._stopped(job))

    @staticmethod
    def _stopped(job: BulkJob) -> str:
        match job.state:
            case BulkState.AWAITING_APPROVAL:
                return (
                    f"Bulk job #{job.pk} waits for a second manager: "
                    f"`bulk_job approve {job.pk} --by USER` or `bulk_job reject {job.pk} ...`."
                )
            case BulkState.PAUSED:
                return f"Bulk job #{job.pk} is paused; resume it from the console."
            case _:
                return f"Bulk job #{job.pk} stopped: {job.get_state_display().lower()}."


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
