"""Submit one resend from the command line, through the same services as the web pages."""

from __future__ import annotations

import argparse
import uuid
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from resends.accounts import default_account
from resends.inputs import TICKET_RULE, parse_int, parse_ticket
from resends.models import LineItem, Order, ProviderAccount, ReturnInventory
from resends.models.audit import Channel
from resends.roles import can_use_console
from resends.rules import RuleViolation
from resends.selectors import reference
from resends.services.requests import Submitted
from resends.services.submit import (
    submit_chargebee_resend,
    submit_junction_orders,
    submit_junction_window,
    submit_returnhelper_resend,
)


def _when(text: str) -> datetime:
    moment = parse_datetime(text)
    if moment is None or moment.tzinfo is None:
        raise CommandError(
            f"“{text}” is not a date-time with a timezone, e.g. 2026-11-01T00:00:00Z."
        )
    return moment


def _ticket(text: str) -> str:
    ticket = parse_ticket(text)
    if ticket is None:
        raise argparse.ArgumentTypeError(TICKET_RULE)
    return ticket


class Command(BaseCommand):
    help = (
        "Submit one resend to Junction, Chargebee or Return Helper, checked by the same rules as "
        "the console and recorded in the same audit. Run `submit_resend PROVIDER --help` for the "
        "options of each provider. The call itself is made by a Celery worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        common = CommandParser(add_help=False)
        common.add_argument(
            "--as",
            dest="username",
            required=True,
            help="Username of the agent or manager submitting.",
        )
        common.add_argument(
            "--note", default="", help="Why this resend is made (kept in the audit)."
        )
        common.add_argument(
            "--account", help="Provider account code (default: the provider's default account)."
        )
        common.add_argument(
            "--ticket", type=_ticket, default="", help="The helpdesk ticket, e.g. ABC-123."
        )
        common.add_argument(
            "--intent-key",
            help="A key that makes re-running this exact command safe (default: a new one each run).",
        )
        sub = parser.add_subparsers(dest="provider", required=True)
        cb = sub.add_parser(
            "chargebee", parents=[common], help="Resend a Chargebee order in full or in part."
        )
        cb.add_argument("order_id", help="The Chargebee order id, e.g. ord_ABC123.")
        cb.add_argument(
            "--line",
            action="append",
            default=[],
            metavar="LINE_ID=QTY",
            help="Resend only this line with this quantity (repeatable). Without --line: full resend, which cancels the original order.",
        )
        cb.add_argument(
            "--reason", default="", help="A configured Chargebee reason code (exact spelling)."
        )
        cb.add_argument(
            "--no-customer-email",
            dest="customer_email",
            action="store_false",
            help="Chargebee sends the customer no email about this resend.",
        )
        cb.add_argument(
            "--no-webhooks",
            dest="webhooks",
            action="store_false",
            help="Chargebee sends no webhooks about this resend.",
        )
        cb.add_argument(
            "--shipping-date",
            type=date.fromisoformat,
            help="Ship on this date (YYYY-MM-DD), not before today.",
        )
        jn = sub.add_parser("junction", parents=[common], help="Replay Junction order webhooks.")
        jn.add_argument(
            "order_ids", nargs="*", help="Junction order ids (UUIDs). Or use --start/--end."
        )
        jn.add_argument("--start", type=_when, help="Window start, ISO-8601 with timezone.")
        jn.add_argument(
            "--end", type=_when, help="Window end (default: now). Windows over 60 days are split."
        )
        rh = sub.add_parser(
            "returnhelper", parents=[common], help="Resend Return Helper inventories."
        )
        rh.add_argument(
            "inventory_ids", nargs="+", help="returnInventoryId values, all from one warehouse."
        )
        rh.add_argument("--country", required=True, help="Destination country, ISO3 (e.g. usa).")
        rh.add_argument(
            "--service-type",
            required=True,
            help="Service type code offered for that warehouse and country.",
        )
        rh.add_argument("--name", required=True, help="Recipient name.")
        rh.add_argument("--street1", required=True, help="Street, line 1.")
        rh.add_argument("--street2", default="", help="Street, line 2.")
        rh.add_argument("--city", required=True)
        rh.add_argument("--state", default="")
        rh.add_argument("--postal-code", default="")
        rh.add_argument("--phone", default="")
        rh.add_argument("--email", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None or not can_use_console(user):
            raise CommandError(f"“{opts['username']}” is not an agent or manager.")
        account = self._account(opts)
        key = opts["intent_key"] or f"cli:{uuid.uuid4()}"
        try:
            submitted = getattr(self, f"_{opts['provider']}")(user, account, key, opts)
        except RuleViolation as violation:
            raise CommandError(
                "Not submitted:\n  " + "\n  ".join(p.message for p in violation.problems)
            ) from None
        self._report(submitted)

    def _account(self, opts: dict[str, Any]) -> ProviderAccount:
        if opts["account"]:
            found = ProviderAccount.objects.filter(
                code=opts["account"], provider=opts["provider"]
            ).first()
            if found is None:
                raise CommandError(f"No {opts['provider']} account “{opts['account']}”.")
            return found
        return default_account(opts["provider"])

    def _chargebee(
        self, user: Any, account: ProviderAccount, key: str, opts: dict[str, Any]
    ) -> Submitted:
        order = Order.objects.filter(account=account, external_id=opts["order_id"]).first()
        if order is None:
            raise CommandError(
                f"Order {opts['order_id']} is not in the mirror; run sync_orders first."
            )
        lines = []
        for spec in opts["line"]:
            line_id, _, qty = spec.partition("=")
            line = LineItem.objects.filter(order=order, external_id=line_id).first()
            quantity = parse_int(qty, minimum=1)
            if line is None or quantity is None:
                raise CommandError(
                    f"“{spec}”: use LINE_ID=QTY with a line of order {order.external_id}."
                )
            lines.append((line, quantity))
        return submit_chargebee_resend(
            actor=user,
            order=order,
            lines=lines,
            reason=opts["reason"],
            note=opts["note"],
            shipping_date=opts["shipping_date"],
            intent_key=key,
            channel=Channel.CLI,
            ticket=opts["ticket"],
            customer_email=opts["customer_email"],
            webhooks=opts["webhooks"],
        )

    def _junction(
        self, user: Any, account: ProviderAccount, key: str, opts: dict[str, Any]
    ) -> Submitted:
        if opts["start"]:
            return submit_junction_window(
                actor=user,
                account=account,
                start=opts["start"],
                end=opts["end"],
                note=opts["note"],
                intent_key=key,
                channel=Channel.CLI,
                ticket=opts["ticket"],
            )
        return submit_junction_orders(
            actor=user,
            account=account,
            order_ids=opts["order_ids"],
            note=opts["note"],
            intent_key=key,
            channel=Channel.CLI,
            ticket=opts["ticket"],
        )

    def _returnhelper(
        self, user: Any, account: ProviderAccount, key: str, opts: dict[str, Any]
    ) -> Submitted:
        inventories = list(
            ReturnInventory.objects.filter(account=account, external_id__in=opts["inventory_ids"])
        )
        missing = set(opts["inventory_ids"]) - {inv.external_id for inv in inventories}
        if missing:
            raise CommandError(f"Unknown inventories: {', '.join(sorted(missing))}.")
        country = opts["country"].lower()
        shipment = {
            "shipmentServiceType": opts["service_type"],
            "shipmentCountryCode": country,
            "shipmentName": opts["name"],
            "shipmentStreet1": opts["street1"],
            "shipmentStreet2": opts["street2"],
            "shipmentCity": opts["city"],
            "shipmentState": opts["state"],
            "shipmentPostalCode": opts["postal_code"],
            "shipmentPhone": opts["phone"],
            "shipmentEmail": opts["email"],
        }
        return submit_returnhelper_resend(
            actor=user,
            inventories=inventories,
            shipment=shipment,
            countries=reference.country_codes(account),
            service_types=reference.service_codes(account, inventories[0].warehouse_id, country),
            note=opts["note"],
            intent_key=key,
            channel=Channel.CLI,
            ticket=opts["ticket"],
        )

    def _report(self, submitted: Submitted) -> None:
        request = submitted.request
        verb = "Submitted" if submitted.created else "Already submitted (not sent again)"
        self.stdout.write(
            f"{verb}: resend request #{request.pk} ({request.get_kind_display()}), state {request.state}."
        )
        for call in request.calls.all():
            self.stdout.write(
                f"  call {call.idempotency_key}: {call.get_operation_display()} [{call.state}]"
            )
        for warning in submitted.warnings:
            self.stdout.write(f"  note: {warning.message}")
