"""engine/rows.update_rows writes each row's own values, prepared as the ORM prepares them (JSON,
aware times, empty and NULL values), and touches no other row or field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resends.engine.rows import update_rows
from resends.models import CallAttempt
from tests.factories import CallAttemptFactory

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_in_one_statement() -> None:
    first, second, untouched = (CallAttemptFactory.create(outcome="started") for _ in range(3))
    first.finished_at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    first.outcome = "succeeded"
    first.request_redacted = {"purpose": "send", "note": "naïve \"quoted\" 'text'", "n": [1, None]}
    first.duration_ms = 140
    second.finished_at = None
    second.outcome = "unknown"
    second.request_redacted = {}
    second.duration_ms = None
    with CaptureQueriesContext(connection) as captured:
        update_rows(
            CallAttempt,
            [first, second],
            ["finished_at", "outcome", "request_redacted", "duration_ms"],
        )
    assert len(captured) == 1

    first_row = CallAttempt.objects.get(pk=first.pk)
    assert first_row.finished_at == datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert (first_row.outcome, first_row.duration_ms) == ("succeeded", 140)
    assert first_row.request_redacted == first.request_redacted
    second_row = CallAttempt.objects.get(pk=second.pk)
    assert (second_row.finished_at, second_row.duration_ms) == (None, None)
    assert (second_row.outcome, second_row.request_redacted) == ("unknown", {})
    # Ordered by time as the ORM's own writes are (SQLite compares the stored text).
    assert (
        CallAttempt.objects.filter(finished_at__gte=datetime(2026, 3, 1, tzinfo=UTC)).get() == first
    )
    assert CallAttempt.objects.get(pk=untouched.pk).outcome == "started"


def test_nothing_to_write_sends_nothing() -> None:
    with CaptureQueriesContext(connection) as captured:
        update_rows(CallAttempt, [], ["outcome"])
    assert len(captured) == 0
