"""Property-based fuzz (Hypothesis): no request of any shape is answered 500 or more.

Targets: every console form and search box, the bulk forms and actions, the sign-in pages, every
admin list's search, filters, ordering, pages and date hierarchy, ids in URL paths, and the three
webhook endpoints. Each case is one request drawn on top of a valid base (so the deep paths run
too) with odd values put in: text with any Unicode (NUL, U+10FFFF, "²", Arabic-Indic and
full-width digits), numbers past 64 bits, negative numbers, NaN and infinities, dates in year 1,
9999 and 99999, huge epochs, repeated parameters, and for webhooks JSON of the wrong types, NaN,
deep nesting and bytes that are not JSON, signed as the provider signs (the project's own signing
helpers in sandbox/webhooks.py) or not at all. The console is used as a signed-in manager, the
admin as a superuser. Each request runs in a savepoint rolled back after it, so no case changes
the next one (and a database error cannot poison the rest of the run).

FUZZ_EXAMPLES (default 8) is the number of cases per target: the suite runs this short mode;
`FUZZ_EXAMPLES=300 python -m pytest -m fuzz tests/test_fuzz.py` is the full one (over 10,000
cases). Cases per target, the total and the time are printed at the end.
"""

from __future__ import annotations

import functools
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from resends.accounts import default_account
from resends.engine.outcome import refresh_request_state
from resends.models import BulkKind
from resends.models.audit import CallState
from resends.roles import AGENTS, MANAGERS
from resends.services import bulk_jobs
from resends.services.staff import staff_time_zone_set
from resends.services.submit import submit_chargebee_resend, submit_returnhelper_resend
from sandbox.webhooks import basic_auth, rh_signature, svix_signature

from .conftest import make_user
from .console.helpers import accept_returnhelper
from .factories import InventoryFactory, LineItemFactory, OrderFactory

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 8)
FUZZ = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

# --- values ----------------------------------------------------------------------------------
PAST_64_BITS = "99999999999999999999"
ODD = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "²",
    "١٢٣",
    "１２３",
    "\U0010ffff",
    "\ud7ff",
    "zo\U0010ffff",
    "Zo\ud7ff",
    PAST_64_BITS,
    f"-{PAST_64_BITS}",
    "9" * 5000,
    "-1",
    "0",
    "NaN",
    "-Infinity",
    "1e309",
    "0001-01-01",
    "9999-12-31",
    "99999-01-01",
    "2024-02-30",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "99999-12-31T23:59",
    "2024-01-01T25:00",
    str(2**40),
    str(10**30),
    "00000000-0000-0000-0000-000000000000",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "%00",
    "../../etc/passwd",
    "\r\n",
    "x" * 300,
    "{}",
    "[]",
    "null",
]
TEXT = st.characters(exclude_categories=["Cs"])  # HTTP cannot carry a lone surrogate


def odd_value() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ODD),
        st.text(TEXT, max_size=30),
        st.integers(-(10**30), 10**30).map(str),
        st.floats().map(str),
        st.dates().map(date.isoformat),
        st.datetimes().map(lambda moment: moment.isoformat(timespec="minutes")),
    )


def field_value() -> st.SearchStrategy[Any]:
    return st.one_of(odd_value(), st.lists(odd_value(), min_size=2, max_size=3))


def form(base: dict[str, Any], *extra: str) -> st.SearchStrategy[dict[str, Any]]:
    """`base` with some fields replaced by odd values, some dropped, some added."""
    names = sorted({*base, *extra})
    changed = st.dictionaries(st.sampled_from(names), field_value(), max_size=len(names))
    dropped = st.sets(st.sampled_from(names), max_size=2)
    return st.tuples(changed, dropped).map(
        lambda parts: {k: v for k, v in {**base, **parts[0]}.items() if k not in parts[1]}
    )


JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(),  # NaN and infinities are written as NaN / Infinity, as some senders do
    st.text(TEXT, max_size=20),
    st.sampled_from(ODD),
)
JSON_ANY = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(TEXT, max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def shaped(template: Any) -> st.SearchStrategy[Any]:
    """Mostly the template's shape (recursively), and at any node, sometimes anything at all."""
    inner: st.SearchStrategy[Any]
    if isinstance(template, dict):
        inner = st.fixed_dictionaries({key: shaped(value) for key, value in template.items()})
    elif isinstance(template, list):
        inner = st.lists(shaped(template[0]), max_size=3) if template else st.just([])
    else:
        inner = st.just(template)
    return st.integers(0, 4).flatmap(lambda n: JSON_ANY if n == 0 else inner)


def raw_body() -> st.SearchStrategy[bytes]:
    """Bodies that are not the JSON a handler expects at all."""
    return st.one_of(
        st.integers(1, 100_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(1, 100_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        st.sampled_from([b"", b"NaN", b"[NaN]", b'{"id": Infinity}', b"\xff\xfe", b"1e999999"]),
        st.binary(max_size=200),
        st.text(TEXT, max_size=200).map(str.encode),
        JSON_ANY.map(lambda value: json.dumps(value).encode()),
    )


# --- what a case sends -----------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    method: str
    path: str
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = ""
    who: str = "manager"  # manager, superuser or nobody


@dataclass
class World:
    """The rows the targets point at (created once per target, before its cases)."""

    order_pk: int
    line_pk: int
    inventory_pk: int
    junction_pk: int
    agent_pk: int
    failed: str
    rh_resend: str
    job: str
    admin_params: dict[str, list[str]]


def token() -> str:
    return str(uuid.uuid4())


SHIPMENT = {
    "shipmentName": "Jane Doe",
    "shipmentStreet1": "1 Main Street",
    "shipmentCity": "Newark",
    "shipmentState": "NJ",
    "shipmentPostalCode": "07102",
    "shipmentEmail": "jane@example.com",
    "shipmentCountryCode": "usa",
    "shipmentServiceType": "usps",
}
BULK_FIELDS = [
    "kind",
    "status",
    "updated_from",
    "updated_to",
    "start_at",
    "end_at",
    "warehouse_id",
    "created_from",
    "created_to",
    "sku",
    "rma",
    "service_type",
    "reason_code",
    "note",
    "dry_run",
    "saved_filter",
    "filter_name",
    "action",
]
HTMX = {"HX-Request": "true"}


def _get(path: str, query: st.SearchStrategy[dict[str, Any]], htmx: bool = False) -> Any:
    headers = st.sampled_from([HTMX, {}]) if not htmx else st.just(HTMX)
    return st.builds(Call, st.just("get"), st.just(path), query, headers)


def _post(path: str, data: st.SearchStrategy[dict[str, Any]], who: str = "manager") -> Any:
    headers = st.sampled_from([HTMX, {}])
    return st.builds(Call, st.just("post"), st.just(path), data, headers, who=st.just(who))


def console_targets(w: World) -> dict[str, st.SearchStrategy[Call]]:
    search = ["q", "account", "status", "created_from", "created_to", "ids", "after"]
    chargebee = {
        "token": token(),
        "mode": "partial",
        f"pick_{w.line_pk}": "on",
        f"qty_{w.line_pk}": "1",
        "shipping_date": "",
        "reason": "",
        "note": "",
        "ticket": "ABC-123",
        "customer_email": "on",
        "webhooks": "on",
        "action": "preview",
    }
    junction = {
        "token": token(),
        "account": str(w.junction_pk),
        "note": "",
        "ticket": "ABC-123",
        "action": "preview",
    }
    returnhelper = {
        **SHIPMENT,
        "token": token(),
        "inventories": str(w.inventory_pk),
        "note": "",
        "ticket": "ABC-123",
        "action": "preview",
    }
    bulk = {
        "kind": BulkKind.JUNCTION_WINDOW,
        "start_at": "2026-01-01T00:00",
        "end_at": "2026-01-02T00:00",
        "action": "preview",
    }
    odd_in_path = odd_value().map(lambda text: quote(text, safe=""))
    return {
        "console: find": _get(reverse("resends:find"), form({"q": "Jane"}, *search)),
        "console: junction order picker": _get(
            reverse("resends:junction"), form({"all": "1", "q": "Jane"}, "mode", "order", *search)
        ),
        "console: junction orders form": _post(
            reverse("resends:junction"),
            form({**junction, "mode": "orders", "order_ids": "0ee312e2-6773"}),
        ),
        "console: junction window form": _post(
            reverse("resends:junction"),
            form(
                {
                    **junction,
                    "mode": "window",
                    "start": "2026-01-01T00:00",
                    "end": "2026-01-02T00:00",
                }
            ),
        ),
        "console: chargebee form": _post(
            reverse("resends:chargebee", args=[w.order_pk]), form(chargebee)
        ),
        "console: return helper page": _get(
            reverse("resends:returnhelper"),
            form({"inventory": str(w.inventory_pk)}, "order", "rma", "ticket"),
        ),
        "console: order page and forms with a ticket": st.one_of(
            _get(reverse("resends:order", args=[w.order_pk]), form({"ticket": "ABC-1"})),
            _get(reverse("resends:chargebee", args=[w.order_pk]), form({"ticket": "ABC-1"})),
            _get(reverse("resends:junction"), form({"ticket": "ABC-1"}, "order", "mode")),
        ),
        "console: helpdesk deep link": st.builds(
            Call,
            st.just("get"),
            st.tuples(
                st.one_of(st.sampled_from(["chargebee", "junction", "returnhelper"]), odd_in_path),
                st.one_of(st.just("cb_order_1"), odd_in_path),
            ).map(lambda parts: f"/orders/{parts[0]}/{parts[1]}/"),
            form({"ticket": "ABC-123"}, "account"),
            st.sampled_from([HTMX, {}]),
        ),
        "console: return helper form": _post(
            f"{reverse('resends:returnhelper')}?inventory={w.inventory_pk}", form(returnhelper)
        ),
        "console: service types fragment": _get(
            reverse("resends:returnhelper-service-types"),
            form(
                {
                    "inventory": str(w.inventory_pk),
                    "inventories": str(w.inventory_pk),
                    "shipmentCountryCode": "usa",
                },
                "service_warehouse",
                "refresh",
                "order",
                "rma",
            ),
            htmx=True,
        ),
        "console: resend list": _get(
            reverse("resends:requests"),
            form({"scope": "all"}, "state", "kind", "account", "days", "job", "item", "before"),
        ),
        "console: retry and cancel": st.one_of(
            _post(reverse("resends:request-retry", args=[w.failed]), form({"token": token()})),
            _post(reverse("resends:request-cancel", args=[w.rh_resend]), form({}, "token")),
        ),
        "console: reports": _get(reverse("resends:reports"), form({}, "period", "provider")),
        "console: time zone form": _post(
            reverse("resends:time-zone"), form({"time_zone": "Europe/Berlin"})
        ),
        "admin: staff time zone form": st.builds(
            Call,
            st.just("post"),
            st.just(reverse("admin:resends_staffprofile_add")),
            form({"user": str(w.agent_pk), "time_zone": "Asia/Kolkata"}),
            who=st.just("superuser"),
        ),
        "bulk: saved filter": _get(reverse("resends:bulk-new"), form({"filter": "nightly"})),
        "bulk: new job form": _post(reverse("resends:bulk-new"), form(bulk, *BULK_FIELDS)),
        "bulk: job actions": st.builds(
            Call,
            st.just("post"),
            st.one_of(
                st.sampled_from(["pause", "resume", "cancel", "retry", "approve", "reject"]),
                odd_in_path,
            ).map(lambda action: f"/bulk/{w.job}/{action}/"),
            form({"note": "ok"}),
        ),
        "sign-in: console": _post(
            reverse("login"), form({"username": "mona", "password": "x"}, "next"), who="nobody"
        ),
        "sign-in: admin": _post(
            reverse("admin:login"),
            form({"username": "mona", "password": "x"}, "next"),
            who="nobody",
        ),
        "paths: ids in URLs": st.builds(
            Call,
            st.just("get"),
            st.tuples(
                st.sampled_from(
                    [
                        "/orders/{}/",
                        "/orders/{}/chargebee/",
                        "/resends/{}/",
                        "/resends/{}/status/",
                        "/bulk/{}/",
                        "/bulk/{}/progress/",
                        "/admin/resends/order/{}/change/",
                        "/admin/resends/resendrequest/{}/change/",
                        "/admin/resends/staffprofile/{}/change/",
                        "/admin/resends/providercall/{}/change/",
                        "/admin/axes/accessattempt/{}/change/",
                        "/admin/django_celery_beat/periodictask/{}/change/",
                    ]
                ),
                st.one_of(odd_in_path, st.integers(-(10**30), 10**30).map(str)),
            ).map(lambda parts: parts[0].format(parts[1])),
            st.just({}),
            st.sampled_from([HTMX, {}]),
            who=st.just("superuser"),
        ),
    }


def admin_targets(w: World) -> dict[str, st.SearchStrategy[Call]]:
    return {
        f"admin: {path.strip('/').split('/', 1)[1]} list": st.builds(
            Call,
            st.just("get"),
            st.just(path),
            form({}, *params),
            who=st.just("superuser"),
        )
        for path, params in w.admin_params.items()
    }


def _rh_headers(body: bytes) -> dict[str, str]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    url = settings.SITE_URL + "/webhooks/returnhelper/"
    signature = rh_signature(settings.RETURNHELPER["webhook_signing_key"], url, stamp, body)
    return {"timestamp": stamp, "returnhelper-signature": signature}


def _junction_headers(body: bytes) -> dict[str, str]:
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
    signature = svix_signature(settings.JUNCTION["webhook_secret"], msg_id, stamp, body)
    return {"svix-id": msg_id, "svix-timestamp": stamp, "svix-signature": signature}


def _chargebee_headers(body: bytes) -> dict[str, str]:
    config = settings.CHARGEBEE
    return {"Authorization": basic_auth(config["webhook_username"], config["webhook_password"])}


SIGNERS: dict[str, Callable[[bytes], dict[str, str]]] = {
    "junction": _junction_headers,
    "chargebee": _chargebee_headers,
    "returnhelper": _rh_headers,
}
JUNCTION_EVENT = {
    "event_type": "labtest.order.updated",
    "data": {
        "id": "0ee312e2-6773-4a21-a6e1-506882cd98ed",
        "updated_at": "2026-11-20T10:00:00Z",
        "created_at": "2026-11-01T10:00:00Z",
        "patient_details": {"first_name": "Ada", "last_name": "Lovelace", "email": "a@b.c"},
        "last_event": {"id": 7, "status": "received.testkit.ordered"},
    },
}
CHARGEBEE_EVENT = {
    "id": "ev_fuzz",
    "event_type": "order_updated",
    "occurred_at": 1_700_000_200,
    "content": {
        "order": {
            "id": "ord_hook1",
            "status": "shipped",
            "updated_at": 1_700_000_200,
            "created_at": 1_700_000_000,
            "resent_orders": [{"order_id": "ord_r1"}],
            "resent_status": "partially_resent",
            "shipping_address": {"first_name": "Ada", "line1": "1 Main St", "city": "London"},
            "order_line_items": [{"id": "li_1", "fulfillment_quantity": 2, "description": "Mug"}],
        }
    },
}
RETURNHELPER_EVENT = {
    "category": "resend",
    "action": "updateResendStatus",
    "eventTime": "2026-11-20T10:00:00Z",
    "notificationId": "n-fuzz",
    "resend": {"resendId": "123", "resendStatusCode": 3},
    "resendShipmentList": [{"resendShipmentId": 9, "trackingNumber": "1Z999", "labelUrl": "x"}],
    "returnInventoryList": [
        {"returnInventoryId": "3474", "handlingCode": 3, "handlingStatusCode": "1"}
    ],
}
EVENTS = {
    "junction": JUNCTION_EVENT,
    "chargebee": CHARGEBEE_EVENT,
    "returnhelper": RETURNHELPER_EVENT,
}


def _signed(provider: str, body: bytes) -> Call:
    return Call(
        "post",
        f"/webhooks/{provider}/",
        body,
        SIGNERS[provider](body),
        content_type="application/json",
        who="nobody",
    )


def webhook_targets(w: World) -> dict[str, st.SearchStrategy[Call]]:
    targets: dict[str, st.SearchStrategy[Call]] = {}
    for provider, event in EVENTS.items():
        bodies = shaped(event).map(lambda value: json.dumps(value).encode())
        targets[f"webhook: {provider}, signed, odd shapes"] = bodies.map(
            functools.partial(_signed, provider)
        )
    targets["webhook: signed, not JSON or too deep"] = st.tuples(
        st.sampled_from(sorted(EVENTS)), raw_body()
    ).map(lambda parts: _signed(*parts))
    targets["webhook: unsigned or badly signed"] = st.builds(
        Call,
        st.just("post"),
        st.sampled_from(sorted(EVENTS)).map(lambda p: f"/webhooks/{p}/"),
        raw_body(),
        st.dictionaries(
            st.sampled_from(
                [
                    "svix-id",
                    "svix-timestamp",
                    "svix-signature",
                    "Authorization",
                    "timestamp",
                    "returnhelper-signature",
                ]
            ),
            odd_value().filter(lambda v: "\x00" not in v and "\r" not in v and "\n" not in v),
        ),
        content_type=st.just("application/json"),
        who=st.just("nobody"),
    )
    return targets


def every_target(w: World) -> dict[str, st.SearchStrategy[Call]]:
    return {**console_targets(w), **admin_targets(w), **webhook_targets(w)}


# --- the cast and the rows -------------------------------------------------------------------
def _admin_params(superuser: User) -> dict[str, list[str]]:
    """Each admin list's query parameters: search, order, page, its filters, its date parts."""
    client = Client()
    client.force_login(superuser)
    found = {}
    for model, model_admin in admin.site._registry.items():
        path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        page = client.get(path)
        params = {"q", "o", "p", "e", "all", "_facets"}
        for spec in page.context["cl"].filter_specs:
            params.update(spec.expected_parameters())
        if hierarchy := model_admin.date_hierarchy:
            params.update(f"{hierarchy}__{part}" for part in ("year", "month", "day"))
        found[path] = sorted(params)
    return found


@pytest.fixture
def world(sandbox: Any, settings: Any) -> World:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    agent = make_user("alice", group=AGENTS)
    manager = make_user("mona", group=MANAGERS, staff=True)
    superuser = User.objects.create_superuser("root", "root@backoffice.test", "x")
    # Times typed in by people in zones far from UTC: year 9999 in New York and year 1 on
    # Kiritimati (UTC+14) are past the end of time in UTC.
    staff_time_zone_set(user=manager, time_zone="America/New_York")
    staff_time_zone_set(user=superuser, time_zone="Pacific/Kiritimati")
    order = OrderFactory.create(external_id="cb_order_1", customer_name="Jane Doe")
    line = LineItemFactory.create(order=order, external_id="li_kit", quantity=2)
    OrderFactory.create(customer_name="Zo\U0010ffff Smith")
    inventory = InventoryFactory.create(external_id="3474", warehouse_id="11", handling_code="ohd")
    failed = submit_chargebee_resend(
        actor=agent, order=order, lines=[(line, 1)], intent_key="fuzz-failed"
    ).request
    failed.calls.update(
        state=CallState.FAILED,
        failure_reason="locked",
        error_class="permanent",
        attempts=1,
        finished_at=timezone.now(),
    )
    refresh_request_state(failed.pk)
    rh = submit_returnhelper_resend(
        actor=agent,
        inventories=[inventory],
        shipment={**SHIPMENT, "shipmentStreet2": "", "shipmentPhone": ""},
        countries=["usa"],
        service_types=["usps"],
        intent_key="fuzz-rh",
    ).request
    accept_returnhelper(rh)
    job, _ = bulk_jobs.create_job(
        actor=manager,
        kind=BulkKind.JUNCTION_WINDOW,
        account=default_account("junction"),
        criteria={"start_at": "2026-01-01T00:00:00Z", "end_at": "2026-01-02T00:00:00Z"},
    )
    return World(
        order_pk=order.pk,
        line_pk=line.pk,
        inventory_pk=inventory.pk,
        junction_pk=default_account("junction").pk,
        agent_pk=agent.pk,
        failed=str(failed.public_id),
        rh_resend=str(rh.public_id),
        job=str(job.public_id),
        admin_params=_admin_params(superuser),
    )


# --- the run ---------------------------------------------------------------------------------
@dataclass
class Tally:
    cases: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)


TALLY: dict[str, Tally] = {}


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Iterator[None]:
    """Cases per target, the statuses answered, the time; printed past pytest's capture."""
    started = time.monotonic()
    yield
    if not TALLY:
        return
    lines = [f"Fuzz: up to {EXAMPLES} cases per target (FUZZ_EXAMPLES)"]
    for name, tally in sorted(TALLY.items()):
        codes = ", ".join(f"{code}x{n}" for code, n in sorted(tally.statuses.items()))
        lines.append(f"  {name:<50} {tally.cases:>6} cases {tally.seconds:>7.1f} s  [{codes}]")
    total = sum(t.cases for t in TALLY.values())
    lines.append(f"  {'total':<50} {total:>6} cases {time.monotonic() - started:>7.1f} s")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # type: ignore[union-attr]
        print("\n" + "\n".join(lines), flush=True)


class _Undo(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def send(clients: dict[str, Client], call: Call) -> int:
    """One request in a savepoint rolled back after it; the response's status."""
    client = clients[call.who]
    sender = getattr(client, call.method)
    kwargs: dict[str, Any] = {"headers": call.headers}
    if call.content_type:
        kwargs["content_type"] = call.content_type
    try:
        with transaction.atomic():
            raise _Undo(sender(call.path, call.data, **kwargs).status_code)
    except _Undo as undone:
        return undone.status


def _targets() -> list[Any]:
    dummy = World(1, 1, 1, 1, 1, str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), {})
    names = [*console_targets(dummy), "admin lists"]
    return [*names, *webhook_targets(dummy)]


@pytest.mark.parametrize("target", _targets())
def test_no_request_is_answered_with_a_server_error(world: World, target: str) -> None:
    clients = {"nobody": Client(), "manager": Client(), "superuser": Client()}
    clients["manager"].force_login(User.objects.get(username="mona"))
    clients["superuser"].force_login(User.objects.get(username="root"))
    for client in clients.values():
        client.raise_request_exception = False
    strategies = every_target(world)
    if target == "admin lists":
        names = [name for name in strategies if name.startswith("admin: ")]
    else:
        names = [target]
    failures: list[tuple[str, Call, int]] = []
    for name in names:
        fuzz(name, strategies[name], clients, failures)
    assert not failures, "\n".join(f"{n}: {s} for {_shown(c)}" for n, c, s in failures[:5])


def fuzz(
    name: str,
    strategy: st.SearchStrategy[Call],
    clients: dict[str, Client],
    failures: list[tuple[str, Call, int]],
) -> None:
    """Send the target's cases; a server error is recorded in `failures` (and shrunk)."""
    tally = TALLY.setdefault(name, Tally())

    @FUZZ
    @given(call=strategy)
    def case(call: Call) -> None:
        started = time.monotonic()
        status = send(clients, call)
        tally.cases += 1
        tally.seconds += time.monotonic() - started
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        if status >= 500:
            failures.append((name, call, status))
            raise AssertionError(f"{name}: {status} for {_shown(call)}")

    try:
        case()
    except Exception:
        if not failures:
            raise  # not a server error: a fault of the fuzz itself
        # Recorded; the next target (every admin list) still gets its cases.


def _shown(call: Call) -> str:
    data = call.data if not isinstance(call.data, bytes) else call.data[:200]
    return f"{call.method.upper()} {call.path[:200]} {str(data)[:400]} {call.headers}"


def test_the_signing_helpers_make_requests_the_endpoints_accept(world: World) -> None:
    """The fuzz's signed cases are really signed: a well-formed event is taken (200)."""
    client = Client()
    for provider, event in EVENTS.items():
        call = _signed(provider, json.dumps(event).encode())
        response = client.post(
            call.path, call.data, content_type=call.content_type, headers=call.headers
        )
        assert response.status_code == 200, (provider, response.content[:300])
