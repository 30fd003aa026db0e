"""Fixtures for the provider sandbox tests: one in-process sandbox (reset before each test),
clients carrying each provider's credentials, and a tiny HTTP receiver for webhooks.

No Django here: these tests never touch the database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.server import RunningSandbox, start_in_thread
from tests.sandbox.helpers import DEFAULTS, FAST, Client, Receiver, start_receiver


@pytest.fixture(scope="session")
def running() -> Iterator[RunningSandbox]:
    sandbox = start_in_thread(**FAST)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(running: RunningSandbox) -> RunningSandbox:
    running.state.reset()
    return running


@pytest.fixture
def control(sandbox: RunningSandbox) -> Client:
    return Client(sandbox.url + "/_sandbox")


@pytest.fixture
def junction(sandbox: RunningSandbox) -> Client:
    return Client(sandbox.junction_url, headers={"x-vital-api-key": DEFAULTS.junction_api_key})


@pytest.fixture
def chargebee(sandbox: RunningSandbox) -> Client:
    return Client(sandbox.chargebee_url, auth=(DEFAULTS.chargebee_api_key, ""))


@pytest.fixture
def rh(sandbox: RunningSandbox) -> Client:
    return Client(
        sandbox.returnhelper_user_url,
        headers={"x-rr-apikey": DEFAULTS.rh_api_key, "x-rr-apitoken": DEFAULTS.rh_api_token},
    )


@pytest.fixture
def rh_public(sandbox: RunningSandbox) -> Client:
    return Client(sandbox.returnhelper_public_url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = start_receiver()
    yield started
    started.stop()
