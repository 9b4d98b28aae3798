"""Fixtures: a fresh simulator state, its app under TestClient, and the same app on a real socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from evi_toolhost.simulator import SimulatorState, create_simulator_app
from tests.conftest import TEST_API_KEY
from tests.support.servers import UvicornThread

AUTH = {"X-Hume-Api-Key": TEST_API_KEY}


@pytest.fixture
def state() -> SimulatorState:
    return SimulatorState()


@pytest.fixture
def app(state: SimulatorState) -> Starlette:
    return create_simulator_app(TEST_API_KEY, state)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, headers=AUTH, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def simulator(app: Starlette) -> Iterator[UvicornThread]:
    with UvicornThread(app) as server:
        yield server
