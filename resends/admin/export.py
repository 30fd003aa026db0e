"""A streamed CSV of resend requests: one row per request, any number of rows, flat memory.

The rows come from a server-side cursor in chunks; for each chunk, one query fetches the targets,
one the calls and one the review decisions of its requests, so the export costs four queries per
chunk whatever the number of targets, calls or decisions.

Times are ISO 8601 with their offset, in the time zone of whoever exports (the zone is taken when
the export starts: the rows are written after the view has returned).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, tzinfo
from itertools import islice
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from ..models import ProviderCall, ResendRequest, ResendTarget, ReviewDecision
from ..models.review import Decision

CHUNK_SIZE = 2000
TARGETS_SHOWN = 20  # per row; the rest is counted ("+N more")

HEADER = (
    "id",
    "submitted_at",
    "submitter",
    "channel",
    "account",
    "kind",
    "state",
    "reason_code",
    "note",
    "ticket",
    "targets",
    "call_count",
    "provider_references",
    "review_decisions",
)
REQUEST_COLUMNS = (
    "pk",
    "submitted_at",
    "submitted_by__username",
    "channel",
    "account__code",
    "kind",
    "state",
    "reason_code",
    "note",
    "ticket",
)
# CSV injection: a spreadsheet runs a cell as a formula when it starts with one of these. Importers
# that trim cells (LibreOffice's "Trim spaces", for one) see what follows leading whitespace, and
# East Asian Excel reads the full-width and small forms (U+FF1D, U+FF0B, U+FF0D, U+FF20, U+FE66
# ...) as the ASCII ones; so the guard looks past leading whitespace and invisible marks and
# compares the first visible character's NFKC form, which maps those forms onto these four.
FORMULA_STARTS = frozenset("=+-@")
# A tab or carriage return at the very start counts as a trigger itself for some importers.
CONTROL_STARTS = ("\t", "\r")
_LEADING_BLANKS = re.compile(r"^[\s\u200b-\u200d\u2060\ufeff]+")
# A plain number, signed or not ("-1", "+49301234567", "-2.50", "1,5"), cannot run anything, and
# an apostrophe in front would show in the cell and spoil the number: such values pass as they
# are. Anything else that starts like a formula ("-1+1", "-A1", "+cmd|...") is defused.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)*")


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would evaluate gets a leading apostrophe; other values pass through."""
    if not isinstance(value, str):
        return value
    visible = _LEADING_BLANKS.sub("", value, count=1)
    looks_like_formula = unicodedata.normalize("NFKC", visible[:1])[:1] in FORMULA_STARTS
    if value.startswith(CONTROL_STARTS) or (
        looks_like_formula and not _PLAIN_NUMBER.fullmatch(visible)
    ):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write() hands back the line, so csv.writer can feed a generator."""

    def write(self, line: str) -> str:
        return line


def _chunks(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield chunk


def _target_labels(request_ids: list[int]) -> dict[int, list[str]]:
    labels: dict[int, list[str]] = defaultdict(list)
    targets = (
        ResendTarget.objects.filter(request_id__in=request_ids)
        .order_by("request_id", "id")
        .values_list(
            "request_id",
            "order__external_id",
            "line_item__external_id",
            "quantity",
            "inventory__external_id",
            "external_ref",
        )
    )
    for request_id, order, line, quantity, inventory, external_ref in targets:
        if line:
            label = f"{order}/{line} x{quantity}" if order else f"{line} x{quantity}"
        else:
            label = inventory or order or external_ref
        labels[request_id].append(label)
    return labels


def _call_facts(request_ids: list[int]) -> dict[int, tuple[int, list[str]]]:
    counts: dict[int, int] = defaultdict(int)
    references: dict[int, list[str]] = defaultdict(list)
    calls = (
        ProviderCall.objects.filter(request_id__in=request_ids)
        .order_by("request_id", "id")
        .values_list("request_id", "provider_reference")
    )
    for request_id, reference in calls:
        counts[request_id] += 1
        if reference:
            references[request_id].append(reference)
    return {request_id: (counts[request_id], references[request_id]) for request_id in counts}


def _decisions(request_ids: list[int], zone: tzinfo) -> dict[int, list[str]]:
    """Each request's review decisions, oldest first: "call #12 applied (ord_9) by mona at …: why"."""
    found: dict[int, list[str]] = defaultdict(list)
    rows = (
        ReviewDecision.objects.filter(request_id__in=request_ids)
        .order_by("request_id", "decided_at", "id")
        .values_list(
            "request_id", "call_id", "decision", "provider_reference", "decided_by__username",
            "decided_at", "why",
        )
    )  # fmt: skip
    for request_id, call_id, decision, reference, username, decided_at, why in rows:
        what = Decision(decision).label + (f" ({reference})" if reference else "")
        when = decided_at.astimezone(zone).isoformat(timespec="seconds")
        found[request_id].append(f"call #{call_id}: {what}, by {username} at {when}: {why}")
    return found


def _summary(labels: list[str]) -> str:
    shown = "; ".join(labels[:TARGETS_SHOWN])
    hidden = len(labels) - TARGETS_SHOWN
    return f"{shown}; +{hidden} more" if hidden > 0 else shown


def resend_request_rows(
    queryset: QuerySet[ResendRequest],
    *,
    zone: tzinfo = UTC,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[list[Any]]:
    """One list per request, in the queryset's order, header first; times in `zone`."""
    yield list(HEADER)
    rows = queryset.values_list(*REQUEST_COLUMNS).iterator(chunk_size=chunk_size)
    for chunk in _chunks(rows, chunk_size):
        ids = [row[0] for row in chunk]
        targets, calls, decisions = _target_labels(ids), _call_facts(ids), _decisions(ids, zone)
        for pk, submitted_at, *fields in chunk:
            call_count, references = calls.get(pk, (0, []))
            yield [
                pk,
                submitted_at.astimezone(zone).isoformat(),
                *(csv_safe(value) for value in fields),
                csv_safe(_summary(targets.get(pk, []))),
                call_count,
                csv_safe("; ".join(references)),
                csv_safe(" | ".join(decisions.get(pk, []))),
            ]


def _csv_lines(rows: Iterator[list[Any]], *, lines_per_write: int) -> Iterator[str]:
    writer = csv.writer(_Echo())
    buffer: list[str] = []
    for row in rows:
        buffer.append(writer.writerow(row))
        if len(buffer) >= lines_per_write:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


def stream_resend_requests_csv(
    queryset: QuerySet[ResendRequest], *, zone: tzinfo
) -> StreamingHttpResponse:
    filename = f"resend-requests-{timezone.now().astimezone(zone):%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(
        _csv_lines(resend_request_rows(queryset, zone=zone), lines_per_write=200),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # let a proxy pass the rows on as they come
    return response
