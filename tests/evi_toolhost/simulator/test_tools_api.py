"""/v0/evi/tools: create, list (latest by default, name filter, paging), versions from 0, one version,
bad bodies (parameters must be a JSON Schema object in a string), duplicates, unknown ids, auth."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hume.empathic_voice import types as sdk
from starlette.testclient import TestClient

from tests.support.spec_check import assert_rest

SCHEMA = json.dumps({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


def create(client: TestClient, name: str = "get_weather", **fields: Any) -> dict[str, Any]:
    response = client.post("/v0/evi/tools", json={"name": name, "parameters": SCHEMA, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert_rest(body, "return_user_defined_tool")
    sdk.ReturnUserDefinedTool.model_validate(body)
    return body


def paged(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_rest(body, "return_paged_user_defined_tools")
    sdk.ReturnPagedUserDefinedTools.model_validate(body)
    return body


def test_create_returns_version_zero_with_every_posted_field(client: TestClient) -> None:
    tool = create(
        client,
        description="Current weather for a city",
        fallback_content="The weather service is unavailable.",
        version_description="first",
    )
    assert (tool["version"], tool["name"], tool["tool_type"], tool["version_type"]) == (
        0,
        "get_weather",
        "FUNCTION",
        "FIXED",
    )
    assert tool["parameters"] == SCHEMA
    assert tool["fallback_content"] == "The weather service is unavailable."
    assert tool["description"] == "Current weather for a city"
    assert tool["version_description"] == "first"
    assert tool["created_on"] == tool["modified_on"]
    assert len(str(tool["created_on"])) == 13


def test_new_version_increments_and_keeps_name_and_creation_time(client: TestClient) -> None:
    tool = create(client)
    response = client.post(f"/v0/evi/tools/{tool['id']}", json={"parameters": "{}", "version_description": "v1"})
    assert response.status_code == 201
    second = response.json()
    assert_rest(second, "return_user_defined_tool")
    assert (second["id"], second["version"], second["name"]) == (tool["id"], 1, "get_weather")
    assert second["created_on"] == tool["created_on"]
    assert second["modified_on"] >= tool["modified_on"]
    assert second["fallback_content"] is None

    versions = paged(client, f"/v0/evi/tools/{tool['id']}")
    assert [v["version"] for v in versions["tools_page"]] == [0, 1]
    latest_only = paged(client, f"/v0/evi/tools/{tool['id']}", restrict_to_most_recent="true")
    assert [v["version"] for v in latest_only["tools_page"]] == [1]
    one = client.get(f"/v0/evi/tools/{tool['id']}/version/0")
    assert (one.status_code, one.json()["parameters"]) == (200, SCHEMA)


def test_list_shows_the_latest_version_of_each_by_default_and_filters_by_name(client: TestClient) -> None:
    weather = create(client, "get_weather")
    create(client, "get_time")
    client.post(f"/v0/evi/tools/{weather['id']}", json={"parameters": "{}"})
    listed = paged(client, "/v0/evi/tools")
    assert sorted((t["name"], t["version"]) for t in listed["tools_page"]) == [("get_time", 0), ("get_weather", 1)]
    assert (listed["page_number"], listed["page_size"], listed["total_pages"]) == (0, 10, 1)
    every = paged(client, "/v0/evi/tools", restrict_to_most_recent="false")
    assert len(every["tools_page"]) == 3
    named = paged(client, "/v0/evi/tools", name="get_weather")
    assert [(t["id"], t["version"]) for t in named["tools_page"]] == [(weather["id"], 1)]
    assert paged(client, "/v0/evi/tools", name="nothing")["tools_page"] == []


def test_list_pages(client: TestClient) -> None:
    for number in range(3):
        create(client, f"tool_{number}")
    second = paged(client, "/v0/evi/tools", page_size=2, page_number=1)
    assert ([t["name"] for t in second["tools_page"]], second["total_pages"]) == (["tool_2"], 2)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "t", "parameters": "{not json"}, ["body", "parameters"]),
        ({"name": "t", "parameters": "[1, 2]"}, ["body", "parameters"]),
        ({"name": "t", "parameters": {"type": "object"}}, ["body", "parameters"]),
        ({"parameters": SCHEMA}, ["body", "name"]),
        ({"name": "t"}, ["body", "parameters"]),
        ({"name": "", "parameters": SCHEMA}, ["body", "name"]),
    ],
    ids=["not-json", "not-an-object", "object-not-string", "no-name", "no-parameters", "empty-name"],
)
def test_bad_tool_is_422_naming_the_field(client: TestClient, body: dict[str, Any], loc: list[str]) -> None:
    response = client.post("/v0/evi/tools", json=body)
    assert response.status_code == 422
    assert_rest(response.json(), "HTTPValidationError")
    assert loc in [error["loc"] for error in response.json()["detail"]]
    assert client.get("/v0/evi/tools").json()["tools_page"] == []


def test_bad_new_version_is_422(client: TestClient) -> None:
    tool = create(client)
    response = client.post(f"/v0/evi/tools/{tool['id']}", json={"parameters": "42"})
    assert response.status_code == 422
    assert [v["version"] for v in paged(client, f"/v0/evi/tools/{tool['id']}")["tools_page"]] == [0]


def test_duplicate_name_is_409(client: TestClient) -> None:
    create(client)
    response = client.post("/v0/evi/tools", json={"name": "get_weather", "parameters": SCHEMA})
    assert response.status_code == 409
    assert "get_weather" in response.json()["detail"]


def test_unknown_tool_or_version_is_404(client: TestClient) -> None:
    tool = create(client)
    assert client.get("/v0/evi/tools/nope").status_code == 404
    assert client.post("/v0/evi/tools/nope", json={"parameters": "{}"}).status_code == 404
    assert client.get(f"/v0/evi/tools/{tool['id']}/version/5").status_code == 404
    bad_version = client.get(f"/v0/evi/tools/{tool['id']}/version/latest")
    assert (bad_version.status_code, bad_version.json()["detail"][0]["loc"]) == (422, ["path", "version"])


def test_tools_need_the_api_key(client: TestClient) -> None:
    assert client.get("/v0/evi/tools", headers={"X-Hume-Api-Key": "wrong"}).status_code == 401
    response = client.post("/v0/evi/tools", json={"name": "t", "parameters": "{}"}, headers={"X-Hume-Api-Key": "x"})
    assert response.status_code == 401
