"""A staff member in New York sets their time zone from the header and then sees the console's
times, and the admin's, in New York time; the provider's wire and the database stay UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from resends.models import StaffProfile
from resends.models.audit import CallState, RequestState

from ..factories import ProviderCallFactory, ResendRequestFactory
from .conftest import audit, sign_in

pytestmark = pytest.mark.browser

# 14:05:30 UTC on 2 December is 09:05:30 in New York (EST, UTC-5).
SUBMITTED = datetime(2026, 12, 2, 14, 5, 30, tzinfo=UTC)


def test_a_new_york_agent_sees_new_york_times(
    live_server: Any, page: Any, agent: User, transactional_db: None
) -> None:
    resend = ResendRequestFactory.create(
        submitted_by=agent, submitted_at=SUBMITTED, state=RequestState.SUCCEEDED
    )
    ProviderCallFactory.create(
        request=resend, state=CallState.SUCCEEDED, finished_at=SUBMITTED + timedelta(seconds=2)
    )
    sign_in(page, live_server.url, agent.username)
    request_url = f"{live_server.url}/resends/{resend.public_id}/"

    page.goto(request_url)
    expect(page.locator("main")).to_contain_text("2026-12-02 14:05:30 UTC")
    audit(page)

    page.get_by_role("link", name="Time zone: UTC").click()
    page.wait_for_url("**/time-zone/")
    audit(page)
    page.get_by_label("Your time zone").select_option("America/New_York")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Times are now shown in America/New_York.")
    expect(page.locator("#current-zone")).to_have_text("America/New_York")
    page.camera("time-zone")
    assert StaffProfile.objects.get(user=agent).time_zone == "America/New_York"

    page.goto(request_url)
    main = page.locator("main")
    expect(main).to_contain_text("2026-12-02 09:05:30 EST")
    expect(main).to_contain_text("finished 09:05:32 EST")
    expect(main).not_to_contain_text("UTC")
    expect(page.get_by_role("link", name="Time zone: America/New_York")).to_be_visible()
    page.camera("request-in-new-york")


def test_a_manager_sets_an_agents_zone_in_the_admin(
    live_server: Any, page: Any, manager: User, agent: User, transactional_db: None
) -> None:
    ResendRequestFactory.create(submitted_by=agent, submitted_at=SUBMITTED)
    sign_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/admin/resends/staffprofile/add/")
    audit(page)
    page.get_by_label("User").select_option(label=agent.username)
    page.get_by_label("Time zone").select_option("Asia/Kolkata")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/resends/staffprofile/")
    expect(page.locator("#result_list")).to_contain_text("Asia/Kolkata")
    page.camera("staff-time-zones")
    assert StaffProfile.objects.get(user=agent).time_zone == "Asia/Kolkata"

    # The manager's own zone is still the default: the audit list in 24-hour UTC.
    page.goto(f"{live_server.url}/admin/resends/resendrequest/")
    expect(page.locator("#result_list")).to_contain_text("2026-12-02 14:05 UTC")
    audit(page)
