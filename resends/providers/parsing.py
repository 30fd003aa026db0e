"""Small, forgiving readers for provider JSON, shared by the clients and the mirror mappings.

Providers drift: ids arrive as strings or ints, timestamps as ISO strings or Unix seconds, new enum
values appear without notice. These helpers never raise on odd input; they return None instead.
The inbound-webhook helpers at the end are the exception: they raise MalformedEvent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import requests
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from .base import MalformedEvent

JsonDict = dict[str, Any]


def as_int(value: Any) -> int | None:
    """12, "12", 12.0 -> 12; anything else (bools included) -> None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_str(value: Any) -> str:
    """A string for a value that may be missing, a number or a string."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def iso_datetime(value: Any) -> datetime | None:
    """An ISO-8601 string (with `Z` or an offset) as an aware datetime; naive ones are UTC. None
    too for one that UTC cannot hold (9999-12-31T23:00:00-05:00)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def unix_datetime(value: Any) -> datetime | None:
    """Unix seconds (int, float or numeric string) as an aware UTC datetime."""
    seconds = as_int(value) if not isinstance(value, float) else int(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso_z(moment: datetime) -> str:
    """An aware datetime as ISO-8601 UTC with a `Z` (what the Junction SDK sends)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware datetime")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def shown_time(moment: datetime | None) -> str:
    """A provider's time as a person reads it: in the current time zone (the staff member's, in
    a request), 24-hour, with the zone's abbreviation. Naive times are taken as UTC."""
    if moment is None:
        return "-"
    from django.utils import timezone

    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return f"{timezone.localtime(aware):%Y-%m-%d %H:%M:%S %Z}"
    except OverflowError:  # year 9999 pushed past the end by the zone's offset
        return f"{aware.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def json_body(response: requests.Response) -> Any:
    """The response body parsed as JSON, or None when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return json.loads(response.content.decode(response.encoding or "utf-8", errors="replace"))
    except ValueError:
        return None


def mapping(value: Any) -> JsonDict:
    return dict(value) if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


# --- inbound webhooks ---------------------------------------------------------------------------


def decoded_secret(value: str) -> bytes:
    """A base64 webhook secret's bytes; empty when it is blank or not base64 at all."""
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:  # binascii.Error included
        return b""


MAX_DEPTH = 32  # the providers' events nest 4 or 5 levels deep


def read_json(body: bytes) -> Any:
    """A webhook body as JSON that our database can store: no NaN or infinities (not JSON, and
    PostgreSQL's jsonb refuses them), no NUL characters or lone surrogates in any text, and
    nested at most MAX_DEPTH deep (Python's json recursion stops near 1,000 levels)."""
    try:
        payload = json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise MalformedEvent("the body is nested too deeply") from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise MalformedEvent(f"the body is not JSON: {exc}") from None
    _check_text(payload)
    return payload


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number


def _check_text(payload: Any) -> None:
    pending = [(payload, 0)]
    while pending:  # iterative: a deeply nested body must not exhaust the stack
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise MalformedEvent("the body is nested too deeply")
        if isinstance(value, dict):
            pending += ((item, depth + 1) for item in (*value.keys(), *value.values()))
        elif isinstance(value, list):
            pending += ((item, depth + 1) for item in value)
        elif isinstance(value, str):
            if "\x00" in value:
                raise MalformedEvent("the body has a NUL character in a string")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedEvent("the body has a lone surrogate in a string") from None


# Field types for schemas. A column's max_length bounds the text stored in it.
Text = StrictStr | StrictInt  # descriptive text; a number is read as its digits
Count = Annotated[StrictInt, Field(ge=0, le=2_147_483_647)]  # a PositiveIntegerField holds it


class Schema(BaseModel):
    """What a webhook handler reads from a payload, with the types and bounds it needs (a text that
    fits its column, a count that fits its integer). Strict: "12" is no number and 1 no text.
    Providers add fields without notice, and those pass unchecked."""

    model_config = ConfigDict(extra="allow", strict=True)


def check(schema: type[Schema], payload: Any) -> None:
    """MalformedEvent (400) naming the first field the schema refuses."""
    try:
        schema.model_validate(payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"] if not _type_tag(part))
        raise MalformedEvent(f"{where or 'the body'}: {error['msg']}") from None


def _type_tag(part: Any) -> bool:
    """pydantic's name for a branch of a union in an error's location ("int", "str", ...)."""
    return isinstance(part, str) and (
        part in {"int", "str", "float", "bool"} or "[" in part or part.startswith("constrained-")
    )


def content_key(payload: Any) -> str:
    """A dedupe key for an event that carries no id of its own."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
