"""/v0/evi/configs: create, versions from 0, one version, the posted settings returned in Hume's shape, tools
returned as the referenced tool versions (FIXED or LATEST), bad bodies, duplicates, unknown ids, auth."""

from __future__ import annotations

from typing import Any

import pytest
from hume.empathic_voice import types as sdk
from starlette.testclient import TestClient

from evi_toolhost.simulator import SimulatorState
from tests.support.spec_check import assert_rest

WEBHOOKS = [{"url": "https://example.test/hume-webhook", "events": ["chat_started", "chat_ended", "tool_call"]}]


def make_tool(client: TestClient, name: str = "get_weather") -> dict[str, Any]:
    response = client.post("/v0/evi/tools", json={"name": name, "parameters": '{"type": "object"}'})
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def check(body: dict[str, Any]) -> dict[str, Any]:
    assert_rest(body, "return_config")
    sdk.ReturnConfig.model_validate(body)
    return body


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/v0/evi/configs", json={"name": "weather-bot", "evi_version": "3", **fields})
    assert response.status_code == 201, response.text
    return check(response.json())


def test_create_keeps_the_posted_fields_and_resolves_tools(client: TestClient) -> None:
    tool = make_tool(client)
    config = create(
        client,
        version_description="first",
        tools=[{"id": tool["id"], "version": 0}],
        builtin_tools=[{"name": "web_search"}],
        webhooks=WEBHOOKS,
        nudges={"enabled": False},
    )
    assert (config["version"], config["name"], config["evi_version"]) == (0, "weather-bot", "3")
    assert config["version_description"] == "first"
    assert config["webhooks"] == WEBHOOKS
    assert config["nudges"] == {"enabled": False, "interval_secs": None}
    [returned_tool] = config["tools"]
    assert (returned_tool["id"], returned_tool["version"], returned_tool["version_type"]) == (tool["id"], 0, "FIXED")
    assert returned_tool["name"] == "get_weather"
    assert config["builtin_tools"] == [{"tool_type": "BUILTIN", "name": "web_search", "fallback_content": None}]


def test_tool_without_a_version_follows_the_latest(client: TestClient) -> None:
    tool = make_tool(client)
    config = create(client, tools=[{"id": tool["id"]}])
    client.post(f"/v0/evi/tools/{tool['id']}", json={"parameters": "{}"})
    again = check(client.get(f"/v0/evi/configs/{config['id']}/version/0").json())
    assert (again["tools"][0]["version"], again["tools"][0]["version_type"]) == (1, "LATEST")


def test_new_version_increments_and_each_version_stays_readable(client: TestClient) -> None:
    config = create(client, webhooks=WEBHOOKS)
    response = client.post(f"/v0/evi/configs/{config['id']}", json={"evi_version": "3", "version_description": "v1"})
    assert response.status_code == 201
    second = check(response.json())
    assert (second["id"], second["version"], second["name"], second["webhooks"]) == (config["id"], 1, "weather-bot", [])
    assert second["created_on"] == config["created_on"]

    versions = client.get(f"/v0/evi/configs/{config['id']}")
    assert versions.status_code == 200
    assert_rest(versions.json(), "return_paged_configs")
    assert [c["version"] for c in versions.json()["configs_page"]] == [0, 1]
    first = check(client.get(f"/v0/evi/configs/{config['id']}/version/0").json())
    assert first["webhooks"] == WEBHOOKS
    listed = client.get("/v0/evi/configs").json()["configs_page"]
    assert [(c["id"], c["version"]) for c in listed] == [(config["id"], 1)]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "c"}, ["body", "evi_version"]),
        ({"evi_version": "3"}, ["body", "name"]),
        ({"name": "c", "evi_version": "3", "tools": [{"version": 0}]}, ["body", "tools", 0, "id"]),
        ({"name": "c", "evi_version": "3", "tools": [{"id": "missing"}]}, ["body", "tools", 0]),
        (
            {"name": "c", "evi_version": "3", "builtin_tools": [{"name": "teleport"}]},
            ["body", "builtin_tools", 0, "name"],
        ),
        (
            {"name": "c", "evi_version": "3", "webhooks": [{"url": "https://x", "events": ["x"]}]},
            ["body", "webhooks", 0, "events", 0],
        ),
    ],
    ids=["no-evi-version", "no-name", "tool-without-id", "unknown-tool", "unknown-builtin", "unknown-webhook-event"],
)
def test_bad_config_is_422_naming_the_field(client: TestClient, body: dict[str, Any], loc: list[Any]) -> None:
    response = client.post("/v0/evi/configs", json=body)
    assert response.status_code == 422, response.text
    assert_rest(response.json(), "HTTPValidationError")
    assert loc in [error["loc"] for error in response.json()["detail"]]


def test_unknown_tool_version_in_a_new_config_version_is_422(client: TestClient) -> None:
    tool = make_tool(client)
    config = create(client)
    response = client.post(
        f"/v0/evi/configs/{config['id']}", json={"evi_version": "3", "tools": [{"id": tool["id"], "version": 3}]}
    )
    assert response.status_code == 422
    assert "version 3" in response.json()["detail"][0]["msg"]


def test_duplicate_name_is_409_and_unknown_ids_are_404(client: TestClient) -> None:
    config = create(client)
    assert client.post("/v0/evi/configs", json={"name": "weather-bot", "evi_version": "3"}).status_code == 409
    assert client.get("/v0/evi/configs/nope").status_code == 404
    assert client.post("/v0/evi/configs/nope", json={"evi_version": "3"}).status_code == 404
    assert client.get(f"/v0/evi/configs/{config['id']}/version/9").status_code == 404


def test_a_chat_on_a_config_reports_it_in_its_history(client: TestClient, state: SimulatorState) -> None:
    config = create(client)
    chat = state.start_chat(config_id=config["id"])
    assert client.get(f"/v0/evi/chats/{chat.id}").json()["config"] == {"id": config["id"], "version": 0}


def test_configs_need_the_api_key(client: TestClient) -> None:
    assert client.get("/v0/evi/configs", headers={"X-Hume-Api-Key": "wrong"}).status_code == 401
