"""The admin for managers: who gets in, what nobody may do, and how searching and lists behave."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from resends.models import (
    CallAttempt,
    LineItem,
    Order,
    ProviderAccount,
    ProviderCall,
    ResendRequest,
    ResendTarget,
    ReturnInventory,
    WebhookEvent,
)
from resends.models.audit import CallState, RequestState

from .factories import (
    AccountFactory,
    CallAttemptFactory,
    InventoryFactory,
    LineItemFactory,
    OrderFactory,
    ProviderCallFactory,
    ResendRequestFactory,
    ResendTargetFactory,
)

AUDIT_MODELS = (ResendRequest, ResendTarget, ProviderCall, CallAttempt)
MIRROR_MODELS = (ProviderAccount, Order, LineItem, ReturnInventory)


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """The cast's passwords are hashed on creation; the real hasher takes most of a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Trail:
    order: Order
    line: LineItem
    inventory: ReturnInventory
    request: ResendRequest
    target: ResendTarget
    call: ProviderCall
    attempt: CallAttempt

    def instance(self, model: type[Model]) -> Model:
        return {
            ProviderAccount: self.request.account,
            Order: self.order,
            LineItem: self.line,
            ReturnInventory: self.inventory,
            ResendRequest: self.request,
            ResendTarget: self.target,
            ProviderCall: self.call,
            CallAttempt: self.attempt,
        }[model]


@pytest.fixture
def trail(agent: User) -> Trail:
    """Alice resent one Chargebee order; the provider accepted it on the first attempt."""
    order = OrderFactory.create(
        external_id="cb_ord_1001",
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        raw={"id": "cb_ord_1001", "shipping_address": {"city": "London"}},
    )
    line = LineItemFactory.create(order=order, external_id="li_1")
    inventory = InventoryFactory.create(external_id="inv777", rma="RMA-777")
    request = ResendRequestFactory.create(
        submitted_by=agent, account=order.account, state=RequestState.SUCCEEDED
    )
    target = ResendTargetFactory.create(request=request, order=order)
    call = ProviderCallFactory.create(
        request=request, state=CallState.SUCCEEDED, provider_reference="cb_resend_42"
    )
    attempt = CallAttemptFactory.create(call=call)
    return Trail(order, line, inventory, request, target, call, attempt)


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@backoffice.test", "x")


def admin_url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:resends_{model._meta.model_name}_{view}", args=args)


def every_admin_url(trail: Trail) -> list[str]:
    urls = []
    for model in (*AUDIT_MODELS, *MIRROR_MODELS):
        urls.append(admin_url(model, "changelist"))
        urls.append(admin_url(model, "change", trail.instance(model).pk))
    urls.append(reverse("admin:resends_resendrequest_export"))
    return urls


def signed_in(client: Client, user: User | None) -> Client:
    if user is not None:
        client.force_login(user)
    return client


# --- Who gets in ----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_admin_login(client: Client, trail: Trail) -> None:
    for url in every_admin_url(trail):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_agents_are_not_staff_and_are_sent_to_the_admin_login(
    client: Client, agent: User, trail: Trail
) -> None:
    signed_in(client, agent)
    for url in every_admin_url(trail):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_staff_outside_both_roles_is_refused(client: Client, outsider: User, trail: Trail) -> None:
    signed_in(client, outsider)
    for url in every_admin_url(trail):
        assert client.get(url).status_code == 403, url


def test_managers_see_the_audit_and_the_mirrors(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    for url in every_admin_url(trail):
        response = client.get(url)
        assert response.status_code == 200, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)


def test_the_admin_index_lists_the_audit_for_managers_only(
    client: Client, manager: User, outsider: User
) -> None:
    signed_in(client, manager)
    assert b"Resend requests" in client.get(reverse("admin:index")).content
    signed_in(client, outsider)
    assert b"Resend requests" not in client.get(reverse("admin:index")).content


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


# --- Accounts and mirrors -------------------------------------------------------------------------


def test_only_superusers_edit_accounts_and_nobody_deletes_one(
    client: Client, manager: User, superuser: User
) -> None:
    account = AccountFactory.create(code="junction")
    signed_in(client, manager)
    assert client.get(admin_url(ProviderAccount, "add")).status_code == 403
    response = client.get(admin_url(ProviderAccount, "change", account.pk))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content

    signed_in(client, superuser)
    assert client.get(admin_url(ProviderAccount, "add")).status_code == 200
    response = client.get(admin_url(ProviderAccount, "change", account.pk))
    assert b'name="_save"' in response.content
    assert b"JUNCTION_API_KEY" in response.content  # where its secret comes from, never the value
    assert client.get(admin_url(ProviderAccount, "delete", account.pk)).status_code == 403


