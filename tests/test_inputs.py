"""Numbers and search prefixes read from requests: ASCII digits only, 64-bit bounds, valid text."""

from __future__ import annotations

import pytest

from resends.inputs import BIGINT_MAX, BIGINT_MIN, parse_id, parse_int, prefix_upper_bound


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
