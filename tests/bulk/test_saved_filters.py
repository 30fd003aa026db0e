"""Named saved filters: saved from the new-bulk-job page by managers, picked there to start a job,
run by name from the command line and from a schedule; a job keeps its own copy of the criteria
and which saved filter it came from; the admin shows them read-only, to managers only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from resends.accounts import default_account
from resends.models import BulkJob, BulkKind, SavedFilter
from resends.rules import RuleViolation
from resends.selectors import bulk_selection
from resends.services import saved_filters
from resends.services.schedules import run_schedule
from resends.tasks import run_scheduled_replay
from tests.console.helpers import HTMX, signed_in
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
CRITERIA = {"status": "shipped", "updated_from": "2026-01-01T00:00:00+00:00"}
FORM = {
    "kind": BulkKind.CHARGEBEE_FULL,
    "status": "shipped",
    "updated_from": "2026-01-01T00:00",
    "reason_code": "Damaged",
}
TICK = datetime(2026, 11, 10, 2, 0, 3, tzinfo=UTC)


@pytest.fixture
def orders() -> None:
    account = default_account("chargebee")
    for count in (0, 0, 0, 5):
        OrderFactory.create(account=account, resend_count=count, provider_updated_at=MARCH)


@pytest.fixture
def weekly(manager: User) -> SavedFilter:
    saved, created = saved_filters.save_filter(
        actor=manager, name="Shipped since January", kind=BulkKind.CHARGEBEE_FULL,
        account=default_account("chargebee"), criteria=CRITERIA,
    )  # fmt: skip
    assert created
    return saved


def run(*args: str) -> str:
    out = StringIO()
    call_command("bulk_job", *args, stdout=out)
    return out.getvalue()


# --- saving ---------------------------------------------------------------------------------------
def test_a_saved_filter_keeps_only_what_its_kind_reads(manager: User) -> None:
    saved, _ = saved_filters.save_filter(
        actor=manager, name="  Returns   at NJ ", kind=BulkKind.RETURNHELPER_INVENTORIES,
        account=default_account("returnhelper"),
        criteria={"warehouse_id": "11", "created_from": "2026-01-01T00:00:00+00:00",
                  "status": "shipped", "sku": ""},
    )  # fmt: skip
    assert saved.name == "Returns at NJ" and saved.created_by == manager
    assert saved.criteria == {"warehouse_id": "11", "created_from": "2026-01-01T00:00:00+00:00"}


def test_saving_under_the_same_name_updates_the_filter(manager: User, second_manager: User, weekly: SavedFilter) -> None:  # fmt: skip
    first_update = weekly.updated_at
    again, created = saved_filters.save_filter(
        actor=second_manager, name="Shipped since January", kind=BulkKind.CHARGEBEE_FULL,
        account=default_account("chargebee"), criteria={"status": "delivered"},
    )  # fmt: skip
    assert not created and again.pk == weekly.pk and SavedFilter.objects.count() == 1
    again.refresh_from_db()
    assert again.criteria == {"status": "delivered"} and again.created_by == manager
    assert again.updated_by == second_manager and again.updated_at > first_update
    with pytest.raises(RuleViolation, match="another kind of job"):
        saved_filters.save_filter(
            actor=manager, name="Shipped since January", kind=BulkKind.JUNCTION_ORDERS,
            account=default_account("junction"), criteria={"status": "shipped"},
        )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kind", "criteria", "message"),
    [
        ("", BulkKind.CHARGEBEE_FULL, CRITERIA, "Name the filter"),
        ("x" * 101, BulkKind.CHARGEBEE_FULL, CRITERIA, "at most 100 characters"),
        ("empty", BulkKind.CHARGEBEE_FULL, {"sku": "ignored"}, "The filter is empty"),
        ("bad time", BulkKind.CHARGEBEE_FULL, {"updated_from": "last week"}, "not a time"),
        ("no warehouse", BulkKind.RETURNHELPER_INVENTORIES, {"sku": "A"}, "Pick the warehouse"),
        ("no start", BulkKind.JUNCTION_WINDOW, {"end_at": "2026-01-01T00:00:00Z"}, "needs a start"),
    ],
)
def test_a_filter_that_a_job_could_not_run_is_not_saved(
    manager: User, name: str, kind: str, criteria: dict[str, Any], message: str
) -> None:
    account = default_account(bulk_selection.provider_of(kind))
    with pytest.raises(RuleViolation, match=message):
        saved_filters.save_filter(
            actor=manager, name=name, kind=kind, account=account, criteria=criteria
        )
    assert not SavedFilter.objects.exists()


def test_only_managers_save_filters(agent: User) -> None:
    with pytest.raises(PermissionDenied):
        saved_filters.save_filter(
            actor=agent, name="mine", kind=BulkKind.CHARGEBEE_FULL,
            account=default_account("chargebee"), criteria=CRITERIA,
        )  # fmt: skip
    with pytest.raises(RuleViolation, match="needs a junction account"):
        saved_filters.clean_criteria(
            BulkKind.JUNCTION_ORDERS, default_account("chargebee"), CRITERIA
        )


# --- the console page -----------------------------------------------------------------------------
def test_save_the_filter_from_the_page_then_start_a_job_from_it(manager: User, orders: None) -> None:  # fmt: skip
    client = signed_in(Client(), manager)
    saved_page = client.post(
        reverse("resends:bulk-new"),
        {**FORM, "filter_name": "Shipped since January", "action": "save_filter"},
        headers=HTMX,
    ).content.decode()
    saved = SavedFilter.objects.get()
    assert "Saved this filter as “Shipped since January”" in saved_page
    assert (saved.kind, saved.criteria, saved.created_by) == (
        BulkKind.CHARGEBEE_FULL, CRITERIA, manager,
    )  # fmt: skip
    assert f'name="saved_filter" value="{saved.pk}"' in saved_page
    assert '<dd id="matched">4</dd>' in saved_page  # the preview is shown as well

    page = client.get(reverse("resends:bulk-new")).content.decode()
    assert 'id="saved-filters"' in page and "Shipped since January" in page
    loaded = client.get(reverse("resends:bulk-new"), {"filter": "Shipped since January"})
    body = loaded.content.decode()
    assert 'id="loaded-filter"' in body
    assert 'value="2026-01-01T00:00"' in body and 'value="shipped"' in body
    assert '<option value="chargebee_full" selected>' in body
    assert f'name="saved_filter" value="{saved.pk}"' in body

    created = client.post(
        reverse("resends:bulk-new"), {**FORM, "saved_filter": saved.pk, "action": "create"}
    )
    job = BulkJob.objects.get()
    assert (job.saved_filter, job.saved_filter_name, job.criteria) == (saved, saved.name, CRITERIA)
    job_page = client.get(created["Location"]).content.decode()
    assert 'id="saved-filter"' in job_page and "Shipped since January" in job_page

    saved.delete()  # the job keeps its criteria and the name it came from
    job.refresh_from_db()
    assert job.saved_filter is None and job.criteria == CRITERIA
    assert (
        "Shipped since January (since deleted)" in client.get(created["Location"]).content.decode()
    )


def test_a_job_from_an_edited_filter_does_not_claim_it(manager: User, orders: None, weekly: SavedFilter) -> None:  # fmt: skip
    OrderFactory.create(
        account=default_account("chargebee"), status="delivered", provider_updated_at=MARCH
    )
    client = signed_in(Client(), manager)
    edited = {**FORM, "status": "delivered", "saved_filter": weekly.pk, "action": "create"}
    client.post(reverse("resends:bulk-new"), edited)
    job = BulkJob.objects.get()
    assert job.saved_filter is None and job.saved_filter_name == ""
    assert job.criteria == {**CRITERIA, "status": "delivered"}


def test_unknown_and_clashing_names_are_explained(manager: User, weekly: SavedFilter) -> None:
    client = signed_in(Client(), manager)
    missing = client.get(reverse("resends:bulk-new"), {"filter": "nope"}).content.decode()
    assert "No saved filter “nope”" in missing
    clash = client.post(
        reverse("resends:bulk-new"),
        {"kind": BulkKind.JUNCTION_ORDERS, "status": "x", "filter_name": weekly.name,
         "action": "save_filter"},
        headers=HTMX,
    ).content.decode()  # fmt: skip
    assert "already names a filter for another kind of job" in clash
    assert SavedFilter.objects.get().kind == BulkKind.CHARGEBEE_FULL


def test_the_junction_kind_still_works_alongside_saved_filters(manager: User) -> None:
    """The browser test picks the Junction kind by its value: it stays the default."""
    body = signed_in(Client(), manager).get(reverse("resends:bulk-new")).content.decode()
    assert '<option value="junction_orders" selected>' in body
    assert 'id="saved-filters"' not in body  # nothing saved yet, no picker


# --- the command and schedules ------------------------------------------------------------------
def test_the_command_runs_a_saved_filter_by_name(manager: User, orders: None, weekly: SavedFilter) -> None:  # fmt: skip
    preview = run("preview", "--filter", "Shipped since January")
    assert "Matched: 4  to send: 3" in preview
    run("create", "--filter", "Shipped since January", "--as", "mona", "--reason", "Damaged")
    job = BulkJob.objects.get()
    assert (job.kind, job.channel, job.saved_filter, job.criteria) == (
        BulkKind.CHARGEBEE_FULL, "cli", weekly, CRITERIA,
    )  # fmt: skip
    with pytest.raises(CommandError, match="drop --status"):
        run("preview", "--filter", "Shipped since January", "--status", "delivered")
    with pytest.raises(CommandError, match="is for chargebee_full jobs"):
        run("preview", "--filter", "Shipped since January", "--kind", "junction_orders")
    with pytest.raises(CommandError, match="No saved filter “other”"):
        run("preview", "--filter", "other")
    with pytest.raises(CommandError, match="Give --kind"):
        run("preview")


def test_a_schedule_runs_a_saved_filter_over_its_lookback_window(manager: User, weekly: SavedFilter) -> None:  # fmt: skip
    job, made = run_schedule(
        "nightly from filter", saved_filter="Shipped since January", owner="mona",
        reason_code="Damaged", now=TICK,
    )  # fmt: skip
    assert made and (job.kind, job.account.code, job.saved_filter) == (
        BulkKind.CHARGEBEE_FULL, "chargebee", weekly,
    )  # fmt: skip
    assert job.criteria == {
        "status": "shipped",
        "updated_from": "2026-11-09T02:00:00+00:00",
        "updated_to": "2026-11-10T02:00:00+00:00",
    }
    with pytest.raises(RuleViolation, match="is for another job"):
        run_schedule("wrong kind", saved_filter=weekly.name, kind=BulkKind.JUNCTION_ORDERS,
                     owner="mona", now=TICK)  # fmt: skip
    with pytest.raises(RuleViolation, match="No saved filter"):
        run_schedule("gone", saved_filter="gone", owner="mona", now=TICK)


def test_beat_passes_the_saved_filter_name(manager: User, weekly: SavedFilter) -> None:
    crontab = CrontabSchedule.objects.create(minute="0", hour="2", timezone="UTC")
    task = PeriodicTask.objects.create(
        name="Nightly saved filter", task="resends.tasks.run_scheduled_replay", crontab=crontab,
        kwargs=json.dumps({"saved_filter": weekly.name, "owner": "mona", "reason_code": "Damaged"}),
    )  # fmt: skip
    run_scheduled_replay.apply(kwargs={"schedule": task.name, **json.loads(task.kwargs)})
    job = BulkJob.objects.get()
    assert (job.schedule_name, job.saved_filter_name) == (task.name, weekly.name)


# --- the admin ------------------------------------------------------------------------------------
def test_the_admin_shows_saved_filters_to_managers_who_may_only_delete_them(
    manager: User, agent: User, outsider: User, weekly: SavedFilter
) -> None:
    changelist = reverse("admin:resends_savedfilter_changelist")
    change = reverse("admin:resends_savedfilter_change", args=[weekly.pk])
    client = signed_in(Client(), manager)
    listing = client.get(changelist)
    assert listing.status_code == 200 and "Shipped since January" in listing.content.decode()
    page = client.get(change).content.decode()
    assert "Start a bulk job from it" in page and 'name="_save"' not in page
    assert client.get(reverse("admin:resends_savedfilter_add")).status_code == 403
    assert client.post(change, {"name": "renamed"}).status_code == 403
    for someone in (agent, outsider):
        response = signed_in(Client(), someone).get(changelist)
        assert response.status_code in (302, 403), someone  # agents have no admin access at all
    assert SavedFilter.objects.get().name == "Shipped since January"

    job = BulkJob.objects.create(
        created_by=manager, account=weekly.account, kind=weekly.kind, criteria=weekly.criteria,
        state=BulkJob.State.FINISHED, saved_filter=weekly, saved_filter_name=weekly.name,
    )  # fmt: skip
    delete = reverse("admin:resends_savedfilter_delete", args=[weekly.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not SavedFilter.objects.exists()
    job.refresh_from_db()  # the job keeps the name and its own copy of the criteria
    assert (job.saved_filter, job.saved_filter_name, job.criteria) == (
        None,
        weekly.name,
        weekly.criteria,
    )
    from django.contrib.admin.models import DELETION, LogEntry

    assert LogEntry.objects.get(action_flag=DELETION).user == manager  # who deleted it
