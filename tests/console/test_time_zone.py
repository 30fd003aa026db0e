"""Each staff member's time zone: set on their own page (or by a manager in the admin), made the
current zone of each of their requests, and used by the pages, the forms' times, the reports'
days and the CSV export. Storage and the providers' wire stay UTC."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from resends.checks import chargebee_today
from resends.models import BulkJob, BulkKind, ResendRequest, StaffProfile
from resends.models.audit import ResendKind
from resends.selectors.reports import resend_report
from resends.selectors.staff import time_zone_name_of
from resends.services.staff import staff_time_zone_set
from resends.services.submit import chargebee_payload

from ..engine.helpers import ledger
from ..factories import ResendRequestFactory
from .helpers import HTMX, signed_in, squash, text

pytestmark = pytest.mark.django_db

ZONE_URL = reverse("resends:time-zone")
NEW_YORK = "America/New_York"
# 2026-12-02 14:05 UTC: 09:05 in New York (EST, -05:00), 19:35 in Kolkata (IST, +05:30).
MOMENT = datetime(2026, 12, 2, 14, 5, 30, tzinfo=UTC)


def in_zone(user: User, name: str) -> User:
    staff_time_zone_set(user=user, time_zone=name)
    return user


# --- The setting and the profile ---------------------------------------------------------------
def test_without_a_profile_the_default_from_settings_applies(agent: User, settings) -> None:  # type: ignore[no-untyped-def]
    assert time_zone_name_of(agent) == "UTC"
    settings.STAFF_TIME_ZONE = "Asia/Tokyo"
    assert time_zone_name_of(agent) == "Asia/Tokyo"
    assert time_zone_name_of(in_zone(agent, NEW_YORK)) == NEW_YORK


def test_a_zone_the_machine_no_longer_knows_falls_back_to_the_default(agent: User) -> None:
    StaffProfile.objects.create(user=agent, time_zone="Mars/Olympus_Mons")  # bypasses validation
    assert time_zone_name_of(agent) == "UTC"


def test_the_page_shows_the_zone_and_saves_a_new_one(client: Client, agent: User) -> None:
    page = text(signed_in(client, agent).get(ZONE_URL))
    assert 'id="time-zone-link"' in page and "Time zone: UTC" in page
    assert '<option value="America/New_York">America/New York</option>' in page

    response = client.post(ZONE_URL, {"time_zone": NEW_YORK}, follow=True)
    assert response.status_code == 200
    assert StaffProfile.objects.get(user=agent).time_zone == NEW_YORK
    page = text(response)
    assert f"Times are now shown in {NEW_YORK}." in page
    assert f"Time zone: {NEW_YORK}" in page
    assert '<option value="America/New_York" selected>' in page
    now = squash(page)
    shown = re.search(r"it is now (\d{4}-\d\d-\d\d \d\d:\d\d) (E[SD]T) there", now)
    assert shown, now
    local = datetime.strptime(shown.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(NEW_YORK))
    assert abs(local - timezone.now()) < timedelta(minutes=2)


@pytest.mark.parametrize("value", ["Mars/Olympus_Mons", "", "utc ", "../../etc/passwd", "x" * 500])
def test_a_zone_not_in_the_list_is_a_form_error(client: Client, agent: User, value: str) -> None:
    response = signed_in(client, agent).post(ZONE_URL, {"time_zone": value})
    assert response.status_code == 400
    assert 'id="time-zone-error"' in text(response)
    assert not StaffProfile.objects.exists()


def test_the_service_refuses_a_zone_not_in_the_list(agent: User) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        staff_time_zone_set(user=agent, time_zone="Europe/Atlantis")
    assert not StaffProfile.objects.exists()


def test_anyone_outside_the_console_is_refused(client: Client, outsider: User) -> None:
    assert signed_in(client, outsider).get(ZONE_URL).status_code == 403
    assert client.post(ZONE_URL, {"time_zone": NEW_YORK}).status_code == 403
    assert not StaffProfile.objects.exists()


def test_an_invalid_startup_setting_stops_with_its_name(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import ImproperlyConfigured

    from backoffice.envconfig import env_time_zone

    monkeypatch.setenv("STAFF_TIME_ZONE", "Europe/Atlantis")
    with pytest.raises(ImproperlyConfigured, match="STAFF_TIME_ZONE"):
        env_time_zone("STAFF_TIME_ZONE", "UTC")
    monkeypatch.setenv("STAFF_TIME_ZONE", "Europe/Berlin")
    assert env_time_zone("STAFF_TIME_ZONE", "UTC") == "Europe/Berlin"


# --- The middleware ----------------------------------------------------------------------------
def test_each_request_is_in_its_users_zone_and_the_zone_is_reset_after(
    client: Client, agent: User, manager: User
) -> None:
    resend = ResendRequestFactory.create(submitted_by=agent, submitted_at=MOMENT)
    url = reverse("resends:request", args=[resend.public_id])
    page = squash(text(signed_in(client, in_zone(agent, NEW_YORK)).get(url)))
    assert "Submitted 2026-12-02 09:05:30 EST by alice" in page
    assert "UTC" not in page.replace("UTC days", "")
    assert timezone.get_current_timezone_name() == "UTC"  # nothing leaks past the request

    other = Client()
    page = squash(text(signed_in(other, in_zone(manager, "Asia/Kolkata")).get(url)))
    assert "Submitted 2026-12-02 19:35:30 IST by alice" in page


def test_the_default_zone_applies_to_someone_without_a_profile(
    client: Client, agent: User, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.STAFF_TIME_ZONE = "Asia/Tokyo"
    resend = ResendRequestFactory.create(submitted_by=agent, submitted_at=MOMENT)
    page = squash(
        text(signed_in(client, agent).get(reverse("resends:request", args=[resend.public_id])))
    )
    assert "Submitted 2026-12-02 23:05:30 JST by alice" in page


# --- Times typed in: read in the user's zone, sent in UTC ---------------------------------------
def test_a_junction_window_is_read_in_the_users_zone_and_sent_in_utc(
    client: Client, agent: User, sandbox
) -> None:  # type: ignore[no-untyped-def]
    from resends.engine.execution import process_call

    signed_in(client, in_zone(agent, NEW_YORK))
    form = text(client.get(reverse("resends:junction") + "?mode=window"))
    assert f"Start ({NEW_YORK})" in form and 'id="window-zone-help"' in form
    local_start = (timezone.now() - timedelta(days=3)).astimezone(ZoneInfo(NEW_YORK))
    local_start = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
    local_end = local_start + timedelta(days=1)
    window = {
        "mode": "window",
        "account": str(_junction_pk()),
        "start": f"{local_start:%Y-%m-%dT%H:%M}",
        "end": f"{local_end:%Y-%m-%dT%H:%M}",
        "note": "",
        "token": "8b1f0a3e-3a55-4b7e-9f59-0c7bd3a4d111",
    }
    expected_start = (
        f"{local_start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"  # 05:00Z (or 04:00Z in DST)
    )
    preview = text(
        client.post(reverse("resends:junction"), {**window, "action": "preview"}, headers=HTMX)
    )
    assert f"start_at={local_start.astimezone(UTC):%Y-%m-%dT%H:%MZ}" in preview
    assert f"{local_start:%Y-%m-%d %H:%M %Z} → {local_end:%Y-%m-%d %H:%M %Z}" in squash(preview)

    client.post(reverse("resends:junction"), {**window, "action": "submit"}, headers=HTMX)
    resend = ResendRequest.objects.get(kind=ResendKind.JUNCTION_WINDOW)
    assert resend.window_start == local_start and resend.window_start.hour in (4, 5)
    call = resend.calls.get()
    process_call(call.pk, worker="test-worker", task_id="task-1")
    [effect] = ledger(sandbox, "junction")
    assert effect["details"]["window"] == {
        "start_at": expected_start,
        "end_at": f"{local_end.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
    }
    page = squash(text(client.get(reverse("resends:request", args=[resend.public_id]))))
    assert f"Window {local_start:%Y-%m-%d %H:%M %Z} → {local_end:%Y-%m-%d %H:%M %Z}" in page


def test_a_time_past_the_end_of_utc_is_a_form_error_in_any_zone(
    client: Client, agent: User
) -> None:
    signed_in(client, in_zone(agent, NEW_YORK))
    window = {"mode": "window", "account": str(_junction_pk()), "start": "9999-12-31T23:59",
              "note": "", "token": "8b1f0a3e-3a55-4b7e-9f59-0c7bd3a4d112", "action": "preview"}  # fmt: skip
    response = client.post(reverse("resends:junction"), window, headers=HTMX)
    assert response.status_code < 500
    assert "Enter a date between" in text(response)


def test_a_time_the_clocks_skip_is_a_form_error(client: Client, agent: User) -> None:
    signed_in(client, in_zone(agent, NEW_YORK))
    window = {"mode": "window", "account": str(_junction_pk()), "start": "2026-03-08T02:30",
              "note": "", "token": "8b1f0a3e-3a55-4b7e-9f59-0c7bd3a4d113", "action": "preview"}  # fmt: skip
    response = client.post(reverse("resends:junction"), window, headers=HTMX)
    assert response.status_code == 200
    assert "couldn’t be interpreted in time zone America/New_York" in text(response)
    assert not ResendRequest.objects.exists()


def test_a_chargebee_shipping_date_is_a_utc_day_on_the_wire_whatever_the_zone(
    client: Client, agent: User, order
) -> None:  # type: ignore[no-untyped-def]
    signed_in(client, in_zone(agent, "Pacific/Kiritimati"))  # UTC+14
    page = squash(text(client.get(reverse("resends:chargebee", args=[order.pk]))))
    assert f"in UTC whatever your time zone (today there: {chargebee_today():%Y-%m-%d})" in page
    payload = chargebee_payload(order, None, "", date(2026, 12, 24))
    assert payload["shipping_date"] == int(datetime(2026, 12, 24, tzinfo=UTC).timestamp())


# --- Reports and the CSV -----------------------------------------------------------------------
def test_the_report_counts_days_in_the_readers_zone(client: Client, manager: User) -> None:
    # 03:30 UTC on 10 March is still the evening of 9 March in New York.
    late = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)
    ResendRequestFactory.create(submitted_at=late)
    ResendRequestFactory.create(submitted_at=late + timedelta(hours=2))  # 10 March everywhere

    def per_day(zone: str) -> dict[date, int]:
        report = resend_report(period=7, today=date(2026, 3, 10), zone=ZoneInfo(zone))
        return {day: total for day, _, total in report.by_outcome.rows() if total}

    assert per_day("UTC") == {date(2026, 3, 10): 2}
    assert per_day(NEW_YORK) == {date(2026, 3, 9): 1, date(2026, 3, 10): 1}
    assert per_day("Asia/Tokyo") == {date(2026, 3, 10): 2}

    page = text(signed_in(client, in_zone(manager, NEW_YORK)).get(reverse("resends:reports")))
    assert f"(days in {NEW_YORK})" in page


def test_the_csv_export_writes_times_with_the_offset_of_the_users_zone(
    client: Client, manager: User
) -> None:
    resend = ResendRequestFactory.create(submitted_at=MOMENT)
    signed_in(client, in_zone(manager, "Asia/Kolkata"))
    response = client.get(reverse("admin:resends_resendrequest_export"))
    assert isinstance(response, StreamingHttpResponse)
    # The rows are written after the view returned, by then in whatever zone the thread has.
    timezone.activate(ZoneInfo("Asia/Tokyo"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    response.close()
    assert [row["submitted_at"] for row in rows] == ["2026-12-02T19:35:30+05:30"]
    assert datetime.fromisoformat(rows[0]["submitted_at"]) == resend.submitted_at
    assert timezone.get_current_timezone_name() == "UTC"  # reset once the response is closed


# --- The admin ---------------------------------------------------------------------------------
def test_the_admin_shows_24_hour_times_with_the_zone(client: Client, manager: User) -> None:
    resend = ResendRequestFactory.create(submitted_at=MOMENT)
    signed_in(client, in_zone(manager, NEW_YORK))
    listing = squash(text(client.get(reverse("admin:resends_resendrequest_changelist"))))
    assert "2026-12-02 09:05 EST" in listing
    detail = squash(
        text(client.get(reverse("admin:resends_resendrequest_change", args=[resend.pk])))
    )
    assert "2026-12-02 09:05 EST" in detail
    assert "a.m." not in detail and "9:05" not in detail.replace("09:05", "")


def test_managers_set_an_agents_zone_in_the_admin(
    client: Client, manager: User, agent: User
) -> None:
    signed_in(client, manager)
    add = reverse("admin:resends_staffprofile_add")
    refused = client.post(add, {"user": agent.pk, "time_zone": "Europe/Atlantis"})
    assert refused.status_code == 200 and "not a time zone this site knows" in text(refused)
    assert not StaffProfile.objects.exists()
    done = client.post(add, {"user": agent.pk, "time_zone": "Europe/Berlin"})
    assert done.status_code == 302
    assert time_zone_name_of(agent) == "Europe/Berlin"
    listing = text(client.get(reverse("admin:resends_staffprofile_changelist")))
    assert "alice" in listing and "Europe/Berlin" in listing


def _junction_pk() -> int:
    from resends.accounts import default_account

    return default_account("junction").pk


def test_a_bulk_window_is_typed_stored_and_shown_in_the_managers_zone(
    client: Client, manager: User
) -> None:
    signed_in(client, in_zone(manager, "Asia/Kolkata"))
    form = text(client.get(reverse("resends:bulk-new")))
    assert "Window start (Asia/Kolkata)" in form and 'id="bulk-zone-help"' in form
    window = {
        "kind": BulkKind.JUNCTION_WINDOW,
        "start_at": "2026-01-01T05:30",  # midnight UTC
        "end_at": "2026-01-02T05:30",
    }
    preview = squash(
        text(
            client.post(reverse("resends:bulk-new"), {**window, "action": "preview"}, headers=HTMX)
        )
    )
    assert "2026-01-01 05:30 IST → 2026-01-02 05:30 IST" in preview
    client.post(reverse("resends:bulk-new"), {**window, "action": "create"})
    job = BulkJob.objects.get()
    assert job.criteria["start_at"] == "2026-01-01T00:00:00+00:00"
    page = squash(text(client.get(reverse("resends:bulk-job", args=[job.public_id]))))
    assert "start_at=2026-01-01 05:30 IST" in page


def test_provider_times_and_stored_bounds_are_shown_in_the_current_zone() -> None:
    from resends.providers.parsing import shown_time
    from resends.templatetags.console import local_time

    with timezone.override(ZoneInfo(NEW_YORK)):
        assert shown_time(MOMENT) == "2026-12-02 09:05:30 EST"
        assert shown_time(MOMENT.replace(tzinfo=None)) == "2026-12-02 09:05:30 EST"  # naive: UTC
        assert shown_time(None) == "-"
        assert local_time("2026-12-02T14:05:30+00:00") == "2026-12-02 09:05 EST"
        assert local_time("Europe/Berlin") == "Europe/Berlin" and local_time(11) == 11
    with timezone.override(ZoneInfo("Pacific/Kiritimati")):  # UTC+14: past year 9999
        assert local_time("2999-12-31T23:59:00+00:00") == "3000-01-01 13:59 +14"
        assert shown_time(datetime(9999, 12, 31, 23, 0, tzinfo=UTC)) == "9999-12-31 23:00:00 UTC"


def test_the_review_page_shows_the_providers_times_in_the_managers_zone(
    client: Client, sandbox, agent: User, manager: User
) -> None:  # type: ignore[no-untyped-def]
    from ..engine.review_helpers import chargebee_call_in_review

    call, _, _ = chargebee_call_in_review(sandbox, agent)
    signed_in(client, in_zone(manager, "Asia/Tokyo"))
    panel = squash(
        text(client.get(reverse("resends:review-provider", args=[call.pk]), headers=HTMX))
    )
    looked = re.search(r"Looked up at (\d\d:\d\d:\d\d) (\S+)\.", panel)
    assert looked and looked.group(2) == "JST", panel
    now_in_tokyo = timezone.now().astimezone(ZoneInfo("Asia/Tokyo"))
    shown = datetime.combine(
        now_in_tokyo.date(), datetime.strptime(looked.group(1), "%H:%M:%S").time()
    )
    assert abs(shown.replace(tzinfo=ZoneInfo("Asia/Tokyo")) - now_in_tokyo) < timedelta(minutes=2)
    created = re.findall(r"Created (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\S+)", panel)
    assert created and {zone for _, zone in created} == {"JST"}, panel
    assert " UTC" not in panel
