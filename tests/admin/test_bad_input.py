"""No input makes the admin answer 500: searches, filters and the date hierarchy read numbers and
prefixes through resends.inputs, with bounds; what cannot be used sends back to the list."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from resends.models import CallAttempt, Order, ProviderCall, ResendRequest, ResendTarget

from ..factories import OrderFactory
from .helpers import Trail, admin_url, search, signed_in

PAST_64_BITS = "99999999999999999999"


def sent_back_to_the_list(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].endswith("?e=1")


def test_an_order_search_may_end_in_the_last_code_points(
    client: Client, manager: User, trail: Trail
) -> None:
    named = OrderFactory.create(customer_name="Zo\ud7ff\U0010ffff Smith")
    signed_in(client, manager)
    assert search(client, Order, "zo\ud7ff") == [named]
    assert search(client, Order, "zo\ud7ff\U0010ffff") == [named]
    assert search(client, Order, "ada\U0010ffff") == []
    assert search(client, Order, "\U0010ffff") == []


@pytest.mark.parametrize("model", [ResendRequest, ProviderCall, CallAttempt, ResendTarget])
@pytest.mark.parametrize("term", ["²", "#²", "١٢", PAST_64_BITS, f"#{PAST_64_BITS}", "#0"])
def test_audit_searches_take_any_number_like_term(
    client: Client, manager: User, trail: Trail, model: type[Model], term: str
) -> None:
    signed_in(client, manager)
    assert search(client, model, term) == []


def test_a_request_is_found_by_an_id_of_19_digits(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    assert search(client, ResendRequest, "9223372036854775807") == []
    assert search(client, ResendRequest, f"#{trail.request.pk}") == [trail.request]


@pytest.mark.parametrize("value", ["²", PAST_64_BITS, "-1", "0"])
def test_a_submitter_that_cannot_be_a_user_sends_back_to_the_list(
    client: Client, manager: User, trail: Trail, value: str
) -> None:
    signed_in(client, manager)
    response = client.get(admin_url(ResendRequest, "changelist"), {"submitter": value})
    assert sent_back_to_the_list(response)


@pytest.mark.parametrize(
    "period",
    [
        {"year": PAST_64_BITS},
        {"year": "9999"},  # the period's end would be in year 10000
        {"year": "0"},
        {"year": "²"},
        {"year": "2024", "month": PAST_64_BITS},
        {"year": "2024", "month": "13"},
        {"year": "9999", "month": "12"},
        {"year": "9999", "month": "12", "day": "31"},
        {"year": "2024", "month": "2", "day": "²"},
        {"year": "2024", "month": "2", "day": "30"},
    ],
)
def test_a_date_period_out_of_range_sends_back_to_the_list(
    client: Client, manager: User, trail: Trail, period: dict[str, str]
) -> None:
    signed_in(client, manager)
    query = {f"submitted_at__{part}": value for part, value in period.items()}
    response = client.get(admin_url(ResendRequest, "changelist"), query)
    assert sent_back_to_the_list(response)


def test_a_date_period_in_range_still_lists_its_rows(
    client: Client, manager: User, trail: Trail
) -> None:
    signed_in(client, manager)
    day = trail.request.submitted_at
    query = {"submitted_at__year": str(day.year), "submitted_at__month": str(day.month)}
    assert search(client, ResendRequest, "", **query) == [trail.request]


NASTY = ["²", PAST_64_BITS, f"-{PAST_64_BITS}", "9" * 5000, "9999", "a\ud7ff", "\U0010ffff"]


def test_no_list_in_the_admin_answers_500_to_odd_parameters(
    client: Client, superuser: User, trail: Trail
) -> None:
    """Every registered list, as a superuser: its search, its filters and its date hierarchy."""
    signed_in(client, superuser)
    client.raise_request_exception = False
    failures = []
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        page = client.get(url)
        assert page.status_code == 200, url
        queries: list[dict[str, str]] = []
        params = {"q", "p", "o"}
        for spec in page.context["cl"].filter_specs:
            params.update(spec.expected_parameters())
        queries += [{param: value} for param in params for value in NASTY]
        if hierarchy := model_admin.date_hierarchy:
            year, month, day = (f"{hierarchy}__{part}" for part in ("year", "month", "day"))
            queries += [{year: value} for value in NASTY]
            queries += [{year: "2024", month: value} for value in NASTY]
            queries += [{year: "2024", month: "2", day: value} for value in NASTY]
        for query in queries:
            if client.get(url, query).status_code >= 500:
                failures.append((url, {k: v[:24] for k, v in query.items()}))
    assert failures == []


def test_a_nul_in_any_admin_search_or_filter_is_refused_with_400(
    client: Client, superuser: User, trail: Trail
) -> None:
    """Every list, ours and the third-party ones (users, schedules, sign-in attempts): PostgreSQL
    refuses a NUL in a WHERE clause, which answered 500 there."""
    signed_in(client, superuser)
    client.raise_request_exception = False
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        params = {"q"} | {
            param
            for spec in client.get(url).context["cl"].filter_specs
            for param in spec.expected_parameters()
        }
        for param in params:
            assert client.get(url, {param: "a\x00b"}).status_code == 400, (url, param)
