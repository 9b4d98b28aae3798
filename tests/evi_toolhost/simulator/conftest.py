"""Fixtures: a fresh simulator state, its app under TestClient, the same app on a real socket, and an HTTP client
for a session-wide simulator on a real socket that serves each test's fresh state."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
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


@pytest.fixture(scope="session")
def served_app() -> Iterator[tuple[UvicornThread, Starlette]]:
    app = create_simulator_app(TEST_API_KEY)
    with UvicornThread(app) as server:
        yield server, app


@pytest.fixture
def http(served_app: tuple[UvicornThread, Starlette], state: SimulatorState) -> Iterator[httpx.Client]:
    """The simulator's REST API over a real socket (one server per session, `state` fresh per test)."""
    server, app = served_app
    app.state.simulator = state
    with httpx.Client(base_url=server.url, headers=AUTH) as client:
        yield client
