"""Return Helper bulk jobs against the sandbox over real HTTP: matching return items are grouped
per customer order (one address per shipment) in resends of at most the group maximum, each skip
has its reason, a redone window creates nothing twice, and a finished job's sandbox ledger holds
each item exactly once. Also the console page, the command and a schedule for the new kind."""

from __future__ import annotations

import html
from collections import Counter
from io import StringIO
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from resends import rules
from resends.accounts import default_account
from resends.models import BulkJob, BulkKind, BulkState, Order, ResendRequest, ReturnInventory
from resends.models.audit import Channel, RequestState
from resends.providers.chargebee.mirror import order_record_from_json as chargebee_order
from resends.providers.returnhelper.mirror import inventory_record_from_json as inventory
from resends.rules import RuleViolation
from resends.selectors import bulk_progress, bulk_selection
from resends.services import bulk_jobs, bulk_run
from resends.services.mirrors import upsert_inventory, upsert_order
from resends.services.schedules import run_schedule
from resends.services.submit import submit_returnhelper_resend
from tests.engine.helpers import chargebee_orders, clear_faults, faults, ledger

from .test_bulk_run import run_to_the_end, send_due_calls

pytestmark = pytest.mark.django_db
KIND = BulkKind.RETURNHELPER_INVENTORIES
SINCE = "2000-01-01T00:00:00Z"
WAREHOUSE_11 = {"warehouse_id": "11", "created_from": SINCE}


@pytest.fixture(autouse=True)
def fresh_lookups() -> None:
    """Countries and service types are cached; each test asks the sandbox anew."""
    cache.clear()


def sandbox_inventories(sandbox: Any, warehouse: int) -> list[dict[str, Any]]:
    response = requests.get(
        f"{sandbox.url}/_sandbox/inventories", params={"warehouseId": warehouse}, timeout=10
    )
    response.raise_for_status()
    return list(response.json()["inventories"])


def mirror_warehouse(sandbox: Any, warehouse: int = 11) -> list[ReturnInventory]:
    """Mirror the warehouse's return items as the sync does, each linked to the Chargebee order
    it was returned from (when the sandbox knows one)."""
    orders = {raw["id"]: raw for raw in chargebee_orders(sandbox)}
    chargebee = default_account("chargebee")
    returnhelper = default_account("returnhelper")
    mirrored = []
    for raw in sandbox_inventories(sandbox, warehouse):
        order = None
        if raw.get("orderRef") in orders:
            order, _ = upsert_order(chargebee, chargebee_order(orders[raw["orderRef"]]))
        mirrored.append(upsert_inventory(returnhelper, inventory(raw), order=order)[0])
    return mirrored


def eligible(items: list[ReturnInventory]) -> list[ReturnInventory]:
    return [i for i in items if not rules.returnhelper_bulk_skip(i)]


def country_of(order: Order) -> str:
    return rules.returnhelper_order_destination(order)["shipmentCountryCode"]


def us_orders(items: list[ReturnInventory]) -> list[Order]:
    found = {i.order for i in eligible(items) if i.order and country_of(i.order) == "usa"}
    return sorted(found, key=lambda o: o.pk)


def expected_plan(items: list[ReturnInventory]) -> tuple[Counter[str], list[list[str]]]:
    """What the job should do, worked out here from the sandbox's flags, not by the app's code:
    skip reasons per item, and the groups (per US order, at most the maximum) it sends."""
    group_max = rules.returnhelper_group_max()
    skips: Counter[str] = Counter()
    per_order: dict[int, list[str]] = {}
    for item in sorted(items, key=lambda i: i.pk):
        raw = item.raw
        if raw["handlingCode"] != "ohd":
            skips[rules.SKIP_RH_NOT_ON_HOLD] += 1
        elif not raw["inStock"]:
            skips[rules.SKIP_RH_NOT_IN_STOCK] += 1
        elif raw["pendingVas"]:
            skips[rules.SKIP_RH_PENDING_VAS] += 1
        elif item.order is None or not item.order.raw["shipping_address"].get("line1"):
            skips[rules.SKIP_RH_NO_ADDRESS] += 1
        elif item.order.raw["shipping_address"]["country"] != "US":  # usps serves usa only
            skips[rules.SKIP_RH_SERVICE_NOT_OFFERED] += 1
        else:
            per_order.setdefault(item.order.pk, []).append(item.external_id)
    groups = [
        ids[i : i + group_max]
        for _, ids in sorted(per_order.items())
        for i in range(0, len(ids), group_max)
    ]
    return skips, groups