def test_an_order_shows_its_lines_and_its_raw_data_pretty(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    response = client.get(admin_url(Order, "change", trail.order.pk))
    content = response.content.decode()
    assert "li_1" in content
    assert "&quot;shipping_address&quot;: {\n" in content
    assert "?q=cb_ord_1001" in content  # link to its resends


# --- Searching ------------------------------------------------------------------------------------


def search(client: Client, model: type, term: str, **params: str) -> list[object]:
    response = client.get(admin_url(model, "changelist"), {"q": term, **params})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def two_requests(agent: User, second_manager: User, trail: Trail) -> ResendRequest:
    """Besides the trail's request, Max's failed resend of another customer's order."""
    other = ResendRequestFactory.create(
        submitted_by=second_manager, account=trail.order.account, state=RequestState.FAILED
    )
    ResendTargetFactory.create(
        request=other,
        order=OrderFactory.create(external_id="cb_ord_2002", customer_email="grace@example.com"),
    )
    ProviderCallFactory.create(request=other, state=CallState.FAILED, provider_reference="")
    return other


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


def test_orders_are_found_by_id_email_or_name_prefix(
    client: Client, manager: User, trail: Trail, two_requests: ResendRequest
) -> None:
    signed_in(client, manager)
    assert search(client, Order, "cb_ord_2002") == [Order.objects.get(external_id="cb_ord_2002")]
    assert search(client, Order, "Ada@example.com") == [trail.order]
    assert search(client, Order, "ada lov") == [trail.order]
    assert search(client, Order, "Lovelace") == []


def test_inventories_are_found_by_id_or_rma(client: Client, manager: User, trail: Trail) -> None:
    signed_in(client, manager)
    assert search(client, ReturnInventory, "inv777") == [trail.inventory]
    assert search(client, ReturnInventory, "RMA-777") == [trail.inventory]


def test_calls_and_attempts_are_found_by_reference_or_key(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    assert search(client, ProviderCall, "cb_resend_42") == [trail.call]
    assert search(client, ProviderCall, str(trail.call.idempotency_key)) == [trail.call]
    assert search(client, CallAttempt, "cb_resend_42") == [trail.attempt]
    assert search(client, ResendTarget, "cb_ord_1001") == [trail.target]


# --- Filters and the list -------------------------------------------------------------------------


def test_filters_by_state_provider_account_and_submitter(
    client: Client, manager: User, agent: User, trail: Trail, two_requests: ResendRequest
) -> None:
    signed_in(client, manager)
    assert search(client, ResendRequest, "", state__exact="failed") == [two_requests]
    assert search(client, ResendRequest, "", submitter=str(agent.pk)) == [trail.request]
    both = {trail.request, two_requests}
    assert set(search(client, ResendRequest, "", provider="chargebee")) == both
    assert search(client, ResendRequest, "", provider="junction") == []
    account = trail.order.account
    assert set(search(client, ResendRequest, "", account__id__exact=str(account.pk))) == both


def test_the_submitter_filter_offers_only_people_who_submitted(
    client: Client, manager: User, agent: User, second_manager: User, two_requests: ResendRequest
) -> None:
    signed_in(client, manager)
    response = client.get(admin_url(ResendRequest, "changelist"))
    submitters = next(f for f in response.context["cl"].filter_specs if f.title == "submitter")
    assert [label for _, label in submitters.lookup_choices] == ["alice", "max"]
    assert client.get(admin_url(ResendRequest, "changelist"), {"submitter": "x"}).status_code == 302


def test_the_date_hierarchy_drills_down_from_the_range_of_rows(
    client: Client, manager: User, agent: User
) -> None:
    for when in (datetime.datetime(2023, 5, 2, tzinfo=datetime.UTC), timezone.now()):
        ResendRequestFactory.create(submitted_by=agent, submitted_at=when)
    signed_in(client, manager)
    content = client.get(admin_url(ResendRequest, "changelist")).content.decode()
    assert "submitted_at__year=2023" in content
    assert "submitted_at__year=2024" in content  # a year between, listed from the range
    response = client.get(admin_url(ResendRequest, "changelist"), {"submitted_at__year": "2023"})
    assert "submitted_at__month=5" in response.content.decode()
    assert len(response.context["cl"].result_list) == 1


def test_the_list_answers_who_resent_what_when_why_and_what_happened(
    client: Client, manager: User, trail: Trail, two_requests: ResendRequest
) -> None:
    ResendTargetFactory.create(request=trail.request)
    signed_in(client, manager)
    content = client.get(admin_url(ResendRequest, "changelist")).content.decode()
    for shown in ("alice", "max", "Lost in transit", "Succeeded", "Failed", "cb_ord_1001 +1 more"):
        assert shown in content
    assert "1 (1 not ok)" in content


def make_requests(count: int, submitter: User) -> None:
    for _ in range(count):
        request = ResendRequestFactory.create(submitted_by=submitter)
        for target in ResendTargetFactory.create_batch(2, request=request):
            LineItemFactory.create(order=target.order)
        CallAttemptFactory.create(
            call=ProviderCallFactory.create(request=request, state=CallState.FAILED)
        )


@pytest.mark.parametrize("model", (*AUDIT_MODELS, Order, LineItem))
def test_list_queries_do_not_grow_with_the_rows(
    client: Client, manager: User, agent: User, model: type, django_assert_max_num_queries
) -> None:
    make_requests(5, agent)
    signed_in(client, manager)
    url = admin_url(model, "changelist")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200

    make_requests(45, agent)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["cl"].result_list) >= 50


def test_lists_do_not_count_the_whole_table_twice(client: Client, manager: User) -> None:
    signed_in(client, manager)
    with CaptureQueriesContext(connection) as queries:
        client.get(admin_url(ResendRequest, "changelist"), {"state__exact": "failed"})
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(")]
    assert len(counts) == 1
    assert "state" in counts[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the estimate is PostgreSQL's")
def test_an_unfiltered_big_list_is_numbered_from_the_planner_estimate(
    client: Client, manager: User, agent: User
) -> None:
    make_requests(3, agent)
    with connection.cursor() as cursor:  # as if ANALYZE had seen two million rows
        cursor.execute(
            "UPDATE pg_class SET reltuples = 2000000 WHERE oid = 'resends_resendrequest'::regclass"
        )
    signed_in(client, manager)
    url = admin_url(ResendRequest, "changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.context["cl"].result_count == 2_000_000
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(")]
    assert client.get(url, {"state__exact": "draft"}).context["cl"].result_count == 3


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
