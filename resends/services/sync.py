"""Bring the order mirrors up to date from the providers' order lists (beat, or `sync_orders`).

Incremental runs start a little before the newest change we hold (OVERLAP), because provider
clocks and our writes are not ordered; the upserts make the overlap harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max

from ..models import Order, ProviderAccount
from ..providers.base import Unsupported
from ..providers.registry import adapter_for
from .mirrors import upsert_order

OVERLAP = timedelta(minutes=5)


@dataclass
class SyncReport:
    account: str
    seen: int = 0
    changed: int = 0

    def __str__(self) -> str:
        return f"{self.account}: {self.seen} orders read, {self.changed} changed"


def sync_since(account: ProviderAccount) -> datetime | None:
    newest = Order.objects.filter(account=account).aggregate(m=Max("provider_updated_at"))["m"]
    return newest - OVERLAP if newest else None


def sync_account(account: ProviderAccount, *, full: bool = False) -> SyncReport | None:
    """None when the provider has no order list (Return Helper's items arrive by webhook)."""
    since = None if full else sync_since(account)
    report = SyncReport(account.code)
    try:
        for record in adapter_for(account).changed_orders(since):
            report.seen += 1
            report.changed += upsert_order(account, record)[1]
    except Unsupported:
        return None
    return report


def sync_all(*, full: bool = False, provider: str | None = None) -> list[SyncReport]:
    accounts = ProviderAccount.objects.filter(is_active=True)
    if provider:
        accounts = accounts.filter(provider=provider)
    reports = (sync_account(account, full=full) for account in accounts)
    return [report for report in reports if report is not None]