def gather(items: list[ReturnInventory], order: Order, count: int) -> list[ReturnInventory]:
    """Link `count` more eligible, unlinked items to `order` (one customer returning many)."""
    spare = [i for i in eligible(items) if i.order is None][:count]
    assert len(spare) == count
    for item in spare:
        item.order = order
        item.save(update_fields=["order"])
    return spare


def new_job(user: User, service_type: str = "usps", **criteria: Any) -> BulkJob:
    job, created = bulk_jobs.create_job(
        actor=user, kind=KIND, account=default_account("returnhelper"),
        criteria=criteria or WAREHOUSE_11, service_type=service_type, note="bulk test",
    )  # fmt: skip
    assert created
    return job


def sent_groups(sandbox: Any) -> list[list[str]]:
    return [
        [str(i) for i in entry["target"]]
        for entry in ledger(sandbox, "returnhelper")
        if entry["operation"] == "createResend"
    ]


# --- preview ------------------------------------------------------------------------------------
def test_the_preview_groups_per_customer_and_gives_each_skip_reason(sandbox, manager) -> None:  # type: ignore[no-untyped-def]
    items = mirror_warehouse(sandbox)
    customer = us_orders(items)[0]
    gather(items, customer, 6)  # with what it had: more than 5 items, so two resends
    broken = us_orders(items)[1]
    broken.raw["shipping_address"]["line1"] = ""  # an address that cannot be shipped to
    broken.save()
    abroad = us_orders(items)[2]
    abroad.raw["shipping_address"]["country"] = "CA"  # usps does not go there
    abroad.save()
    items = list(ReturnInventory.objects.select_related("order").filter(warehouse_id="11"))
    skips, groups = expected_plan(items)
    assert any(len(g) == 5 for g in groups) and skips[rules.SKIP_RH_SERVICE_NOT_OFFERED]

    counted = bulk_selection.preview(
        KIND, default_account("returnhelper"), WAREHOUSE_11, service_type="usps"
    )

    assert counted.matched == len(items) == 102
    assert counted.skipped == skips
    assert counted.to_send == sum(len(g) for g in groups)
    assert counted.requests == len(groups)
    assert counted.unit == "items" and counted.eta_seconds is None  # tests run unlimited
    no_address = {i.external_id for i in eligible(items) if i.order in (None, broken)}
    assert set(counted.samples[rules.SKIP_RH_NO_ADDRESS]) <= no_address
    assert len(counted.samples[rules.SKIP_RH_NO_ADDRESS]) == bulk_selection.SAMPLES_PER_REASON
    assert (
        counted.samples[rules.SKIP_RH_SERVICE_NOT_OFFERED]
        == [i.external_id for i in eligible(items) if i.order == abroad][
            : bulk_selection.SAMPLES_PER_REASON
        ]
    )
    not_on_hold = {i.external_id for i in items if i.handling_code != "ohd"}
    assert set(counted.samples[rules.SKIP_RH_NOT_ON_HOLD]) <= not_on_hold


def test_items_in_progress_elsewhere_are_skipped(sandbox, manager, agent) -> None:  # type: ignore[no-untyped-def]
    items = mirror_warehouse(sandbox)
    first, second = us_orders(items)[:2]
    by_agent = [i for i in eligible(items) if i.order == first][:1]
    shipment = {**rules.returnhelper_order_destination(first), "shipmentServiceType": "usps"}
    submit_returnhelper_resend(
        actor=agent, inventories=by_agent, shipment=shipment, countries=["usa"],
        service_types=["usps"], intent_key="agent-1",
    )  # fmt: skip
    other_job = BulkJob.objects.create(  # another manager's job, running (its resend below)
        created_by=manager, account=default_account("returnhelper"), kind=KIND,
        criteria={"warehouse_id": "11", "rma": "another"}, state=BulkState.RUNNING,
    )  # fmt: skip
    in_other = [i for i in eligible(items) if i.order == second][:1]
    request = submit_returnhelper_resend(
        actor=manager, inventories=in_other, shipment=shipment, countries=["usa"],
        service_types=["usps"], intent_key="other-job", channel=Channel.BULK,
    ).request  # fmt: skip
    ResendRequest.objects.filter(pk=request.pk).update(bulk_job=other_job)

    counted = bulk_selection.preview(
        KIND, default_account("returnhelper"), WAREHOUSE_11, service_type="usps"
    )
    assert counted.skipped[rules.SKIP_RECENT] == 1
    assert counted.skipped[rules.SKIP_PENDING_ELSEWHERE] == 1
    assert counted.samples[rules.SKIP_RECENT] == [by_agent[0].external_id]

    job = run_to_the_end(new_job(manager))
    assert job.skip_counts[rules.SKIP_RECENT] == 1
    assert job.skip_counts[rules.SKIP_PENDING_ELSEWHERE] == 1
    mine = job.requests.values_list("targets__inventory__external_id", flat=True)
    assert in_other[0].external_id not in set(mine)
    assert by_agent[0].external_id not in set(mine)


