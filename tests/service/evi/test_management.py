"""The management API client: Hume's error bodies as one readable line, the key never echoed, every page
followed, and the latest config version found whatever order Hume lists versions in."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from evi_toolhost.simulator import SimulatorState
from evi_toolhost.sync.attach import latest_config
from service.evi.management import HumeApiError, HumeManagementClient, error_message
from tests.conftest import TEST_API_KEY


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            422,
            {
                "detail": [
                    {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
                    {"loc": ["body", "tools", 0, "id"], "msg": "Input should be a valid string", "type": "string_type"},
                ]
            },
            "body.name: Field required; body.tools.0.id: Input should be a valid string",
        ),
        (404, {"detail": "config abc not found"}, "config abc not found"),
        (
            401,
            {"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}},
            "Invalid ApiKey",
        ),
        (429, {"message": "Too many requests,\n slow down"}, "Too many requests, slow down"),
        (502, "<html>\n  <body>Bad gateway</body>\n</html>", "<html> <body>Bad gateway</body> </html>"),
        (503, "", "Service Unavailable"),
    ],
    ids=["validation", "detail", "gateway-fault", "message", "html", "empty"],
)
def test_error_bodies_become_one_readable_line(status: int, body: Any, expected: str) -> None:
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    assert error_message(httpx.Response(status, content=content)) == expected


def test_the_api_key_is_never_part_of_the_message() -> None:
    def echo_key(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"detail": f"key {request.headers['X-Hume-Api-Key']} is not allowed"})

    with httpx.Client(transport=httpx.MockTransport(echo_key)) as http:
        client = HumeManagementClient("https://hume.example.test", TEST_API_KEY, client=http)
        with pytest.raises(HumeApiError) as caught:
            client.list_tools()

    assert str(caught.value) == "Hume API error 403 on GET /v0/evi/tools: key *** is not allowed"
    assert TEST_API_KEY not in repr(client)


def test_every_page_of_tools_is_read(hume: HumeManagementClient, state: SimulatorState) -> None:
    for index in range(130):
        state.tools.create(f"tool_{index:03d}", {"parameters": "{}"})

    listed = hume.list_tools()

    assert [tool.name for tool in listed] == [f"tool_{index:03d}" for index in range(130)]


def test_every_page_of_config_versions_is_read(hume: HumeManagementClient, state: SimulatorState) -> None:
    config = state.configs.create("bot", {"evi_version": "3"})
    for _ in range(104):
        state.configs.add_version(config.id, {"evi_version": "3"})

    versions = hume.list_config_versions(config.id)

    assert [v["version"] for v in versions] == list(range(105))
    assert latest_config(hume, config.id)["version"] == 104


def test_the_latest_config_is_the_highest_version_in_any_order_on_any_page() -> None:
    """A server that ignores `restrict_to_most_recent` and lists newest first, three to a page."""
    versions = [{"id": "cfg", "version": v, "evi_version": "3"} for v in (4, 6, 5, 1, 0, 3, 2)]

    def handler(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page_number"])
        return httpx.Response(200, json={"configs_page": versions[number * 3 : number * 3 + 3], "total_pages": 3})

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        client = HumeManagementClient("https://hume.example.test", TEST_API_KEY, client=http)
        assert latest_config(client, "cfg")["version"] == 6


def test_an_answer_that_is_not_a_page_is_an_error() -> None:
    with httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json={"oops": 1}))) as http:
        client = HumeManagementClient("https://hume.example.test", TEST_API_KEY, client=http)
        with pytest.raises(HumeApiError, match=r"on GET /v0/evi/tools: the answer is not a page of tools_page"):
            client.list_tools(name="x")
