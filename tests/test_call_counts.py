"""The provider calls counted by the database triggers (resends/services/call_counts.py): every
change counted whichever way it is written, nothing counted that was rolled back, and the fold
keeps the sums."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection, transaction
from django.db.models import Count, Sum

from resends.models import CallCount, CallCountChange, ProviderCall
from resends.models.audit import CallState
from resends.services import call_counts
from tests.factories import ProviderCallFactory, ResendRequestFactory

pytestmark = pytest.mark.django_db

Key = tuple[str, str, str, str]


def counted() -> Counter[Key]:
    """What /metrics reads: the folded counts plus the changes since."""
    key = ("account__code", "operation", "state", "error_class")
    found: Counter[Key] = Counter()
    for model in (CallCount, CallCountChange):
        for a, o, s, e, n in model.objects.values_list(*key).annotate(t=Sum("n")).order_by():
            found[(a, o, s, e)] += n
    return +found  # keys counted to zero dropped


def actual() -> Counter[Key]:
    rows = ProviderCall.objects.values_list("account__code", "operation", "state", "error_class")
    return Counter({(a, o, s, e): n for a, o, s, e, n in rows.annotate(n=Count("id")).order_by()})


def test_every_way_of_changing_a_call_is_counted() -> None:
    request = ResendRequestFactory.create()
    calls = [ProviderCallFactory.create(request=request) for _ in range(4)]
    assert (
        counted()
        == actual()
        == Counter({("chargebee", "chargebee.resend_order", "pending", ""): 4})
    )

    calls[0].state, calls[0].locked_at = CallState.IN_FLIGHT, calls[0].created_at
    calls[0].save()  # every column written, the state changed
    calls[1].save()  # every column written, nothing counted changed
    ProviderCall.objects.filter(pk=calls[2].pk).update(
        state=CallState.FAILED, error_class="permanent"
    )
    ProviderCall.objects.filter(pk__in=[calls[3].pk]).update(attempts=3)  # not a counted column
    assert (
        counted()
        == actual()
        == Counter(
            {
                ("chargebee", "chargebee.resend_order", "pending", ""): 2,
                ("chargebee", "chargebee.resend_order", "in_flight", ""): 1,
                ("chargebee", "chargebee.resend_order", "failed", "permanent"): 1,
            }
        )
    )


def test_a_change_rolled_back_is_not_counted() -> None:
    call = ProviderCallFactory.create()
    before = counted()
    with pytest.raises(RuntimeError), transaction.atomic():
        ProviderCall.objects.filter(pk=call.pk).update(state=CallState.CANCELLED)
        ProviderCallFactory.create()
        raise RuntimeError("give up")
    assert counted() == before == actual()


def test_the_fold_keeps_the_sums_in_one_row_per_key() -> None:
    request = ResendRequestFactory.create()
    calls = [ProviderCallFactory.create(request=request) for _ in range(5)]
    for state in (CallState.IN_FLIGHT, CallState.UNKNOWN, CallState.NEEDS_REVIEW):
        ProviderCall.objects.filter(pk__in=[c.pk for c in calls[:3]]).update(
            state=state, locked_at=calls[0].created_at
        )
    before = counted()
    changes = CallCountChange.objects.count()
    assert changes == 5 + 3 * 3 * 2 and not CallCount.objects.exists()

    assert call_counts.compact() == changes
    assert counted() == before == actual()
    assert not CallCountChange.objects.exists()
    folded = {(c.state, c.n) for c in CallCount.objects.all()}
    assert folded == {("pending", 2), ("needs_review", 3), ("in_flight", 0), ("unknown", 0)}

    ProviderCall.objects.filter(pk=calls[3].pk).update(state=CallState.CANCELLED)
    assert call_counts.compact() == 2  # onto the folded rows
    assert call_counts.compact() == 0
    assert counted() == actual()
    assert CallCount.objects.get(state="pending").n == 1


def test_missing_triggers_are_put_back_and_the_calls_counted_again() -> None:
    """On SQLite, Django rebuilds a table to alter it, and the rebuilt one has no triggers."""
    ProviderCallFactory.create()
    assert not call_counts.ensure_installed()  # present: nothing to do
    call_counts.uninstall(connection)
    ProviderCallFactory.create(state=CallState.SUCCEEDED)  # not counted meanwhile
    assert counted() != actual()

    assert call_counts.ensure_installed()
    assert counted() == actual()
    ProviderCallFactory.create()
    assert counted() == actual()


def test_rebuild_counts_again_after_calls_are_deleted_by_hand() -> None:
    keep, drop = ProviderCallFactory.create(), ProviderCallFactory.create()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ProviderCall._meta.db_table} WHERE id = %s", [drop.pk])
    assert counted() != actual()
    call_counts.rebuild()
    assert counted() == actual() == Counter({("chargebee", keep.operation, "pending", ""): 1})
