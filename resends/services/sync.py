"""Bring the order mirrors up to date from the providers' list APIs (beat, or `sync_orders`).

Incremental runs start a little before the newest change we hold (OVERLAP), because provider
clocks and our writes are not ordered; the upserts make the overlap harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max

from ..models import Order, Provider, ProviderAccount
from ..providers.chargebee.client import ChargebeeClient
from ..providers.junction.client import JunctionClient
from ..providers.registry import client_for
from .mirrors import upsert_chargebee_order, upsert_junction_order

OVERLAP = timedelta(minutes=5)
PAGE_SIZE = 100


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


def sync_account(account: ProviderAccount, *, full: bool = False) -> SyncReport:
    since = None if full else sync_since(account)
    client = client_for(account)
    if account.provider == Provider.JUNCTION:
        assert isinstance(client, JunctionClient)
        return _sync_junction(account, client, since)
    if account.provider == Provider.CHARGEBEE:
        assert isinstance(client, ChargebeeClient)
        return _sync_chargebee(account, client, since)
    return SyncReport(account.code)  # Return Helper inventories arrive by webhook


def _sync_junction(
    account: ProviderAccount, client: JunctionClient, since: datetime | None
) -> SyncReport:
    report = SyncReport(account.code)
    page = 1
    while True:
        result = client.list_orders(page=page, size=PAGE_SIZE, updated_start_date=since)
        for order in result.orders:
            report.seen += 1
            report.changed += upsert_junction_order(account, order.raw)[1]
        if len(result.orders) < PAGE_SIZE:
            return report
        page += 1


def _sync_chargebee(
    account: ProviderAccount, client: ChargebeeClient, since: datetime | None
) -> SyncReport:
    report = SyncReport(account.code)
    offset = None
    while True:
        result = client.list_orders(limit=PAGE_SIZE, offset=offset, updated_after=since)
        for order in result.orders:
            report.seen += 1
            report.changed += upsert_chargebee_order(account, order.raw)[1]
        if not result.next_offset:
            return report
        offset = result.next_offset


def sync_all(*, full: bool = False, provider: str | None = None) -> list[SyncReport]:
    accounts = ProviderAccount.objects.filter(is_active=True).exclude(
        provider=Provider.RETURNHELPER
    )
    if provider:
        accounts = accounts.filter(provider=provider)
    return [sync_account(account, full=full) for account in accounts]
