"""The "Export CSV" of the resend-request list: the rows on screen, streamed, safe to open."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from resends.admin.export import HEADER, csv_safe
from resends.models import ResendRequest
from resends.models.audit import CallState, Channel, RequestState

from ..factories import (
    LineItemFactory,
    OrderFactory,
    ProviderCallFactory,
    ResendRequestFactory,
    ResendTargetFactory,
)

EXPORT_URL = reverse("admin:resends_resendrequest_export")


def export(client: Client, **params: str) -> list[dict[str, str]]:
    response = client.get(EXPORT_URL, params)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="resend-requests-')
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


@pytest.fixture
def partial_resend(agent: User) -> ResendRequest:
    """Alice resent two units of one line and a whole order; Chargebee accepted one of two calls."""
    request = ResendRequestFactory.create(
        submitted_by=agent,
        state=RequestState.PARTLY_FAILED,
        channel=Channel.WEB,
        reason_code="Damaged in transit",
        note="Customer sent photos",
        ticket="HD-4711",
    )
    order = OrderFactory.create(external_id="cb_ord_1", account=request.account)
    line = LineItemFactory.create(order=order, external_id="li_9")
    ResendTargetFactory.create(request=request, order=order, line_item=line, quantity=2)
    ResendTargetFactory.create(request=request, order=OrderFactory.create(external_id="cb_ord_2"))
    ProviderCallFactory.create(
        request=request, state=CallState.SUCCEEDED, provider_reference="cb_new_1"
    )
    ProviderCallFactory.create(request=request, state=CallState.FAILED)
    return request


def test_the_export_has_one_row_per_request_with_its_story(
    client: Client, manager: User, partial_resend: ResendRequest
) -> None:
    client.force_login(manager)
    [row] = export(client)
    assert row == {
        "id": str(partial_resend.pk),
        "submitted_at": partial_resend.submitted_at.isoformat(),
        "submitter": "alice",
        "channel": "web",
        "account": "chargebee",
        "kind": "chargebee_full",
        "state": "partly_failed",
        "reason_code": "Damaged in transit",
        "note": "Customer sent photos",
        "ticket": "HD-4711",
        "targets": "cb_ord_1/li_9 x2; cb_ord_2",
        "call_count": "2",
        "provider_references": "cb_new_1",
        "review_decisions": "",
    }


def test_the_export_follows_the_list_filters_and_search(
    client: Client, manager: User, second_manager: User, partial_resend: ResendRequest
) -> None:
    failed = ResendRequestFactory.create(submitted_by=second_manager, state=RequestState.FAILED)
    ResendTargetFactory.create(request=failed, order=OrderFactory.create(external_id="cb_ord_3"))
    client.force_login(manager)

    assert len(export(client)) == 2
    assert [row["id"] for row in export(client, state__exact="failed")] == [str(failed.pk)]
    assert [row["id"] for row in export(client, q="cb_ord_1")] == [str(partial_resend.pk)]
    assert export(client, state__exact="failed", q="cb_ord_1") == []
    assert [row["submitter"] for row in export(client, submitter=str(second_manager.pk))] == ["max"]


def test_the_list_links_to_the_export_of_what_it_shows(client: Client, manager: User) -> None:
    client.force_login(manager)
    url = reverse("admin:resends_resendrequest_changelist")
    content = client.get(url, {"state__exact": "failed", "q": "x"}).content.decode()
    assert f'href="{EXPORT_URL}?q=x&amp;state__exact=failed"' in content


def test_cells_a_spreadsheet_would_run_are_defused(
    client: Client, manager: User, agent: User
) -> None:
    ResendRequestFactory.create(
        submitted_by=agent, reason_code='=HYPERLINK("http://evil")', note=" \uff1dSUM(A1)"
    )
    client.force_login(manager)
    [row] = export(client)
    assert row["reason_code"] == '\'=HYPERLINK("http://evil")'
    assert row["note"] == "' \uff1dSUM(A1)"


@pytest.mark.parametrize(
    "risky",
    [
        "=1+1",
        "+1+1",
        "-1+1",
        "-A1",
        "+cmd|' /C calc'!A0",
        "@x",
        "\tx",
        "\rx",
        " =1+1",  # spreadsheets skip leading whitespace before reading a formula
        "\t=1+1",
        "\n@SUM(A1)",
        "\u3000=1+1",  # ideographic (full-width) space
        "\uff1d1+1",  # full-width =
        "\uff0b1+1",  # full-width +
        "\uff0d1+1",  # full-width -
        "\uff20SUM(A1)",  # full-width @
        "\ufe661+1",  # small =
        " \uff1d1+1",
        "\ufeff=1+1",  # a byte-order mark in front
        "-1e5",  # a number in a form the plain-number rule does not take: guarded, harmless
    ],
)
def test_csv_safe_prefixes_formula_triggers(risky: str) -> None:
    assert csv_safe(risky) == "'" + risky


@pytest.mark.parametrize(
    "harmless",
    ["cb_ord_1", "a=b", "a -b", "", 12, None, "-1", "+49301234567", "-2.50", " -1,5", "1-2"],
)
def test_csv_safe_leaves_other_values_alone(harmless: object) -> None:
    """Plain numbers, signed or not, cannot run anything: they stay as they are."""
    assert csv_safe(harmless) == harmless


def test_export_queries_do_not_grow_with_the_rows(
    client: Client, manager: User, agent: User, django_assert_max_num_queries
) -> None:
    def add_requests(count: int) -> None:
        for _ in range(count):
            request = ResendRequestFactory.create(submitted_by=agent)
            ResendTargetFactory.create_batch(3, request=request)
            ProviderCallFactory.create_batch(2, request=request)

    client.force_login(manager)
    add_requests(5)
    with CaptureQueriesContext(connection) as few:
        assert len(export(client)) == 5
    add_requests(45)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(export(client)) == 50


def test_the_export_is_refused_to_those_who_cannot_see_the_audit(
    client: Client, agent: User, outsider: User
) -> None:
    assert client.get(EXPORT_URL).status_code == 302  # to the admin login
    client.force_login(agent)
    assert client.get(EXPORT_URL).status_code == 302  # not staff
    client.force_login(outsider)
    assert client.get(EXPORT_URL).status_code == 403


def test_a_bad_filter_sends_back_to_the_list(client: Client, manager: User) -> None:
    client.force_login(manager)
    response = client.get(EXPORT_URL, {"no_such_field": "1"})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
