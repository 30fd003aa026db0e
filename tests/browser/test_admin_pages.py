"""The admin in a real browser at the console's screen size (1366 pixels wide)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from resends.models.audit import CallState, Channel, RequestState, ResendKind

from ..factories import (
    LineItemFactory,
    OrderFactory,
    ProviderCallFactory,
    ResendRequestFactory,
    ResendTargetFactory,
)
from .conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def long_requests(manager: User, second_manager: User) -> None:
    """Requests with the longest values the list shows: kinds, states, reasons, targets."""
    for number, (kind, state) in enumerate(
        [
            (ResendKind.JUNCTION_WINDOW, RequestState.AWAITING_APPROVAL),
            (ResendKind.CHARGEBEE_PARTIAL, RequestState.PARTLY_FAILED),
            (ResendKind.RETURNHELPER, RequestState.NEEDS_REVIEW),
        ]
    ):
        window = kind == ResendKind.JUNCTION_WINDOW
        request = ResendRequestFactory.create(
            submitted_by=second_manager,
            window_start=timezone.now() - timedelta(days=1) if window else None,
            window_end=timezone.now() if window else None,
            kind=kind,
            state=state,
            channel=Channel.SCHEDULE,
            reason_code="Damaged in transit: the customer sent photos of a crushed box and a torn label",
        )
        order = OrderFactory.create(
            external_id=f"cb_ord_{number}" + "7" * 40, account=request.account
        )
        for n in range(3):
            line = LineItemFactory.create(order=order, external_id=f"li_blood_test_kit_{n:030d}")
            ResendTargetFactory.create(request=request, order=order, line_item=line, quantity=2)
        ProviderCallFactory.create(request=request, state=CallState.FAILED)


def test_the_audit_list_fits_a_1366_pixel_screen(
    live_server: Any, page: Any, manager: User, long_requests: None, transactional_db: None
) -> None:
    sign_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/admin/resends/resendrequest/")
    page.camera("audit-list")
    widths = page.evaluate(
        """() => {
            const page = document.documentElement, results = document.querySelector('.results');
            return {
                page: page.scrollWidth - page.clientWidth,
                results: results.scrollWidth - results.clientWidth,
                table: document.querySelector('#result_list').getBoundingClientRect().right,
            };
        }"""
    )
    assert widths == {"page": 0, "results": 0, "table": pytest.approx(widths["table"])}
    assert widths["table"] <= page.viewport_size["width"]
