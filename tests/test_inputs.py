"""Numbers, dates, text and search prefixes read from requests: ASCII digits only, 64-bit bounds,
dates Python can compute with, valid text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from resends.inputs import (
    BIGINT_MAX,
    BIGINT_MIN,
    clean_text,
    parse_id,
    parse_int,
    parse_unix_seconds,
    prefix_upper_bound,
    within_dates,
)
from resends.times import parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        ("-7", -7),
        ("+7", 7),
        ("007", 7),
        (str(BIGINT_MAX), BIGINT_MAX),
        (str(BIGINT_MIN), BIGINT_MIN),
        (str(BIGINT_MAX + 1), None),
        (str(BIGINT_MIN - 1), None),
        ("99999999999999999999", None),
        ("9" * 5000, None),  # int() alone would refuse it with a ValueError, or take seconds
        ("²", None),  # isdigit() is True, int() fails
        ("١٢٣", None),  # Arabic-Indic digits: int() reads them
        ("１２３", None),  # full-width digits: int() reads them too
        ("1.0", None),
        ("1e3", None),
        ("", None),
        ("-", None),
        ("1 2", None),
        ("\x00", None),
        (None, None),
    ],
)
def test_parse_int_reads_ascii_integers_within_64_bits(text: str | None, expected: int) -> None:
    assert parse_int(text) == expected


def test_parse_int_takes_narrower_bounds() -> None:
    assert parse_int("12", minimum=1, maximum=12) == 12
    assert parse_int("13", minimum=1, maximum=12) is None
    assert parse_int("0", minimum=1, maximum=12) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        (" 123 ", 123),
        (str(BIGINT_MAX), BIGINT_MAX),
        (str(BIGINT_MAX + 1), None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        ("²", None),
        ("#1", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_id_reads_positive_bigints_only(text: str | None, expected: int | None) -> None:
    assert parse_id(text) == expected


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [
        ("ab", "ac"),
        ("ADA LOV", "ADA LOW"),
        ("a\U0010ffff", "b"),  # chr(0x10FFFF + 1) does not exist: carried into the "a"
        ("a\U0010ffff\U0010ffff", "b"),
        ("\ud7ff", "\ue000"),  # after U+D7FF come the surrogates, which are not text
        ("x\ud7ff", "x\ue000"),
        ("\U0010ffff", None),  # nothing is above every string starting with it
        ("", None),
    ],
)
def test_prefix_upper_bound_is_valid_text_or_none(prefix: str, bound: str | None) -> None:
    assert prefix_upper_bound(prefix) == bound


EDGES = ["a", "z", "\ud7ff", "\ue000", "\uffff", "\U00010000", "\U0010fffe", "\U0010ffff"]


@pytest.mark.parametrize("prefix", ["a", "ab", "\ud7ff", "a\ud7ff", "\uffff", "a\U0010ffff"])
def test_every_string_with_the_prefix_sorts_below_the_bound(prefix: str) -> None:
    bound = prefix_upper_bound(prefix)
    assert bound is not None
    bound.encode()  # valid UTF-8: no lone surrogate
    assert prefix < bound
    for first in EDGES:
        for second in ["", *EDGES]:
            assert prefix + first + second < bound


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (date(1970, 1, 1), True),
        (date(2999, 12, 31), True),
        (date(1969, 12, 31), False),
        (date(9999, 12, 31), False),
        (date.min, False),
        (datetime(2024, 5, 1, 12, tzinfo=UTC), True),
        (datetime(2024, 5, 1, 12), True),  # naive: taken as UTC
        (datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-23))), False),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23))), False),
    ],
)
def test_within_dates(value: date, ok: bool) -> None:
    assert within_dates(value) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1_700_000_000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (1.5, datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)),
        (-1, None),
        (10**20, None),  # OverflowError in fromtimestamp
        (2**40, None),  # year 36812: ValueError
        (float("nan"), None),
        (float("inf"), None),
        (True, None),
        ("1.5", None),
        ("²", None),
        (None, None),
    ],
)
def test_parse_unix_seconds_within_bounds(value: Any, expected: datetime | None) -> None:
    assert parse_unix_seconds(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        (1_700_000_000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("2024-02-30T00:00:00Z", None),  # parse_datetime raises ValueError
        ("2024-01-01T25:00:00Z", None),
        ("9999-12-31T23:59:59-23:00", None),
        ("99999-01-01T00:00:00Z", None),
        (10**30, None),
        (float("nan"), None),
        (-(10**30), None),
        ("", None),
        (None, None),
        (False, None),
        ({"a": 1}, None),
    ],
)
def test_parse_time_never_raises(value: Any, expected: datetime | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [(" RMA-1 ", "RMA-1"), ("a\x00b", None), ("x" * 65, None), ("x" * 64, "x" * 64), (None, None)],
)
def test_clean_text_refuses_nul_and_long_text(text: str | None, expected: str | None) -> None:
    assert clean_text(text, max_length=64) == expected
