"""Bring the order mirrors up to date from the providers' order lists (beat, or `sync_orders`).

Incremental runs start a little before the newest change we hold (OVERLAP), because provider
clocks and our writes are not ordered; the upserts make the overlap harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db.models import Max

from ..models import Order, ProviderAccount
from ..providers.base import Unsupported
from ..providers.registry import adapter_for
from .mirrors import upsert_order

OVERLAP = timedelta(minutes=5)


@dataclass(frozen=True)
class SyncReport:
    """How far the sync of one account has got (after each page) or got (at the end)."""

    account: str
    seen: int = 0
    changed: int = 0
    pages: int = 0
    total: int | None = None  # orders the provider says its listing holds, when it says
    done: bool = False

    def __str__(self) -> str:
        return f"{self.account}: {self.seen} orders read, {self.changed} changed"


Progress = Callable[[SyncReport], None]


def sync_since(account: ProviderAccount) -> datetime | None:
    newest = Order.objects.filter(account=account).aggregate(m=Max("provider_updated_at"))["m"]
    return newest - OVERLAP if newest else None


def sync_account(
    account: ProviderAccount, *, full: bool = False, progress: Progress | None = None
) -> SyncReport | None:
    """None when the provider has no order list (Return Helper's items arrive by webhook).
    `progress` is told the report after every page (the command draws it; beat passes none)."""
    since = None if full else sync_since(account)
    report = SyncReport(account.code)
    try:
        for page in adapter_for(account).changed_order_pages(since):
            changed = sum(upsert_order(account, record)[1] for record in page.orders)
            report = replace(
                report,
                seen=report.seen + len(page.orders),
                changed=report.changed + changed,
                pages=report.pages + 1,
                total=page.total if page.total is not None else report.total,
            )
            if progress:
                progress(report)
    except Unsupported:
        return None
    return replace(report, done=True)


def sync_all(
    *, full: bool = False, provider: str | None = None, progress: Progress | None = None
) -> list[SyncReport]:
    accounts = ProviderAccount.objects.filter(is_active=True).order_by("provider", "code")
    if provider:
        accounts = accounts.filter(provider=provider)
    reports = (sync_account(account, full=full, progress=progress) for account in accounts)
    return [report for report in reports if report is not None]
