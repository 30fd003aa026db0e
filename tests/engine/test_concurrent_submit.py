"""Twenty people submitting the same resend at the same moment make one resend."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.contrib.auth.models import User
from django.db import connection

from resends.engine.execution import process_call
from resends.models import Order, ProviderCall, ResendRequest
from resends.services.submit import submit_chargebee_resend

from .helpers import ledger, mirror_chargebee_order

pytestmark = pytest.mark.django_db(transaction=True)
PEOPLE = 20


def test_twenty_concurrent_submits_of_one_intent_make_one_resend(sandbox) -> None:  # type: ignore[no-untyped-def]
    order = mirror_chargebee_order(sandbox)
    line = order.line_items.first()
    assert line is not None
    users = [User.objects.create_user(f"agent{i}") for i in range(PEOPLE)]
    start = Barrier(PEOPLE)

    def submit(index: int) -> tuple[int, bool]:
        try:
            start.wait()
            submitted = submit_chargebee_resend(
                actor=users[index],
                order=Order.objects.get(pk=order.pk),
                lines=[(line, 1)],
                reason="Damaged",
                intent_key=f"tab-{index}",  # every person has their own form token
            )
            return submitted.request.pk, submitted.created
        finally:
            connection.close()

    with ThreadPoolExecutor(PEOPLE) as pool:
        results = list(pool.map(submit, range(PEOPLE)))

    assert len({request_id for request_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert ResendRequest.objects.count() == 1
    call = ProviderCall.objects.get()
    process_call(call.pk, worker="test")
    assert len(ledger(sandbox, "chargebee")) == 1
