"""The needs-review queue in the console: managers see each call with what we sent, every attempt,
what reconcile asked and got, and the provider's state now; the decision they post keeps exactly
the evidence they were shown."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from resends.models import ProviderCall, ReviewDecision
from resends.models.audit import CallState, RequestState
from resends.models.review import Decision
from resends.views.review import sign_evidence

from ..engine.review_helpers import chargebee_call_in_review, returnhelper_call_in_review
from .helpers import HTMX, messages_of, signed_in, squash, text

pytestmark = pytest.mark.django_db


def evidence_token(page: str) -> str:
    match = re.search(r'name="evidence" value="([^"]+)"', page)
    assert match, "no decision form on the page"
    return match.group(1)


def test_managers_see_the_queue_and_agents_do_not(
    client: Client, sandbox: Any, agent: User, manager: User
) -> None:
    call, _, _ = chargebee_call_in_review(sandbox, agent)

    signed_in(client, agent)
    assert "Needs review" not in text(client.get(reverse("resends:find")))
    assert client.get(reverse("resends:review-queue")).status_code == 403

    signed_in(client, manager)
    page = text(client.get(reverse("resends:review-queue")))
    assert 'href="/review/"' in page  # the navigation link
    row = squash(page)
    assert f"#{call.pk} Chargebee resend order {call.subject}" in row
    assert "answered, but its answer cannot tell" in row


def test_the_review_page_shows_everything_side_by_side(
    client: Client, sandbox: Any, agent: User, manager: User
) -> None:
    call, ours, other = chargebee_call_in_review(sandbox, agent)
    signed_in(client, manager)
    url = reverse("resends:review", args=[call.pk])

    page = text(client.get(url))
    # What we sent, every attempt (the lost send, then the reconcile: what it asked and got).
    assert call.subject in page and str(call.idempotency_key) in page
    assert '"reason": "Damaged"' in squash(page)
    assert page.count('data-purpose="send"') == 1 and page.count('data-purpose="reconcile"') == 1
    assert "RemoteDisconnected" in page and "reconciled_undecided" in page
    assert f"GET {sandbox.chargebee_url}/api/v2/orders/{call.subject}; GET " in page  # the reads
    # The provider's state is loaded by htmx after the page (a link without JavaScript).
    assert f'hx-get="{reverse("resends:review-provider", args=[call.pk])}"' in page
    assert 'name="evidence"' not in page

    panel = text(client.get(reverse("resends:review-provider", args=[call.pk]), headers=HTMX))
    assert panel.lstrip().startswith('<section class="panel" id="provider"')
    assert panel.count("looks like ours") == 2
    assert f'data-reference="{ours}"' in panel and f'data-reference="{other}"' in panel
    assert "Chargebee order id of the resend" in panel

    without_js = client.get(reverse("resends:review-provider", args=[call.pk]))
    assert without_js.status_code == 302 and without_js["Location"] == f"{url}?look=1"
    assert "looks like ours" in text(client.get(f"{url}?look=1"))


def test_a_decision_keeps_the_evidence_that_was_shown(
    client: Client, sandbox: Any, agent: User, manager: User
) -> None:
    call, ours, _ = chargebee_call_in_review(sandbox, agent)
    signed_in(client, manager)
    page = text(client.get(f"{reverse('resends:review', args=[call.pk])}?look=1"))
    token = evidence_token(page)

    response = client.post(
        reverse("resends:review-decide", args=[call.pk]),
        {"decision": "applied", "reference": ours, "why": "Matches our key.", "evidence": token},
    )

    assert response.status_code == 302 and response["Location"] == reverse("resends:review-queue")
    decision = ReviewDecision.objects.get()
    assert decision.decided_by == manager and decision.provider_reference == ours
    assert f'data-reference="{ours}"' in page
    shown = [r["reference"] for r in decision.evidence["records"] if r["matches"]]
    assert ours in shown and decision.evidence_fetched_at is not None
    call.refresh_from_db()
    call.request.refresh_from_db()
    assert call.state == CallState.SUCCEEDED and call.request.state == RequestState.SUCCEEDED
    followed = client.get(reverse("resends:review-queue"))
    assert messages_of(followed) == [
        f"Call #{call.pk} recorded as applied ({ours}). The resend is now succeeded."
    ]
    assert "Matches our key." in text(followed)  # under "Recently settled"


def test_a_forged_or_borrowed_evidence_token_records_nothing(
    client: Client, sandbox: Any, agent: User, manager: User
) -> None:
    call = returnhelper_call_in_review(sandbox, agent)
    signed_in(client, manager)
    url = reverse("resends:review-decide", args=[call.pk])
    data = {"decision": "give_up", "why": "nothing there"}

    forged = client.post(url, {**data, "evidence": "e30:forged:sig"})
    other_call = sign_evidence(ProviderCall(pk=call.pk + 1), {"summary": "x"})
    borrowed = client.post(url, {**data, "evidence": other_call})
    missing = client.post(url, data)

    for response in (forged, borrowed, missing):
        assert response.status_code == 302
        assert response["Location"].endswith(f"/review/{call.pk}/?look=1")
    assert not ReviewDecision.objects.exists()


def test_a_decision_without_a_reason_is_shown_again_with_the_problem(
    client: Client, sandbox: Any, agent: User, manager: User
) -> None:
    call = returnhelper_call_in_review(sandbox, agent)
    signed_in(client, manager)
    page = text(client.get(f"{reverse('resends:review', args=[call.pk])}?look=1"))
    token = evidence_token(page)

    response = client.post(
        reverse("resends:review-decide", args=[call.pk]),
        {"decision": "give_up", "why": "", "evidence": token},
    )
    assert response.status_code == 200
    assert "This field is required" in text(response)
    assert evidence_token(text(response)) == token  # the same evidence, not a newer look

    response = client.post(
        reverse("resends:review-decide", args=[call.pk]),
        {"decision": "applied", "why": "found it", "evidence": token},
    )
    assert "Give the Return Helper resend id you found" in squash(text(response))
    assert not ReviewDecision.objects.exists()

    response = client.post(
        reverse("resends:review-decide", args=[call.pk]),
        {"decision": Decision.SEND_AGAIN, "why": "Nothing at Return Helper.", "evidence": token},
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.state == CallState.PENDING


@pytest.mark.parametrize(
    "path",
    [
        "/review/99999999999999999999999/",
        "/review/0/",
        "/review/123456/provider/",
    ],
)
def test_odd_call_numbers_are_404s(client: Client, manager: User, path: str) -> None:
    signed_in(client, manager)
    assert client.get(path, headers=HTMX).status_code == 404
    assert client.post(path.replace("provider/", "") + "decide/", {}).status_code == 404


def test_the_resends_page_says_what_waits_and_links_managers_to_the_review(
    client: Client, sandbox: Any, agent: User, manager: User
) -> None:
    call = returnhelper_call_in_review(sandbox, agent)
    page_url = reverse("resends:request", args=[call.request.public_id])
    link = f'href="{reverse("resends:review", args=[call.pk])}"'

    signed_in(client, agent)
    page = text(client.get(page_url))
    assert "nothing is sent again until a manager settles it" in squash(page)
    assert link not in page

    signed_in(client, manager)
    assert link in text(client.get(page_url))
