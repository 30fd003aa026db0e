"""The needs-review queue from the command line, through the same selectors and services as the
console: `review list`, `review show CALL` (with a fresh look at the provider), and
`review decide CALL --as MANAGER --decision applied|send-again|give-up --why TEXT`."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from resends.inputs import parse_id
from resends.models import ProviderCall
from resends.models.audit import Channel
from resends.models.review import Decision
from resends.rules import RuleViolation
from resends.selectors import review as selectors
from resends.services import review as services

DECISIONS = {value.replace("_", "-"): value for value in Decision.values}


class Command(BaseCommand):
    help = (
        "Provider calls that need review: `review list`; `review show CALL` prints what we sent, "
        "every attempt and the provider's state now; `review decide CALL --as MANAGER "
        "--decision applied|send-again|give-up --why TEXT [--reference REF]` records a decision "
        "with the provider's state looked up at that moment as its evidence."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="the calls waiting, longest first")
        show = sub.add_parser("show", help="one call, with a fresh look at the provider")
        show.add_argument("call", help="The call's number.")
        decide = sub.add_parser("decide", help="settle one call")
        decide.add_argument("call", help="The call's number.")
        decide.add_argument("--as", dest="username", required=True, help="The deciding manager.")
        decide.add_argument("--decision", required=True, choices=sorted(DECISIONS))
        decide.add_argument("--why", required=True, help="What you found (kept in the audit).")
        decide.add_argument(
            "--reference", default="", help="For applied: the provider's id of what you found."
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "list":
            self._list()
            return
        call = self._call(options["call"])
        if action == "show":
            self._show(call)
            return
        self._decide(call, options)

    def _call(self, text: str) -> ProviderCall:
        call_id = parse_id(text.removeprefix("#"))
        call = selectors.call_under_review(call_id) if call_id else None
        if call is None:
            raise CommandError(f"No provider call {text!r}.")
        return call

    def _list(self) -> None:
        calls = selectors.review_queue()
        if not calls:
            self.stdout.write("Nothing needs review.")
            return
        self.stdout.write(f"{selectors.waiting_count()} call(s) need review:")
        for call in calls:
            since = timezone.localtime(call.review_since) if call.review_since else None
            self.stdout.write(
                f"#{call.pk}  since {since:%Y-%m-%d %H:%M} UTC  {call.get_operation_display()} "
                f"{call.subject}  (resend #{call.request_id})\n    {call.failure_reason}"
                if since
                else f"#{call.pk}  {call.get_operation_display()} {call.subject}\n"
                f"    {call.failure_reason}"
            )

    def _show(self, call: ProviderCall) -> None:
        out = self.stdout.write
        out(f"Call #{call.pk}: {call.get_operation_display()} {call.subject} [{call.state}]")
        if call.failure_reason:
            out(f"Why: {call.failure_reason}")
        out(f"Resend #{call.request_id} by {call.request.submitted_by.get_username()}")
        out(f"Idempotency key: {call.idempotency_key}")
        out("What we sent:")
        out(json.dumps(selectors.sent_payload(call), indent=2, sort_keys=True))
        out("Attempts:")
        for attempt in selectors.attempts_of(call):
            got = f"HTTP {attempt.status}" if attempt.status else "no answer"
            out(
                f"  #{attempt.number} {attempt.purpose} {attempt.started_at:%Y-%m-%d %H:%M:%S} "
                f"{attempt.asked or '-'} -> {got} {attempt.outcome}"
            )
            if attempt.message:
                out(f"     {attempt.message}")
        for decision in call.review_decisions.all():
            out(
                f"Decided {decision.decided_at:%Y-%m-%d %H:%M} by "
                f"{decision.decided_by.get_username()}: {decision.get_decision_display()} "
                f"{decision.provider_reference} ({decision.why})"
            )
        self._print_provider(selectors.provider_state(call).as_json())

    def _print_provider(self, evidence: dict[str, Any]) -> None:
        out = self.stdout.write
        out(f"The provider now (looked up {evidence['fetched_at']}):")
        if evidence.get("error"):
            out(f"  {evidence['error']}")
        if evidence.get("summary"):
            out(f"  {evidence['summary']}")
        for record in evidence.get("records", []):
            mark = "  <- looks like ours" if record.get("matches") else ""
            out(f"  {record['title']}{mark}")
            for label, value in record.get("facts", []):
                out(f"      {label}: {value}")

    def _decide(self, call: ProviderCall, options: dict[str, Any]) -> None:
        manager = get_user_model().objects.filter(username=options["username"]).first()
        if manager is None:
            raise CommandError(f"No user {options['username']!r}.")
        evidence = selectors.provider_state(call)
        self._print_provider(evidence.as_json())
        try:
            settled = services.decide(
                actor=manager,
                call_id=call.pk,
                decision=DECISIONS[options["decision"]],
                why=options["why"],
                reference=options["reference"],
                evidence=evidence.as_json(),
                evidence_fetched_at=evidence.fetched_at,
                channel=Channel.CLI,
            )
        except RuleViolation as violation:
            raise CommandError(str(violation)) from None
        settled.call.request.refresh_from_db(fields=["state"])
        self.stdout.write(
            f"Recorded: {settled.decision.get_decision_display()}. Call #{call.pk} is now "
            f"{settled.call.get_state_display().lower()}; resend #{call.request_id} is "
            f"{settled.call.request.get_state_display().lower()}."
        )
