"""Bulk jobs: the preview's counts and skip reasons, approval, schedule slots, dry runs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from resends import rules
from resends.accounts import default_account
from resends.models import BulkJob, BulkKind, BulkState
from resends.models.audit import CallState, Channel, RequestState
from resends.rules import RuleViolation
from resends.selectors import bulk_selection
from resends.services import bulk_jobs
from tests.factories import (
    OrderFactory,
    ProviderCallFactory,
    ResendRequestFactory,
    ResendTargetFactory,
)

pytestmark = pytest.mark.django_db
SINCE = "2026-01-01T00:00:00Z"


@pytest.fixture
def chargebee():  # type: ignore[no-untyped-def]
    return default_account("chargebee")


def orders(account, count: int, **fields):  # type: ignore[no-untyped-def]
    fields.setdefault("provider_updated_at", datetime(2026, 3, 1, tzinfo=UTC))
    return [OrderFactory.create(account=account, **fields) for _ in range(count)]


def test_the_preview_counts_each_skip_reason(chargebee, agent: User) -> None:  # type: ignore[no-untyped-def]
    fine = orders(chargebee, 4)
    capped = orders(chargebee, 1, resend_count=5)
    orders(chargebee, 2, status="cancelled")
    four_used = orders(chargebee, 1, resend_count=4)  # plus one in flight makes five
    ProviderCallFactory.create(
        request__account=chargebee, subject=four_used[0].external_id, state=CallState.PENDING
    )
    recent = orders(chargebee, 1)
    ResendTargetFactory.create(
        request=ResendRequestFactory.create(account=chargebee, state=RequestState.SUCCEEDED),
        order=recent[0],
    )
    in_bulk = orders(chargebee, 1)
    ResendTargetFactory.create(
        request=ResendRequestFactory.create(
            account=chargebee, state=RequestState.RUNNING, channel=Channel.BULK
        ),
        order=in_bulk[0],
    )
    orders(chargebee, 3, provider_updated_at=datetime(2025, 6, 1, tzinfo=UTC))  # outside

    counted = bulk_selection.preview(BulkKind.CHARGEBEE_FULL, chargebee, {"updated_from": SINCE})

    assert counted.matched == len(fine) + 1 + 2 + 1 + 1 + 1
    assert counted.to_send == counted.requests == len(fine)
    assert counted.skipped == {
        rules.SKIP_CAP_USED: 2,
        rules.SKIP_NOT_RESENDABLE: 2,
        rules.SKIP_RECENT: 1,
        rules.SKIP_PENDING_ELSEWHERE: 1,
    }
    assert set(counted.samples[rules.SKIP_CAP_USED]) == {
        capped[0].external_id,
        four_used[0].external_id,
    }


def test_junction_orders_go_in_batches_and_the_eta_follows_the_budget(agent, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RATE_PER_SECOND = {**settings.RATE_PER_SECOND, "junction": 2.0}
    junction = default_account("junction")
    orders(junction, 250)
    counted = bulk_selection.preview(BulkKind.JUNCTION_ORDERS, junction, {"updated_from": SINCE})
    assert counted.to_send == 250
    assert counted.requests == 3  # 100 + 100 + 50
    assert counted.eta_seconds == pytest.approx(1.5)


def test_a_long_junction_window_is_split_into_60_day_requests(agent) -> None:  # type: ignore[no-untyped-def]
    end = timezone.now().replace(microsecond=0)
    start = end - timedelta(days=130)
    counted = bulk_selection.preview(
        BulkKind.JUNCTION_WINDOW,
        default_account("junction"),
        {"start_at": start.isoformat(), "end_at": end.isoformat()},
    )
    assert counted.requests == 3
    bounds = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in counted.windows]
    assert bounds[0][0] == start and bounds[-1][1] == end
    assert all(b - a <= timedelta(days=60) for a, b in bounds)


def test_a_bad_time_in_the_filter_is_a_clear_error(chargebee) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuleViolation, match="not a time"):
        bulk_selection.preview(BulkKind.CHARGEBEE_FULL, chargebee, {"updated_from": "last tuesday"})


def test_a_large_job_waits_for_another_manager(
    chargebee, manager, second_manager, agent, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.BULK_APPROVAL_THRESHOLD = 3
    orders(chargebee, 4)
    job, created = bulk_jobs.create_job(
        actor=manager, kind=BulkKind.CHARGEBEE_FULL, account=chargebee,
        criteria={"updated_from": SINCE}, reason_code="Damaged",
    )  # fmt: skip
    assert created and job.state == BulkState.AWAITING_APPROVAL
    assert job.preview["to_send"] == 4

    with pytest.raises(PermissionDenied):
        bulk_jobs.decide(job, manager=manager, approve=True, note="mine")  # not one's own
    with pytest.raises(PermissionDenied):
        bulk_jobs.decide(job, manager=agent, approve=True, note="")  # agents do not approve
    with pytest.raises(RuleViolation, match="why"):
        bulk_jobs.decide(job, manager=second_manager, approve=False, note=" ")
    job = bulk_jobs.decide(job, manager=second_manager, approve=True, note="Outage on the 3rd")
    assert job.state == BulkState.QUEUED
    assert (job.approved_by, job.decision_note) == (second_manager, "Outage on the 3rd")
    with pytest.raises(RuleViolation, match="queued"):
        bulk_jobs.decide(job, manager=second_manager, approve=False, note="changed my mind")


def test_a_small_job_is_queued_and_a_dry_run_never_is(chargebee, agent) -> None:  # type: ignore[no-untyped-def]
    orders(chargebee, 2)
    job, _ = bulk_jobs.create_job(
        actor=agent, kind=BulkKind.CHARGEBEE_FULL, account=chargebee,
        criteria={"updated_from": SINCE}, reason_code="Damaged",
    )  # fmt: skip
    dry, _ = bulk_jobs.create_job(
        actor=agent, kind=BulkKind.CHARGEBEE_FULL, account=chargebee,
        criteria={"updated_from": SINCE}, reason_code="Damaged", dry_run=True,
    )  # fmt: skip
    assert (job.state, dry.state) == (BulkState.QUEUED, BulkState.DRY_RUN)


def test_two_ticks_for_one_schedule_slot_make_one_job(agent) -> None:  # type: ignore[no-untyped-def]
    slot = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    window = {"start_at": "2026-11-21T02:00:00Z", "end_at": "2026-11-22T02:00:00Z"}
    made = [
        bulk_jobs.create_job(
            actor=agent,
            kind=BulkKind.JUNCTION_WINDOW,
            account=default_account("junction"),
            criteria=window,
            channel="schedule",
            schedule_name="nightly replay",
            slot=slot,
        )
        for _ in range(2)
    ]
    assert [created for _, created in made] == [True, False]
    assert made[0][0].pk == made[1][0].pk
    assert BulkJob.objects.count() == 1


def test_a_chargebee_job_needs_a_valid_reason_code(chargebee, agent) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuleViolation, match="not one of the configured"):
        bulk_jobs.create_job(
            actor=agent, kind=BulkKind.CHARGEBEE_FULL, account=chargebee,
            criteria={}, reason_code="Because",
        )  # fmt: skip


def test_the_junction_batch_size_is_configurable(agent, settings) -> None:  # type: ignore[no-untyped-def]
    settings.JUNCTION = {**settings.JUNCTION, "batch_size": 40}
    junction = default_account("junction")
    orders(junction, 250)
    counted = bulk_selection.preview(BulkKind.JUNCTION_ORDERS, junction, {"updated_from": SINCE})
    assert counted.requests == 7  # six of 40, one of 10
    # More than Junction's 100 is refused at start-up (tests/test_settings.py).


def test_the_counted_preview_agrees_with_the_rule_order_by_order(chargebee) -> None:  # type: ignore[no-untyped-def]
    """The preview counts in the database; the fan-out decides order by order with the rule.
    Over varied orders both must agree (ids, statuses, resent states, counts)."""
    varied: list[dict[str, Any]] = [
        {"external_id": "bad id!"},
        {"external_id": "x" * 41},
        {"external_id": "ord-ok_1"},
        {"status": "voided"},
        {"status": "cancelled", "resend_count": 5},
        {"resent_status": "fully_resent"},
        {"resent_status": "partially_resent", "resend_count": 4},
        {"resend_count": 5},
        {"resend_count": 7},
        {},
    ]
    made = [orders(chargebee, 1, **fields)[0] for fields in varied]
    counted = bulk_selection.preview(BulkKind.CHARGEBEE_FULL, chargebee, {"updated_from": SINCE})
    expected = Counter(rules.chargebee_bulk_skip(o, in_flight=0) for o in made)
    sendable = expected.pop("")
    assert counted.skipped == expected and counted.to_send == sendable == 3


@pytest.mark.parametrize(
    ("kind", "account", "criteria", "problem"),
    [
        (BulkKind.CHARGEBEE_FULL, "chargebee", {"updated_to": "2026-01-01T00:00:00Z"}, "Narrow the orders"),
        (BulkKind.JUNCTION_WINDOW, "junction", {"end_at": "2026-01-01T00:00:00Z"}, "needs a start"),
        (BulkKind.RETURNHELPER_INVENTORIES, "returnhelper", {"warehouse_id": "11"}, "received-from"),
    ],
)  # fmt: skip
def test_no_way_in_creates_a_job_that_sweeps_everything(
    manager, kind, account, criteria, problem
) -> None:  # type: ignore[no-untyped-def]
    """The service refuses it too, so a schedule or a script cannot get past the form's check."""
    with pytest.raises(RuleViolation, match=problem):
        bulk_jobs.create_job(
            actor=manager, kind=kind, account=default_account(account), criteria=criteria
        )
    assert not BulkJob.objects.exists()