def test_the_service_type_is_checked_against_the_warehouse(sandbox, manager) -> None:  # type: ignore[no-untyped-def]
    mirror_warehouse(sandbox)
    account = default_account("returnhelper")
    with pytest.raises(RuleViolation, match="not offered from warehouse 11"):
        bulk_jobs.create_job(
            actor=manager, kind=KIND, account=account, criteria=WAREHOUSE_11,
            service_type="SHIPMENT_DHL_PAKET_FRA",
        )  # fmt: skip
    with pytest.raises(RuleViolation, match="Pick a service type"):
        bulk_selection.preview(KIND, account, WAREHOUSE_11)
    with pytest.raises(RuleViolation, match="Pick the warehouse"):
        bulk_selection.preview(KIND, account, {"created_from": SINCE}, service_type="usps")
    with pytest.raises(RuleViolation, match="not a time"):
        bulk_selection.preview(KIND, account, {"warehouse_id": "11", "created_from": "soon"})
    assert not BulkJob.objects.exists()
    # DHL Express from New Jersey serves Canada, not the US: the US customers are skipped.
    usps = bulk_selection.preview(KIND, account, WAREHOUSE_11, service_type="usps")
    dhl = bulk_selection.preview(
        KIND, account, WAREHOUSE_11, service_type="SHIPMENT_DHL_EXPRESS_NJ"
    )
    assert dhl.to_send == dhl.requests == 0
    assert dhl.skipped[rules.SKIP_RH_SERVICE_NOT_OFFERED] == usps.to_send > 0


def test_the_filter_narrows_by_date_sku_and_rma(sandbox) -> None:  # type: ignore[no-untyped-def]
    items = mirror_warehouse(sandbox)
    account = default_account("returnhelper")
    newest_at = max(i.provider_created_at for i in items if i.provider_created_at)
    newest = next(i for i in items if i.provider_created_at == newest_at)
    recent = {**WAREHOUSE_11, "created_from": newest_at.isoformat()}
    assert bulk_selection.preview(KIND, account, recent, service_type="usps").matched == 1
    by_rma = {**WAREHOUSE_11, "rma": newest.rma}
    assert bulk_selection.preview(KIND, account, by_rma, service_type="usps").matched == 1
    by_sku = {**WAREHOUSE_11, "sku": newest.sku}
    expected = sum(1 for i in items if i.sku == newest.sku)
    assert bulk_selection.preview(KIND, account, by_sku, service_type="usps").matched == expected
    other = {**WAREHOUSE_11, "warehouse_id": "22"}
    assert bulk_selection.preview(KIND, account, other, service_type="others").matched == 0


