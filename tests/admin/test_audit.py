"""The audit in the admin: nobody rewrites it, and how managers search, filter and read it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from resends.models import CallAttempt, ProviderCall, ResendRequest, ResendTarget, WebhookEvent
from resends.models.audit import RequestState

from ..factories import (
    AccountFactory,
    CallAttemptFactory,
    ProviderCallFactory,
    ResendRequestFactory,
    ResendTargetFactory,
)
from .helpers import AUDIT_MODELS, Trail, admin_url, search, signed_in

# --- Nobody rewrites the audit --------------------------------------------------------------------


@pytest.mark.parametrize("model", AUDIT_MODELS)
@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_nobody_adds_changes_or_deletes_audit_rows(
    client: Client, request: pytest.FixtureRequest, who: str, model: type[Model], trail: Trail
) -> None:
    signed_in(client, request.getfixturevalue(who))
    pk = trail.instance(model).pk

    assert client.get(admin_url(model, "add")).status_code == 403
    assert client.post(admin_url(model, "add"), {}).status_code == 403
    assert client.get(admin_url(model, "delete", pk)).status_code == 403
    assert client.post(admin_url(model, "delete", pk), {"post": "yes"}).status_code == 403
    change = client.post(admin_url(model, "change", pk), {"state": "cancelled", "note": "edited"})
    assert change.status_code == 403

    changelist = client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert b"delete_selected" not in changelist.content
    assert changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request) == {}
    assert model._default_manager.filter(pk=pk).exists()


def test_superusers_see_the_audit_read_only(client: Client, superuser: User, trail: Trail) -> None:
    signed_in(client, superuser)
    response = client.get(admin_url(ResendRequest, "change", trail.request.pk))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert b"cb_resend_42" in response.content  # the call inline
    trail.request.refresh_from_db()
    assert trail.request.state == RequestState.SUCCEEDED


def test_a_call_page_shows_its_attempts_redacted(
    client: Client, manager: User, trail: Trail
) -> None:
    CallAttemptFactory.create(
        call=trail.call,
        request_redacted={"headers": {"Authorization": "***"}, "json": {"order": "cb_ord_1001"}},
        response_status=503,
        response_excerpt="upstream unavailable",
        error_class="transient",
        duration_ms=2345,
        celery_task_id="task-abc",
    )
    signed_in(client, manager)
    response = client.get(admin_url(ProviderCall, "change", trail.call.pk))
    content = response.content.decode()
    for shown in ("503", "upstream unavailable", "2345", "task-abc", "Transient", "cb_ord_1001"):
        assert shown in content


def test_the_request_page_links_each_call_to_its_attempts(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    response = client.get(admin_url(ResendRequest, "change", trail.request.pk))
    assert admin_url(ProviderCall, "change", trail.call.pk).encode() in response.content


@pytest.mark.parametrize(
    "term",
    ["cb_ord_1001", "ada@example.com", "  ADA@Example.com ", "cb_resend_42"],
    ids=["order id", "email", "email, any case", "provider reference"],
)
def test_resend_requests_are_found_by_order_email_or_reference(
    client: Client, manager: User, trail: Trail, two_requests: ResendRequest, term: str
) -> None:
    signed_in(client, manager)
    assert search(client, ResendRequest, term) == [trail.request]


def test_resend_requests_are_found_by_idempotency_key_public_id_and_id(
    client: Client, manager: User, trail: Trail, two_requests: ResendRequest
) -> None:
    signed_in(client, manager)
    assert search(client, ResendRequest, str(trail.call.idempotency_key)) == [trail.request]
    assert search(client, ResendRequest, str(two_requests.public_id)) == [two_requests]
    assert search(client, ResendRequest, f"#{two_requests.pk}") == [two_requests]


def test_resend_request_search_is_exact(
    client: Client, manager: User, trail: Trail, two_requests: ResendRequest
) -> None:
    signed_in(client, manager)
    assert search(client, ResendRequest, "cb_ord") == []
    assert search(client, ResendRequest, "example.com") == []


def test_calls_and_attempts_are_found_by_reference_or_key(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    assert search(client, ProviderCall, "cb_resend_42") == [trail.call]
    assert search(client, ProviderCall, str(trail.call.idempotency_key)) == [trail.call]
    assert search(client, CallAttempt, "cb_resend_42") == [trail.attempt]
    assert search(client, ResendTarget, "cb_ord_1001") == [trail.target]


# --- Filters and the list -------------------------------------------------------------------------


def test_filters_by_state_account_and_submitter(
    client: Client, manager: User, agent: User, trail: Trail, two_requests: ResendRequest
) -> None:
    signed_in(client, manager)
    assert search(client, ResendRequest, "", state__exact="failed") == [two_requests]
    assert search(client, ResendRequest, "", submitter=str(agent.pk)) == [trail.request]
    both = {trail.request, two_requests}
    account = trail.order.account
    assert set(search(client, ResendRequest, "", account__id__exact=str(account.pk))) == both


def test_one_filter_names_the_provider_account(client: Client, manager: User, trail: Trail) -> None:
    """Each account belongs to one provider: a provider filter beside it repeated it."""
    signed_in(client, manager)
    response = client.get(admin_url(ResendRequest, "changelist"))
    titles = [spec.title for spec in response.context["cl"].filter_specs]
    assert titles == ["account", "state", "kind", "channel", "submitter"]


def test_the_submitter_filter_offers_only_people_who_submitted(
    client: Client, manager: User, agent: User, second_manager: User, two_requests: ResendRequest
) -> None:
    signed_in(client, manager)
    response = client.get(admin_url(ResendRequest, "changelist"))
    submitters = next(f for f in response.context["cl"].filter_specs if f.title == "submitter")
    assert [label for _, label in submitters.lookup_choices] == ["alice", "max"]
    assert client.get(admin_url(ResendRequest, "changelist"), {"submitter": "x"}).status_code == 302


def test_the_list_answers_who_resent_what_when_why_and_what_happened(
    client: Client, manager: User, trail: Trail, two_requests: ResendRequest
) -> None:
    ResendTargetFactory.create(request=trail.request)
    signed_in(client, manager)
    content = client.get(admin_url(ResendRequest, "changelist")).content.decode()
    for shown in ("alice", "max", "Lost in transit", "Succeeded", "Failed", "cb_ord_1001 +1 more"):
        assert shown in content
    assert "1 (1 not ok)" in content


def test_the_list_cuts_long_values_and_keeps_them_whole_on_hover(
    client: Client, manager: User, trail: Trail
) -> None:
    trail.request.reason_code = "Damaged in transit: the customer sent photos of a crushed box"
    trail.request.save()
    signed_in(client, manager)
    content = client.get(admin_url(ResendRequest, "changelist")).content.decode()
    assert (
        '<span title="Damaged in transit: the customer sent photos of a crushed box">'
        "Damaged in transit: the customer sent p…</span>"
    ) in content


def test_a_request_page_links_to_its_console_page(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    response = client.get(admin_url(ResendRequest, "change", trail.request.pk))
    console = reverse("resends:request", args=[trail.request.public_id])
    assert f'<a href="{console}">Open this resend in the console</a>' in response.content.decode()


def test_a_recorded_shipping_date_reads_as_a_date(
    client: Client, manager: User, agent: User
) -> None:
    """Chargebee takes the shipping date as Unix seconds; the audit shows the day beside them."""
    sent = {"order_id": "cb_ord_1", "lines": [], "shipping_date": 1735689600, "reason": None}
    request = ResendRequestFactory.create(submitted_by=agent, selection=sent)
    call = ProviderCallFactory.create(request=request, payload=sent)
    CallAttemptFactory.create(call=call, request_redacted={"payload": sent, "body": "x=1"})
    signed_in(client, manager)
    for page in (
        admin_url(ResendRequest, "change", request.pk),
        admin_url(ProviderCall, "change", call.pk),
    ):
        content = client.get(page).content.decode()
        assert "&quot;shipping_date&quot;: &quot;2025-01-01 (1735689600)&quot;" in content, page


def test_webhook_events_are_read_only_and_for_superusers(
    client: Client, manager: User, superuser: User
) -> None:
    event = WebhookEvent.objects.create(
        provider="chargebee",
        account=AccountFactory.create(),
        dedupe_key="ev_123",
        event_type="order_updated",
        payload={"id": "ev_123"},
    )
    signed_in(client, manager)
    assert client.get(admin_url(WebhookEvent, "changelist")).status_code == 403

    signed_in(client, superuser)
    assert search(client, WebhookEvent, "ev_123") == [event]
    assert client.get(admin_url(WebhookEvent, "add")).status_code == 403
    assert client.get(admin_url(WebhookEvent, "delete", event.pk)).status_code == 403
    page = client.get(admin_url(WebhookEvent, "change", event.pk))
    assert b'name="_save"' not in page.content
