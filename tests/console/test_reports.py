"""The outcome report: managers only; its numbers (service, page, charts and tables) match the
resends made here; labels are escaped; the period and provider filters narrow it; and the
counting is done by a fixed number of queries, however many resends there are."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from resends.models import ResendRequest
from resends.models.audit import RequestState
from resends.selectors.reports import OUTCOMES, TOP_AGENTS, TOP_REASONS, resend_report
from resends.views.charts import (
    NONE_COLOUR,
    OTHER_COLOUR,
    PALETTE,
    Band,
    Bar,
    horizontal_bar_chart,
    stacked_bar_chart,
)
from resends.views.reports import OUTCOME_COLOURS, PROVIDER_COLOURS

from ..factories import AccountFactory, ResendRequestFactory, UserFactory
from .helpers import signed_in, squash, text

pytestmark = pytest.mark.django_db

URL = reverse("resends:reports")
S = RequestState


def days_ago(n: int) -> datetime:
    """Noon, n days before today (the report counts whole days)."""
    return timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=n), time(12)))


def resend(n_days_ago: int, state: str = S.SUCCEEDED, **fields: Any) -> ResendRequest:
    return ResendRequestFactory.create(submitted_at=days_ago(n_days_ago), state=state, **fields)


def chart(page: str, chart_id: str) -> str:
    match = re.search(rf'<svg class="chart" id="{chart_id}".*?</svg>', page, re.S)
    assert match, f"no chart {chart_id}"
    return match.group(0)


def kpi(page: str, name: str) -> str:
    match = re.search(rf"<dt>{name}</dt><dd[^>]*>([^<]*)</dd>", page)
    assert match, f"no figure {name}"
    return match.group(1)


@pytest.fixture
def week(agent: User) -> list[ResendRequest]:
    """Seven resends over three days by alice and bob: 3 succeeded, 2 failed (one partly), one
    needing review, one still queued; two through Junction, one without a reason code."""
    bob = UserFactory.create(username="bob")
    junction = AccountFactory.create(code="junction")
    return [
        resend(0, S.SUCCEEDED, submitted_by=agent),
        resend(0, S.FAILED, submitted_by=agent, account=junction, reason_code=""),
        resend(2, S.SUCCEEDED, submitted_by=bob),
        resend(2, S.PARTLY_FAILED, submitted_by=bob, reason_code="Damaged in transit"),
        resend(2, S.QUEUED, submitted_by=agent, account=junction),
        resend(5, S.SUCCEEDED, submitted_by=agent),
        resend(5, S.NEEDS_REVIEW, submitted_by=bob),
    ]


# --- Who may see it (sign-in and refusals: the permission matrix in test_permissions.py) --------
def test_managers_get_the_page_and_a_link_to_it(client: Client, manager: User) -> None:
    response = signed_in(client, manager).get(URL)
    assert response.status_code == 200
    assert f'<a href="{URL}" aria-current="page">Reports</a>' in text(response)


def test_agents_have_no_link_to_it(client: Client, agent: User) -> None:
    assert f'href="{URL}"' not in text(signed_in(client, agent).get(reverse("resends:find")))


def test_it_is_read_only(client: Client, manager: User) -> None:
    assert signed_in(client, manager).post(URL).status_code == 405


# --- The numbers ----------------------------------------------------------------------------
def test_every_state_counts_under_exactly_one_outcome() -> None:
    grouped = [state for outcome in OUTCOMES for state in outcome.states]
    assert sorted(grouped) == sorted(S.values)


def test_the_service_counts_each_day_by_outcome_provider_reason_and_agent(
    week: list[ResendRequest],
) -> None:
    report = resend_report(period=7)
    today = timezone.localdate()
    assert report.days == tuple(today - timedelta(days=n) for n in range(6, -1, -1))

    def per_day(breakdown: Any) -> dict[str, dict[int, int]]:
        return {s.label: {6 - i: n for i, n in enumerate(s.counts) if n} for s in breakdown.series}

    assert per_day(report.by_outcome) == {
        "Succeeded": {0: 1, 2: 1, 5: 1},
        "Failed or partly failed": {0: 1, 2: 1},
        "Needs review": {5: 1},
        "In progress": {2: 1},
    }
    assert per_day(report.by_provider) == {
        "Junction": {0: 1, 2: 1},
        "Chargebee": {0: 1, 2: 2, 5: 2},
    }
    assert per_day(report.by_reason) == {
        "Lost in transit": {0: 1, 2: 2, 5: 2},
        "Damaged in transit": {2: 1},
        "No reason given": {0: 1},
    }
    assert per_day(report.by_agent) == {"alice": {0: 2, 2: 1, 5: 1}, "bob": {2: 2, 5: 1}}
    assert report.total == 7
    assert report.decided == 6  # the queued one is not decided yet
    assert report.success_rate == pytest.approx(3 / 6)


def test_the_page_shows_the_same_numbers(
    client: Client, manager: User, week: list[ResendRequest]
) -> None:
    page = text(signed_in(client, manager).get(URL, {"period": "7"}))
    assert kpi(page, "Resends") == "7"
    assert kpi(page, "Succeeded") == "3"
    assert kpi(page, "Failed or partly failed") == "2"
    assert kpi(page, "Needs review") == "1"
    assert kpi(page, "In progress") == "1"
    assert kpi(page, "Success rate") == "50%"

    totals = chart(page, "chart-agent-totals")
    assert "alice: 4 (57%); bob: 3 (43%)." in totals  # its description, for screen readers

    # The hidden table under the outcome charts: a row per day, a total per outcome.
    section = page.split('<section class="report-section" id="outcome"', 1)[1]
    table = section.split('<div class="sr-only"><table>', 1)[1].split("</table>", 1)[0]
    today = timezone.localdate()
    row = squash(table.split(f"{today - timedelta(days=2):%Y-%m-%d}", 1)[1].split("</tr>", 1)[0])
    assert row == "1 1 0 1 3"  # succeeded, failed, needs review, in progress, all
    assert squash(table.split("<tfoot>", 1)[1]) == "Total 3 2 1 1 7"


def test_the_chart_has_one_bar_group_per_day_with_resends(
    client: Client, manager: User, week: list[ResendRequest]
) -> None:
    page = text(signed_in(client, manager).get(URL, {"period": "7"}))
    svg = chart(page, "chart-outcome-daily")
    today = timezone.localdate()
    assert re.findall(r'<g class="bar" data-day="([\d-]+)"', svg) == [
        f"{today - timedelta(days=n):%Y-%m-%d}" for n in (5, 2, 0)
    ]
    day_two = svg.split(f'data-day="{today - timedelta(days=2):%Y-%m-%d}"', 1)[1].split("</g>")[0]
    assert day_two.count("<rect") == 3  # succeeded, failed, in progress
    assert 'role="img" aria-labelledby="chart-outcome-daily-title chart-outcome-daily-desc"' in svg
    assert '<title id="chart-outcome-daily-title">Resends per day by outcome</title>' in svg


def test_labels_are_escaped(client: Client, manager: User) -> None:
    evil = UserFactory.create(username="<b>eve</b>")
    resend(1, reason_code="<script>alert(1)</script>", submitted_by=evil)
    page = text(signed_in(client, manager).get(URL))
    assert "<script>alert(1)" not in page
    assert "<b>eve" not in page
    reasons = chart(page, "chart-reason-daily")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reasons
    assert "&lt;b&gt;eve&lt;/b&gt;" in chart(page, "chart-agent-totals")


def test_the_period_leaves_out_older_resends(client: Client, manager: User) -> None:
    resend(1)
    resend(20)
    resend(95)
    assert resend_report(period=7).total == 1
    assert resend_report(period=30).total == 2
    assert resend_report(period=90).total == 2

    signed_in(client, manager)
    assert kpi(text(client.get(URL, {"period": "7"})), "Resends") == "1"
    assert kpi(text(client.get(URL)), "Resends") == "2"  # 30 days unless told
    week_page = text(client.get(URL, {"period": "7"}))
    assert '<a href="?period=7" aria-current="page">Last 7 days</a>' in week_page


def test_an_unknown_period_or_provider_falls_back_to_the_defaults(
    client: Client, manager: User
) -> None:
    response = signed_in(client, manager).get(URL, {"period": "5", "provider": "dhl"})
    assert response.status_code == 200
    assert response.context["report"].period == 30
    assert response.context["report"].provider == ""


def test_the_provider_filter_counts_one_provider(
    client: Client, manager: User, week: list[ResendRequest]
) -> None:
    report = resend_report(period=7, provider="junction")
    assert report.total == 2
    assert [s.label for s in report.by_provider.series] == ["Junction"]

    page = text(signed_in(client, manager).get(URL, {"period": "7", "provider": "junction"}))
    assert kpi(page, "Resends") == "2"
    assert "Junction only" in page
    assert '<a href="?period=7&amp;provider=junction" aria-current="page">Junction</a>' in page


def test_a_period_without_resends_says_so(client: Client, manager: User) -> None:
    page = text(signed_in(client, manager).get(URL))
    assert kpi(page, "Success rate") == "–"
    assert "No resends were submitted in this period" in page
    assert "<svg" not in page


def test_the_rarest_reasons_and_agents_are_gathered(agent: User) -> None:
    for i in range(TOP_REASONS + 3):
        user = UserFactory.create(username=f"agent{i:02d}")
        for _ in range(i + 1):  # reason i used i + 1 times, by agent i
            resend(1, reason_code=f"Reason {i:02d}", submitted_by=user)
    resend(1, reason_code="", submitted_by=agent)
    report = resend_report(period=7)

    reasons = {s.label: s.total for s in report.by_reason.series}
    assert len(reasons) == TOP_REASONS + 2
    assert reasons["Other reasons"] == 1 + 2 + 3  # reasons 00, 01 and 02
    assert reasons["No reason given"] == 1
    assert "Reason 10" in reasons and "Reason 02" not in reasons

    agents = {s.label: s.total for s in report.by_agent.series}
    assert len(agents) == TOP_AGENTS + 1
    assert agents["Everyone else"] == 1 + 1  # alice and agent00
    assert sum(agents.values()) == sum(reasons.values()) == report.total


# --- Cost -----------------------------------------------------------------------------------
@pytest.mark.parametrize("resends", [1, 60])
def test_the_report_takes_the_same_few_queries_however_many_resends(
    resends: int, django_assert_max_num_queries: Any, agent: User
) -> None:
    users = [UserFactory.create(username=f"u{i}") for i in range(12)]
    junction = AccountFactory.create(code="junction")
    for i in range(resends):
        resend(
            i % 30,
            S.values[i % len(S.values)],
            submitted_by=users[i % len(users)],
            reason_code=f"Reason {i % 11}",
            account=junction if i % 2 else AccountFactory.create(),
        )
    # The top reason codes, the top agents and their names, then every count in one GROUP BY.
    with django_assert_max_num_queries(4):
        report = resend_report(period=30)
    assert report.total == resends


def test_the_page_takes_a_bounded_number_of_queries(
    client: Client, manager: User, week: list[ResendRequest], django_assert_max_num_queries: Any
) -> None:
    signed_in(client, manager)
    # The session, the user and their permissions (4), their time zone (1), the report (4), the
    # session saved (3).
    with django_assert_max_num_queries(12):
        assert client.get(URL).status_code == 200


# --- The charts themselves ------------------------------------------------------------------
def contrast_with_white(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def test_every_colour_stands_out_on_white() -> None:
    colours = {
        *PALETTE,
        OTHER_COLOUR,
        NONE_COLOUR,
        *OUTCOME_COLOURS.values(),
        *PROVIDER_COLOURS.values(),
    }
    assert {
        c: round(contrast_with_white(c), 1) for c in colours if contrast_with_white(c) < 4.5
    } == {}
    assert len(set(PALETTE)) == len(PALETTE)


def test_a_chart_refuses_an_id_or_colour_that_could_break_out_of_its_attribute() -> None:
    with pytest.raises(ValueError):
        horizontal_bar_chart(chart_id='x" onload="alert(1)', title="t", description="d", bars=[])
    with pytest.raises(ValueError):
        horizontal_bar_chart(
            chart_id="x", title="t", description="d", bars=[Bar("a", 1, "red;background:url(x)")]
        )


def test_a_chart_escapes_its_title_description_and_labels() -> None:
    svg = stacked_bar_chart(
        chart_id="c",
        title="<i>t</i>",
        description="a & b",
        days=[date(2026, 1, 1), date(2026, 1, 2)],
        bands=[Band('"quoted" <label>', [0, 3], PALETTE[0])],
    )
    assert "<i>" not in svg and "<label>" not in svg
    assert "&lt;i&gt;t&lt;/i&gt;" in svg and "a &amp; b" in svg
    assert "&quot;quoted&quot; &lt;label&gt; 3 of 3" in svg
    assert svg.count('<g class="bar"') == 1
