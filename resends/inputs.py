"""Ids, integers, dates, text and search prefixes read from requests, with bounds: the one place
where text a client chose becomes a number, a time or an index range the database accepts.

Every entry point (the admin, the console views) reads query strings and form fields through
these functions instead of `str.isdigit()` + `int()` or `chr(ord(c) + 1)`, because:
- `isdigit()` is True for "²", which `int()` refuses, and for Arabic-Indic or full-width digits,
  which `int()` reads although nobody typed an ASCII number; only ASCII digits count here;
- `int()` takes any length, and the database's integer columns are 64-bit: a value past them
  fails in the query (an overflow on SQLite, an out-of-range error on PostgreSQL);
- the next code point after U+10FFFF does not exist, and after U+D7FF comes a surrogate, which no
  database encoding accepts (the next character is U+E000);
- a date near year 1 or 9999 overflows as soon as a day or a timezone is added to it, and Unix
  seconds past about 2**35 are not a year Python can hold (OverflowError, OSError or ValueError);
- PostgreSQL refuses a NUL character in any text it is given, even in a WHERE clause.

The functions return None for text that is not what was asked for; the caller decides what that
means (a 400, an empty result, or no filter at all). Nothing here raises on any input.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1

# Leading zeros aside, a 64-bit integer has at most 19 digits; a longer text is refused before
# int() reads it, so a megabyte of digits costs nothing.
_MAX_INTEGER_LENGTH = 32
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DIGITS = re.compile(r"[0-9]+")

# The dates anyone means here: the providers count time in Unix seconds, and a thousand years of
# headroom keeps every window, day after and timezone shift clear of datetime.max.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)
EARLIEST = datetime.combine(EARLIEST_DATE, time.min, tzinfo=UTC)
LATEST = datetime.combine(LATEST_DATE, time.max, tzinfo=UTC)
DATES_ALLOWED = f"a date between {EARLIEST_DATE:%Y-%m-%d} and {LATEST_DATE:%Y-%m-%d}"

MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


def parse_int(
    text: str | None, *, minimum: int = BIGINT_MIN, maximum: int = BIGINT_MAX
) -> int | None:
    """`text` as an integer within `minimum`..`maximum` (by default the database's 64-bit range).

    ASCII digits with an optional sign, surrounding whitespace ignored. None for anything else:
    empty, "²", "1.0", "1e3", or a number outside the bounds.
    """
    if text is None:
        return None
    text = text.strip()
    if len(text) > _MAX_INTEGER_LENGTH or not _INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def parse_id(text: str | None) -> int | None:
    """A row id: ASCII digits only (no sign), surrounding whitespace ignored, 1..BIGINT_MAX.

    None for anything else, so `Model.objects.filter(pk=parse_id(text))` is never reached with a
    value the database refuses.
    """
    if text is None:
        return None
    text = text.strip()
    if len(text) > _MAX_INTEGER_LENGTH or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= BIGINT_MAX else None


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix`, in code-point order.

    With it, "starts with `prefix`" becomes the index range `prefix <= column < bound`. None when
    no such string exists (an empty prefix, or one made only of U+10FFFF): then the range is
    `column >= prefix` alone. The bound is always valid text: U+10FFFF is carried into the
    character before it, and the character after U+D7FF is U+E000 (never a lone surrogate).
    """
    stem = prefix.rstrip(chr(MAX_CODE_POINT))
    if not stem:
        return None
    following = ord(stem[-1]) + 1
    if following in _SURROGATES:
        following = _SURROGATES.stop
    return stem[:-1] + chr(following)


def within_dates(value: date) -> bool:
    """Whether a date, or a datetime (naive ones taken as UTC), lies in EARLIEST..LATEST."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            return EARLIEST <= moment <= LATEST
        except OverflowError:  # an offset that takes year 1 or 9999 past the end of time
            return False
    return EARLIEST_DATE <= value <= LATEST_DATE


def parse_unix_seconds(value: int | float | str | None) -> datetime | None:
    """Unix seconds (a number, or ASCII digits) as an aware UTC datetime within the bounds; None
    for NaN, infinities, booleans, fractions of text, or a time outside EARLIEST..LATEST."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = parse_int(value)
        if value is None:
            return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not EARLIEST.timestamp() <= value <= LATEST.timestamp():
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def clean_text(text: str | None, *, max_length: int) -> str | None:
    """`text` stripped, if it has at most `max_length` characters and no NUL; else None."""
    if text is None or "\x00" in text:
        return None
    text = text.strip()
    return text if len(text) <= max_length else None


# A helpdesk ticket reference: "ABC-123", "#48213", "ZD:98765". Letters and digits first (after
# an optional "#"), then those or . _ : / -, at most TICKET_MAX characters, no spaces.
TICKET_MAX = 40
_TICKET = re.compile(r"#?[A-Za-z0-9][A-Za-z0-9._:/\-]*")
TICKET_RULE = (
    f"A ticket reference is letters and digits (with - _ . : / inside, an optional # first), "
    f"at most {TICKET_MAX} characters, e.g. ABC-123."
)


def parse_ticket(text: str | None) -> str | None:
    """A ticket reference (surrounding spaces ignored), "" for none, None for anything else."""
    if text is None:
        return ""
    text = text.strip()
    if not text:
        return ""
    if len(text) > TICKET_MAX or not _TICKET.fullmatch(text):
        return None
    return text
