"""Saving bulk-job filters: managers save one from the new-bulk-job page under a name, and start
jobs from it (the page, `bulk_job --filter NAME`, a schedule's `saved_filter`). A job copies the
criteria it runs with and records which saved filter they came from (finding a filter and what a
job runs from it are reads: selectors/bulk_selection.py)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import rules
from ..models import BulkKind, ProviderAccount, SavedFilter
from ..rules import RuleViolation
from ..selectors.bulk_selection import (
    CRITERIA_OF_KIND,
    matching_inventories,
    matching_orders,
    provider_of,
    window_of,
)

NAME_MAX_LENGTH = SavedFilter._meta.get_field("name").max_length or 100


def _refuse(subject: str, message: str) -> RuleViolation:
    return RuleViolation([rules.Problem(subject, message)])


def clean_criteria(kind: str, account: ProviderAccount, criteria: dict[str, Any]) -> dict[str, str]:
    """The criteria a job of this kind reads (empty values dropped), checked as the job reads
    them, so a saved filter never holds a time that is not one or a missing warehouse."""
    if account.provider != provider_of(kind):
        raise _refuse(
            "account", f"A {BulkKind(kind).label} filter needs a {provider_of(kind)} account."
        )
    kept = {
        key: str(criteria[key]).strip()
        for key in CRITERIA_OF_KIND[kind]
        if str(criteria.get(key) or "").strip()
    }
    if not kept:
        raise _refuse("criteria", "The filter is empty; narrow it before saving it.")
    if kind == BulkKind.RETURNHELPER_INVENTORIES:
        matching_inventories(account, kept)
    elif kind == BulkKind.JUNCTION_WINDOW:
        start, end = window_of(kept)
        problems = rules.blocking(rules.junction_check_window(start, end, timezone.now()))
        if problems:
            raise RuleViolation(problems)
    else:
        matching_orders(account, kept)
    return kept


def save_filter(
    *,
    actor: Any,
    name: str,
    kind: str,
    account: ProviderAccount,
    criteria: dict[str, Any],
) -> tuple[SavedFilter, bool]:
    """(filter, created): saving under an existing name of the same kind updates that filter."""
    if not actor.has_perm("resends.add_savedfilter") or not actor.has_perm(
        "resends.change_savedfilter"
    ):
        raise PermissionDenied("Only managers save bulk-job filters.")
    name = " ".join(name.split())
    if not name:
        raise _refuse("filter_name", "Name the filter to save it.")
    if len(name) > NAME_MAX_LENGTH:
        raise _refuse("filter_name", f"A filter name has at most {NAME_MAX_LENGTH} characters.")
    kept = clean_criteria(kind, account, criteria)
    taken = _refuse(
        "filter_name",
        f"“{name}” already names a filter for another kind of job; pick another name.",
    )
    with transaction.atomic():
        existing = SavedFilter.objects.select_for_update().filter(name=name).first()
        if existing is not None:
            if existing.kind != kind:
                raise taken
            existing.account, existing.criteria, existing.updated_by = account, kept, actor
            existing.save(update_fields=["account", "criteria", "updated_by", "updated_at"])
            return existing, False
        try:
            with transaction.atomic():
                made = SavedFilter.objects.create(
                    name=name,
                    kind=kind,
                    account=account,
                    criteria=kept,
                    created_by=actor,
                    updated_by=actor,
                )
        except IntegrityError:  # saved under the same name by someone else a moment ago
            raise taken from None
    return made, True
