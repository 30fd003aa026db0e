"""What /metrics reports about resends, each read bounded by the number of keys, never by the
number of calls: the calls come from the counts the triggers keep (services/call_counts.py), bulk
jobs from their state index, the rate budget and the shared counters from Redis (or their rows).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Sum

from .. import counters
from ..engine import budget
from ..models import BulkJob, CallCount, CallCountChange, ProviderAccount


@dataclass(frozen=True)
class CallCountRow:
    provider: str
    account: str
    operation: str
    state: str
    error_class: str
    count: int


@dataclass(frozen=True)
class AccountBudget:
    provider: str
    account: str
    rate_per_second: float  # 0: unlimited
    state: budget.BudgetState | None  # None when unlimited (nothing is kept)


def call_counts() -> list[CallCountRow]:
    """Provider calls by account, operation, state and error class: the folded counts plus the
    changes appended since the last fold (two queries over a few hundred rows at most)."""
    key = ("account__provider", "account__code", "operation", "state", "error_class")
    totals: Counter[tuple[str, ...]] = Counter()
    for *labels, n in CallCount.objects.values_list(*key, "n"):
        totals[tuple(labels)] += n
    changes = CallCountChange.objects.values_list(*key).annotate(n=Sum("n")).order_by()
    for *labels, n in changes:
        totals[tuple(labels)] += n or 0
    return [
        CallCountRow(
            provider=provider or "",
            account=account or "",
            operation=operation,
            state=state,
            error_class=error_class,
            count=count,
        )
        for (provider, account, operation, state, error_class), count in sorted(totals.items())
        if count
    ]


def bulk_jobs_by_state() -> dict[str, int]:
    counted = BulkJob.objects.values_list("state").annotate(n=Count("id")).order_by()
    return {state: n for state, n in counted}


def account_budgets() -> list[AccountBudget]:
    found = []
    for account in ProviderAccount.objects.filter(is_active=True).order_by("provider", "code"):
        rate = budget.rate_per_second(account)
        state = budget.state(account) if rate > 0 else None
        found.append(AccountBudget(account.provider, account.code, rate, state))
    return found


@dataclass(frozen=True)
class BudgetCounts:
    """What every worker counted about the rate budgets, by account (and lane)."""

    waits: dict[counters.Labels, int]  # a request was told to wait for a sending slot
    wait_seconds: dict[counters.Labels, float]  # how long those waits were
    late_passes: dict[counters.Labels, int]  # a departure stamped again: the worker ran late


def budget_counts() -> BudgetCounts:
    read = counters.read_many(
        [counters.BUDGET_WAITS, counters.BUDGET_WAIT_MS, counters.GATE_LATE_PASSES]
    )
    return BudgetCounts(
        waits=read[counters.BUDGET_WAITS],
        wait_seconds={key: ms / 1000 for key, ms in read[counters.BUDGET_WAIT_MS].items()},
        late_passes=read[counters.GATE_LATE_PASSES],
    )


def webhooks_received() -> dict[counters.Labels, int]:
    return counters.read(counters.WEBHOOKS_RECEIVED)


def webhooks_rejected() -> dict[counters.Labels, int]:
    return counters.read(counters.WEBHOOKS_REJECTED)
