"""`evi-toolhost mcp` as an MCP client meets it: the SDK's own client lists our tools (with the schemas `tools sync`
sends Hume) and calls them over stdio and over streamable HTTP on 127.0.0.1, behind `MCP_TOKEN`; live-chat
features are no-ops with a warning; MCP servers' tools are served too when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from evi_toolhost.cli import main
from evi_toolhost.embedded_redis import free_port
from evi_toolhost.sync.tools import parameters_text
from tests.support.servers import wait_for_http
from workers.handlers.registry import default_registry

ROOT = Path(__file__).resolve().parents[3]
TOOLS = "tests.evi_toolhost.mcp_server.served_tools"
TOKEN = "made-up-mcp-token"


def text_of(result: CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text


def mcp_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "evi_toolhost", "mcp", "--tools", TOOLS, *extra]


async def test_over_stdio_the_sdk_client_lists_our_tools_and_calls_them(mcp_weather_url: str) -> None:
    command = mcp_command("--include-mcp-servers")
    env = {"MCP_SERVERS": f"weather={mcp_weather_url}", "LOG_LEVEL": "INFO"}
    parameters = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=ROOT)
    with tempfile.TemporaryFile("w+") as stderr:
        async with Client(stdio_client(parameters, errlog=stderr)) as client:
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
            add = await client.call_tool("add", {"a": 2, "b": 3})
            shipped = await client.call_tool("look_up_order", {"order_id": "A1"})
            missing = await client.call_tool("look_up_order", {"order_id": "Z9"})
            invalid = await client.call_tool("add", {"a": "two"})
            forecast = await client.call_tool("weather_get_forecast", {"city": "Oslo"})
            booked = await client.call_tool("book", {"day": "Monday"})
        stderr.seek(0)
        logged = stderr.read()

    assert {"add", "look_up_order", "weather_get_forecast", "weather_get_radar"} <= set(listed)
    import tests.evi_toolhost.mcp_server.served_tools  # noqa: F401  (the same tools, registered in this process)

    ours = default_registry.get("add")
    assert ours is not None and listed["add"].description == "Adds two whole numbers."
    assert parameters_text(listed["add"].input_schema) == parameters_text(ours.parameters_schema())
    assert (add.is_error, text_of(add)) == (False, "5")
    assert (shipped.is_error, text_of(shipped)) == (False, "A1 shipped; 0 lines said in chat mcp")
    assert (missing.is_error, text_of(missing)) == (True, "There is no order Z9.")
    assert invalid.is_error and "a should be a valid integer" in text_of(invalid)
    assert text_of(forecast) == "Sunny in Oslo tomorrow, 21 °C."
    assert "tool look_up_order: ctx.send(assistant_input) sends nothing over MCP" in logged
    assert "tool look_up_order: ctx.transcript() is empty over MCP" in logged
    assert (booked.is_error, text_of(booked)) == (False, "Booked Monday; 0 earlier lines"), "no ack: the result"
    assert "tool book: ctx.history() is empty over MCP" in logged
    assert "tool book: ctx.send(assistant_input) sends nothing over MCP" in logged
    assert "tool book: its ToolResult's variables and context are dropped over MCP" in logged
    assert "a tool module that prints while it is imported" in logged


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    """`evi-toolhost mcp --http` on a free port of 127.0.0.1, with MCP_TOKEN set, for this module; its URL."""
    port = free_port()
    env = {**os.environ, "MCP_TOKEN": TOKEN}
    env.pop("HUME_API_KEY", None)
    process = subprocess.Popen(
        mcp_command("--http", "--port", str(port)), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        wait_for_http(url, process=process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stderr is not None
        assert TOKEN not in process.stderr.read().decode()
        process.stderr.close()


async def test_over_http_the_sdk_client_with_the_token_lists_our_tools_and_calls_one(http_server: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(http_server, http_client=http)) as client,
    ):
        names = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("add", {"a": 2, "b": 3})
    assert names == ["add", "look_up_order", "book"]
    assert text_of(result) == "5"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-made-up-token", f"Basic {TOKEN}"])
def test_over_http_a_request_without_the_token_gets_401(http_server: str, authorization: str | None) -> None:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = httpx.post(http_server, json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert json.loads(response.text)["error"] == "invalid_token"


def test_serving_beyond_127_0_0_1_without_a_token_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MCP_TOKEN", raising=False)
    assert main(["mcp", "--http", "--host", "0.0.0.0", "--tools", TOOLS]) == 2
    assert capsys.readouterr().err.strip() == (
        "evi-toolhost mcp: set MCP_TOKEN to serve on 0.0.0.0: without a token only 127.0.0.1 is served"
    )
