"""Fixtures: the EVI simulator on a real socket (fresh state per test), a management client for it that
records what it sends, and a plain HTTP client to set up and inspect the simulator's tools and configs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from evi_toolhost.simulator import SimulatorState, create_simulator_app
from service.evi.management import HumeManagementClient
from tests.conftest import TEST_API_KEY
from tests.support.servers import UvicornThread
from tests.support.spec_check import assert_rest

AUTH = {"X-Hume-Api-Key": TEST_API_KEY}
POSTED_SCHEMAS = {
    "/v0/evi/tools": "posted_user_defined_tool",
    "/v0/evi/tools/{id}": "posted_user_defined_tool_version",
    "/v0/evi/configs/{id}": "posted_config_version",
}


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    body: Any


@pytest.fixture
def state() -> SimulatorState:
    return SimulatorState()


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[tuple[UvicornThread, Starlette]]:
    app = create_simulator_app(TEST_API_KEY)
    with UvicornThread(app) as server:
        yield server, app


@pytest.fixture
def simulator(simulator_server: tuple[UvicornThread, Starlette], state: SimulatorState) -> UvicornThread:
    """The simulator on a real socket, served once per session; each test gets empty tools and configs."""
    server, app = simulator_server
    app.state.simulator = state
    return server


@pytest.fixture
def sent() -> list[Sent]:
    return []


@pytest.fixture
def hume(simulator: UvicornThread, sent: list[Sent]) -> Iterator[HumeManagementClient]:
    """The client under test, pointed at the simulator; every request it makes lands in `sent`."""

    def record(request: httpx.Request) -> None:
        body = json.loads(request.content) if request.content else None
        sent.append(Sent(request.method, request.url.path, body))

    with httpx.Client(event_hooks={"request": [record]}) as http:
        yield HumeManagementClient(simulator.url, TEST_API_KEY, client=http)


@pytest.fixture
def api(simulator: UvicornThread) -> Iterator[httpx.Client]:
    """Direct access to the simulator's API, for setting up and reading back state."""
    with httpx.Client(base_url=simulator.url, headers=AUTH) as client:
        yield client


def posts(sent: list[Sent]) -> list[Sent]:
    return [request for request in sent if request.method == "POST"]


def assert_posted_bodies_match_spec(sent: list[Sent]) -> None:
    """Every body we posted is valid for its endpoint's `posted_*` schema (no unknown keys)."""
    for request in posts(sent):
        parts = request.path.split("/")
        template = "/".join(parts[:4] + (["{id}"] if len(parts) > 4 else []))
        assert_rest(request.body, POSTED_SCHEMAS[template])


def versions_of(api: httpx.Client, kind: str, record_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v0/evi/{kind}/{record_id}", params={"page_size": 100})
    assert response.status_code == 200, response.text
    page: list[dict[str, Any]] = response.json()[f"{kind}_page"]
    return page


def tools_by_name(api: httpx.Client) -> dict[str, list[dict[str, Any]]]:
    """Every tool at the simulator, by name, with all its versions."""
    listed = api.get("/v0/evi/tools", params={"page_size": 100}).json()["tools_page"]
    return {tool["name"]: versions_of(api, "tools", tool["id"]) for tool in listed}