def test_the_preview_is_counted_in_a_few_queries(sandbox, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    mirror_warehouse(sandbox)
    account = default_account("returnhelper")
    bulk_selection.preview(KIND, account, WAREHOUSE_11, service_type="usps")  # loads the lookups
    with django_assert_max_num_queries(15):
        counted = bulk_selection.preview(KIND, account, WAREHOUSE_11, service_type="usps")
    assert counted.matched == 102


# --- running ------------------------------------------------------------------------------------
def test_a_finished_job_sends_each_item_exactly_once_in_groups(sandbox, manager, settings) -> None:  # type: ignore[no-untyped-def]
    settings.BULK_WINDOW = 3
    items = mirror_warehouse(sandbox)
    gather(items, us_orders(items)[0], 6)
    items = list(ReturnInventory.objects.select_related("order").filter(warehouse_id="11"))
    skips, groups = expected_plan(items)
    job = new_job(manager)
    assert job.state == BulkState.QUEUED and job.service_type == "usps"

    bulk_run.advance(job.pk)
    assert job.requests.count() == 3  # one window of resends, not everything at once
    job = run_to_the_end(job)

    assert job.state == BulkState.FINISHED
    sent = sent_groups(sandbox)
    assert sorted(map(sorted, sent)) == sorted(map(sorted, groups))
    assert Counter(i for g in sent for i in g) == Counter(i for g in groups for i in g)
    assert max(len(g) for g in sent) == rules.returnhelper_group_max()
    owners = {i.external_id: i.order_id for i in items}
    assert all(len({owners[i] for i in group}) == 1 for group in sent)  # one address each
    assert job.skip_counts == dict(skips) and job.preview["skipped"] == dict(skips)
    progress = bulk_progress.progress(job)
    assert (progress.done, progress.failed, progress.remaining) == (sum(map(len, groups)), 0, 0)
    assert progress.skipped == sum(skips.values()) and progress.total == len(items)
    assert set(ReturnInventory.objects.filter(
        external_id__in=[i for g in groups for i in g]
    ).values_list("handling_code", flat=True)) == {"rsd"}  # fmt: skip
    again = bulk_selection.preview(
        KIND, default_account("returnhelper"), WAREHOUSE_11, service_type="usps"
    )
    assert again.to_send == 0  # a second job would find nothing left to send


def test_a_smaller_group_maximum_splits_a_customer_into_more_resends(
    sandbox, manager, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.RETURNHELPER = {**settings.RETURNHELPER, "group_max": 2}
    items = mirror_warehouse(sandbox)
    customer = us_orders(items)[0]
    mine = {i.external_id for i in eligible(items) if i.order == customer}
    mine |= {i.external_id for i in gather(items, customer, 5 - len(mine))}
    job = run_to_the_end(new_job(manager))
    assert job.state == BulkState.FINISHED
    theirs = sorted(len(g) for g in sent_groups(sandbox) if set(g) & mine)
    assert theirs == [1, 2, 2]
    assert all(len(g) <= 2 for g in sent_groups(sandbox))


def test_a_redone_window_creates_nothing_twice(sandbox, manager, settings) -> None:  # type: ignore[no-untyped-def]
    """The fan-out writes a window's resends and its cursor in one transaction; were a window
    done again from an older cursor, the intent keys would find the resends already made."""
    settings.BULK_WINDOW = 2
    mirror_warehouse(sandbox)
    job = new_job(manager)
    before = BulkJob.objects.filter(pk=job.pk).values(
        "cursor", "considered", "skipped", "skip_counts", "fanout_done"
    )[0]
    bulk_run.advance(job.pk)
    first = set(job.requests.values_list("pk", flat=True))
    assert len(first) == 2

    settings.BULK_WINDOW = 4  # room for two more: the redone window must not take it twice
    BulkJob.objects.filter(pk=job.pk).update(**before)
    bulk_run.advance(job.pk)
    assert set(job.requests.values_list("pk", flat=True)) == first
    assert ResendRequest.objects.count() == 2

    job = run_to_the_end(job)
    sent = Counter(i for g in sent_groups(sandbox) for i in g)
    assert sent and set(sent.values()) == {1}
    assert job.requests.count() == len(sent_groups(sandbox)) == job.preview["requests"]


def test_pause_cancel_and_retry_failed_items(sandbox, manager, settings) -> None:  # type: ignore[no-untyped-def]
    settings.BULK_WINDOW = 2
    mirror_warehouse(sandbox)
    faults(sandbox, provider="returnhelper", error_rate=1.0, error_status=400, error_count=2,
           methods=["POST"])  # fmt: skip
    job = new_job(manager)
    bulk_run.advance(job.pk)
    send_due_calls()  # the first two are refused by Return Helper
    clear_faults(sandbox)
    bulk_run.pause(job)
    assert not bulk_run.advance(job.pk)
    bulk_run.resume(job)
    job = run_to_the_end(job)
    progress = bulk_progress.progress(job)
    assert job.state == BulkState.FINISHED and progress.failed >= 2

    retry = run_to_the_end(bulk_jobs.create_retry_job(job, actor=manager))
    assert (
        retry.state == BulkState.FINISHED and bulk_progress.progress(retry).done == progress.failed
    )
    sent = Counter(i for g in sent_groups(sandbox) for i in g)
    assert set(sent.values()) == {1} and sum(sent.values()) == job.preview["to_send"]


def test_cancel_keeps_what_was_sent(sandbox, manager, settings) -> None:  # type: ignore[no-untyped-def]
    settings.BULK_WINDOW = 2
    mirror_warehouse(sandbox)
    job = new_job(manager)
    bulk_run.advance(job.pk)
    send_due_calls()
    bulk_run.advance(job.pk)  # two more queued, not sent
    bulk_run.cancel(job)
    assert send_due_calls() == 0
    job.refresh_from_db()
    assert job.state == BulkState.CANCELLED and len(sent_groups(sandbox)) == 2
    assert set(job.requests.values_list("state", flat=True)) == {
        RequestState.SUCCEEDED,
        RequestState.CANCELLED,
    }


# --- the console page, the command and a schedule ----------------------------------------------------
def test_the_console_previews_and_creates_a_return_helper_job(sandbox, manager) -> None:  # type: ignore[no-untyped-def]
    items = mirror_warehouse(sandbox)
    _, groups = expected_plan(items)
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("resends:bulk-new")).content.decode()
    assert 'value="returnhelper_inventories"' in page and 'value="11"' in page
    assert 'value="usps"' in page and 'value="junction_orders"' in page
    form = {
        "kind": KIND,
        "warehouse_id": "11",
        "created_from": "2000-01-01T00:00",
        "service_type": "usps",
        "note": "from the page",
    }
    fragment = client.post(
        reverse("resends:bulk-new"), {**form, "action": "preview"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert f'<dd id="matched">{len(items)}</dd>' in fragment and "Items matched" in fragment
    assert f'<dd id="to-send">{sum(len(g) for g in groups)}</dd>' in fragment
    assert rules.SKIP_RH_NOT_ON_HOLD in html.unescape(fragment)

    missing = client.post(
        reverse("resends:bulk-new"), {"kind": KIND, "action": "preview"}
    ).content.decode()
    assert "Pick the warehouse" in missing and "received-from" in missing

    created = client.post(reverse("resends:bulk-new"), {**form, "action": "create"})
    job = BulkJob.objects.get()
    assert created.status_code == 302
    assert (job.kind, job.service_type, job.account.code) == (KIND, "usps", "returnhelper")
    assert job.criteria == {"warehouse_id": "11", "created_from": "2000-01-01T00:00:00+00:00"}
    shown = client.get(created["Location"]).content.decode()
    assert "Return Helper: resend matching return inventories" in shown and "usps" in shown


def test_the_command_previews_and_creates_a_return_helper_job(sandbox, manager) -> None:  # type: ignore[no-untyped-def]
    items = mirror_warehouse(sandbox)
    skips, groups = expected_plan(items)
    args = ["--kind", KIND, "--warehouse", "11", "--created-from", SINCE, "--service-type", "usps"]
    out = StringIO()
    call_command("bulk_job", "preview", *args, stdout=out)
    assert f"Matched: {len(items)}  to send: {sum(len(g) for g in groups)}" in out.getvalue()
    assert f"Provider requests: {len(groups)}" in out.getvalue()
    assert f"skipped {skips[rules.SKIP_RH_NOT_ON_HOLD]}: {rules.SKIP_RH_NOT_ON_HOLD}" in (
        out.getvalue()
    )

    call_command("bulk_job", "create", *args, "--as", "mona", stdout=StringIO())
    job = BulkJob.objects.get()
    assert (job.channel, job.kind, job.service_type) == ("cli", KIND, "usps")
    job = run_to_the_end(job)
    status = StringIO()
    call_command("bulk_job", "status", str(job.pk), stdout=status)
    assert "Finished, 100%" in status.getvalue()

    with pytest.raises(CommandError, match=r"Pick the warehouse.*--warehouse"):
        call_command("bulk_job", "preview", "--kind", KIND, "--created-from", SINCE)
    with pytest.raises(CommandError, match="not offered from warehouse 11"):
        call_command("bulk_job", "preview", *args[:-1], "SHIPMENT_DHL_PAKET_FRA")
    with pytest.raises(CommandError, match="No active returnhelper account"):
        call_command("bulk_job", "preview", *args, "--account", "chargebee")


def test_a_schedule_resends_the_items_received_in_its_lookback(sandbox, manager) -> None:  # type: ignore[no-untyped-def]
    mirror_warehouse(sandbox)
    job, made = run_schedule(
        "daily returns", kind=KIND, account="returnhelper", warehouse="11",
        service_type="usps", lookback_hours=24 * 365, owner="mona",
    )  # fmt: skip
    assert made and job.state == BulkState.QUEUED and job.service_type == "usps"
    assert set(job.criteria) == {"warehouse_id", "created_from", "created_to"}
    assert job.preview["to_send"] > 0
