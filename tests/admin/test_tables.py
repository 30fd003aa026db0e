"""Large-table lists: the date hierarchy from the range of rows, no query per row, one count."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from resends.models import LineItem, Order, ResendRequest
from resends.models.audit import CallState

from ..factories import (
    CallAttemptFactory,
    LineItemFactory,
    ProviderCallFactory,
    ResendRequestFactory,
    ResendTargetFactory,
)
from .helpers import AUDIT_MODELS, admin_url, signed_in


def test_the_date_hierarchy_drills_down_from_the_range_of_rows(
    client: Client, manager: User, agent: User
) -> None:
    for when in (datetime.datetime(2023, 5, 2, tzinfo=datetime.UTC), timezone.now()):
        ResendRequestFactory.create(submitted_by=agent, submitted_at=when)
    signed_in(client, manager)
    content = client.get(admin_url(ResendRequest, "changelist")).content.decode()
    assert "submitted_at__year=2023" in content
    assert "submitted_at__year=2024" in content  # a year between, listed from the range
    response = client.get(admin_url(ResendRequest, "changelist"), {"submitted_at__year": "2023"})
    assert "submitted_at__month=5" in response.content.decode()
    assert len(response.context["cl"].result_list) == 1


def make_requests(count: int, submitter: User) -> None:
    for _ in range(count):
        request = ResendRequestFactory.create(submitted_by=submitter)
        for target in ResendTargetFactory.create_batch(2, request=request):
            LineItemFactory.create(order=target.order)
        CallAttemptFactory.create(
            call=ProviderCallFactory.create(request=request, state=CallState.FAILED)
        )


@pytest.mark.parametrize("model", (*AUDIT_MODELS, Order, LineItem))
def test_list_queries_do_not_grow_with_the_rows(
    client: Client, manager: User, agent: User, model: type, django_assert_max_num_queries
) -> None:
    make_requests(5, agent)
    signed_in(client, manager)
    url = admin_url(model, "changelist")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200

    make_requests(45, agent)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["cl"].result_list) >= 50


def test_lists_do_not_count_the_whole_table_twice(client: Client, manager: User) -> None:
    signed_in(client, manager)
    with CaptureQueriesContext(connection) as queries:
        client.get(admin_url(ResendRequest, "changelist"), {"state__exact": "failed"})
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(")]
    assert len(counts) == 1
    assert "state" in counts[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the estimate is PostgreSQL's")
def test_an_unfiltered_big_list_is_numbered_from_the_planner_estimate(
    client: Client, manager: User, agent: User
) -> None:
    make_requests(3, agent)
    with connection.cursor() as cursor:  # as if ANALYZE had seen two million rows
        cursor.execute(
            "UPDATE pg_class SET reltuples = 2000000 WHERE oid = 'resends_resendrequest'::regclass"
        )
    signed_in(client, manager)
    url = admin_url(ResendRequest, "changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.context["cl"].result_count == 2_000_000
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(")]
    assert client.get(url, {"state__exact": "draft"}).context["cl"].result_count == 3
