"""Junction: POST /v3/order/resend_events and the order reads, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import Client, ledger

pytestmark: list[object] = []

RESEND = "/v3/order/resend_events"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def order_ids(sandbox: RunningSandbox, count: int) -> list[str]:
    return sorted(sandbox.state.junction_orders)[:count]


def test_wrong_or_missing_api_key_is_401(sandbox: RunningSandbox, control: Client) -> None:
    anonymous = Client(sandbox.junction_url)
    assert anonymous.post(RESEND, json={"order_ids": order_ids(sandbox, 1)}).status_code == 401
    wrong = Client(sandbox.junction_url, headers={"x-vital-api-key": "sk_us_wrong"})
    answer = wrong.get("/v3/orders")
    assert answer.status_code == 401 and "detail" in answer.json()
    assert ledger(control) == []


def test_resend_by_ids_replays_known_orders_and_writes_one_ledger_entry(
    sandbox: RunningSandbox, junction: Client, control: Client
) -> None:
    known = order_ids(sandbox, 2)
    unknown = "00000000-0000-4000-8000-000000000000"
    answer = junction.post(RESEND, json={"order_ids": [*known, unknown]})
    assert answer.status_code == 200
    assert answer.json() == {"order_ids": known}  # unknown ids are skipped
    entries = ledger(control, "junction")
    assert len(entries) == 1
    assert entries[0]["operation"] == "resend_events"
    assert entries[0]["target"] == known and entries[0]["idempotency_key"] is None
    # Junction has no idempotency: a repeat is a second replay.
    assert junction.post(RESEND, json={"order_ids": known}).status_code == 200
    assert len(ledger(control, "junction")) == 2


def test_malformed_uuid_is_a_pydantic_422(
    sandbox: RunningSandbox, junction: Client, control: Client
) -> None:
    answer = junction.post(RESEND, json={"order_ids": [order_ids(sandbox, 1)[0], "not-a-uuid"]})
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"] == ["body", "order_ids", 1]
    assert error["type"] == "uuid_parsing" and error["input"] == "not-a-uuid" and error["msg"]
    assert ledger(control) == []


def test_malformed_datetime_and_body_are_422(junction: Client) -> None:
    answer = junction.post(RESEND, json={"start_at": "yesterday"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "start_at"]
    assert answer.json()["detail"][0]["type"] == "datetime_parsing"
    assert (
        junction.post(RESEND, json={"order_ids": "abc"}).json()["detail"][0]["type"] == "list_type"
    )
    broken = junction.post(RESEND, data=b"{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"


def test_order_ids_or_start_at_is_required(junction: Client) -> None:
    bodies: list[dict[str, object]] = [
        {},
        {"order_ids": []},
        {"order_ids": None, "end_at": iso(datetime.now(UTC))},
    ]
    for body in bodies:
        answer = junction.post(RESEND, json=body)
        assert answer.status_code == 422, body
        assert isinstance(answer.json()["detail"], list)
        assert "at least one of order_ids or start_at" in answer.json()["detail"][0]["msg"]


def test_window_may_not_exceed_60_days(junction: Client, control: Client) -> None:
    end = datetime.now(UTC).replace(microsecond=0)
    too_long = junction.post(
        RESEND, json={"start_at": iso(end - timedelta(days=60, seconds=1)), "end_at": iso(end)}
    )
    assert too_long.status_code == 422 and "60 days" in too_long.json()["detail"][0]["msg"]
    backwards = junction.post(
        RESEND, json={"start_at": iso(end), "end_at": iso(end - timedelta(days=1))}
    )
    assert backwards.status_code == 422
    exactly = junction.post(
        RESEND, json={"start_at": iso(end - timedelta(days=60)), "end_at": iso(end)}
    )
    assert exactly.status_code == 200
    # end_at defaults to now, so start_at alone more than 60 days back is refused too.
    assert (
        junction.post(RESEND, json={"start_at": iso(end - timedelta(days=61))}).status_code == 422
    )
    assert len(ledger(control, "junction")) == 1


def test_window_replays_orders_updated_in_it_and_accepts_offsets(
    sandbox: RunningSandbox, junction: Client
) -> None:
    now = datetime.now(UTC)
    start = now - timedelta(days=10)
    expected = sorted(
        o["id"]
        for o in sandbox.state.junction_orders.values()
        if datetime.fromisoformat(o["updated_at"]) >= start
    )
    answer = junction.post(RESEND, json={"start_at": start.isoformat(), "order_ids": None})
    assert answer.status_code == 200
    assert sorted(answer.json()["order_ids"]) == expected and expected
    # the same instant written with a +02:00 offset
    shifted = start.astimezone(timezone(timedelta(hours=2))).isoformat()
    again = junction.post(RESEND, json={"start_at": shifted})
    assert sorted(again.json()["order_ids"]) == expected


def test_ids_and_window_together_filter(sandbox: RunningSandbox, junction: Client) -> None:
    orders = sorted(sandbox.state.junction_orders.values(), key=lambda o: o["updated_at"])
    old, recent = orders[0], orders[-1]
    start = datetime.now(UTC) - timedelta(days=30)
    answer = junction.post(
        RESEND, json={"order_ids": [old["id"], recent["id"]], "start_at": iso(start)}
    )
    assert answer.json() == {"order_ids": [recent["id"]]}


def test_list_orders_pages_and_filters(sandbox: RunningSandbox, junction: Client) -> None:
    first = junction.get("/v3/orders").json()
    assert first["page"] == 1 and first["size"] == 50 and len(first["orders"]) == 50
    assert first["total"] == len(sandbox.state.junction_orders)
    second = junction.get("/v3/orders", params={"page": 2, "size": 50}).json()
    assert {o["id"] for o in first["orders"]}.isdisjoint(o["id"] for o in second["orders"])
    assert junction.get("/v3/orders", params={"size": 101}).status_code == 422
    assert junction.get("/v3/orders", params={"page": 0}).status_code == 422
    wanted = order_ids(sandbox, 3)
    picked = junction.get("/v3/orders", params=[("order_ids", i) for i in wanted]).json()
    assert sorted(o["id"] for o in picked["orders"]) == wanted and picked["total"] == 3
    since = datetime.now(UTC) - timedelta(days=5)
    recent = junction.get(
        "/v3/orders", params={"updated_start_date": iso(since), "size": 100}
    ).json()
    assert all(datetime.fromisoformat(o["updated_at"]) >= since for o in recent["orders"])


def test_get_order(sandbox: RunningSandbox, junction: Client) -> None:
    order_id = order_ids(sandbox, 1)[0]
    answer = junction.get(f"/v3/order/{order_id}")
    assert answer.status_code == 200 and answer.json()["id"] == order_id
    assert answer.json()["last_event"]["status"].count(".") == 2
    assert junction.get("/v3/order/00000000-0000-4000-8000-000000000000").status_code == 404
    assert junction.get("/v3/order/nope").status_code == 422


def test_each_request_on_a_kept_alive_connection_is_stamped_when_it_arrived(
    sandbox: RunningSandbox, junction: Client, control: Client
) -> None:
    import time

    moments = []
    for _ in range(2):
        before = datetime.now(UTC)
        assert junction.post(RESEND, json={"order_ids": order_ids(sandbox, 1)}).ok
        moments.append((before, datetime.now(UTC)))
        time.sleep(0.3)
    stamps = [
        datetime.fromisoformat(e["received_at"].replace("Z", "+00:00"))
        for e in ledger(control, "junction")
    ]
    assert len(stamps) == 2
    for stamp, (before, after) in zip(stamps, moments, strict=True):
        assert before <= stamp <= after
    assert stamps[1] - stamps[0] >= timedelta(seconds=0.3)  # not the first request's stamp
