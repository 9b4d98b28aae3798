"""MCP servers' tools in a registry, against real SDK-built servers in their own processes: registered under
`SERVER_TOOL`, called, reconnected when the session drops, refreshed when the server's tools change (in both
protocol eras), and a bad server said in one line while the others' tools stay."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest

from service.mcp_config import parse_mcp_servers
from tests.support.mcp_servers import ODD_SCHEMAS, SILENT, WEATHER, HttpServer, stdio
from workers.handlers.registry import Registry
from workers.mcp_tools import process
from workers.mcp_tools.hub import McpHub
from workers.mcp_tools.results import result_text

WEATHER_TOOLS = ["get_alerts", "get_forecast", "get_radar", "pid"]


async def started(servers: str, registry: Registry, timeout: float = 10.0) -> tuple[McpHub, list[str]]:
    hub = McpHub(parse_mcp_servers(servers), lambda _: timeout, registry, process.call_tool)
    return hub, await hub.start()


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def call_text(hub: McpHub, server: str, tool: str, **arguments: object) -> str:
    return result_text(await hub.call(server, tool, dict(arguments), time.time() + 10))


@pytest.fixture
def http_weather() -> Iterator[HttpServer]:
    with HttpServer() as server:
        yield server


def weather_names(server: str) -> list[str]:
    return [f"{server}_{tool}" for tool in ["add_tool", *WEATHER_TOOLS]]


async def test_over_stdio_tools_are_registered_called_reconnected_and_refreshed() -> None:
    registry = Registry()
    hub, lines = await started(f"weather={stdio(WEATHER)}", registry)
    try:
        assert (lines, registry.names()) == ([], weather_names("weather"))
        forecast = registry.get("weather_get_forecast")
        assert forecast is not None and forecast.parameters_schema() == {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }
        assert await call_text(hub, "weather", "get_forecast", city="Oslo") == "Sunny in Oslo tomorrow, 21 °C."

        first_pid = int(await call_text(hub, "weather", "pid"))
        os.kill(first_pid, signal.SIGKILL)
        assert await call_text(hub, "weather", "get_forecast", city="Oslo") == "Sunny in Oslo tomorrow, 21 °C."
        assert int(await call_text(hub, "weather", "pid")) != first_pid

        await call_text(hub, "weather", "add_tool", name="get_pollen")
        await until(lambda: registry.get("weather_get_pollen") is not None)
    finally:
        await hub.close()


async def test_handshake_era_servers_refresh_on_their_notification_too() -> None:
    registry = Registry()
    hub, _ = await started(f"old={stdio(WEATHER, '--legacy')}", registry)
    try:
        await call_text(hub, "old", "add_tool", name="get_pollen")
        await until(lambda: registry.get("old_get_pollen") is not None)
    finally:
        await hub.close()


async def test_over_http_a_restarted_server_is_reached_again_and_its_new_tools_listed(http_weather: HttpServer) -> None:
    registry = Registry()
    hub, lines = await started(f"web={http_weather.url}", registry)
    try:
        assert (lines, registry.names()) == ([], weather_names("web"))
        failing = await hub.call("web", "get_alerts", {"city": "Oslo"}, time.time() + 10)
        assert failing.is_error and "no station near Oslo" in result_text(failing)

        http_weather.restart()
        assert await call_text(hub, "web", "get_forecast", city="Lima") == "Sunny in Lima tomorrow, 21 °C."
        await call_text(hub, "web", "add_tool", name="get_pollen")  # tells a subscription made after the restart
        await until(lambda: registry.get("web_get_pollen") is not None)
    finally:
        await hub.close()


async def test_a_bad_server_is_one_line_and_the_others_tools_stay() -> None:
    registry = Registry()
    servers = ",".join(
        [
            f"weather={stdio(WEATHER)}",
            f"odd={stdio(ODD_SCHEMAS)}",
            "gone=http://127.0.0.1:1/mcp",
            f"mute=stdio:{SILENT}",
        ]
    )
    began = time.monotonic()
    # Long enough for a stdio server to start on a loaded machine; the silent one costs exactly this long.
    hub, lines = await started(servers, registry, timeout=5.0)
    try:
        assert time.monotonic() - began < 5.0 + 4
        assert registry.names() == ["odd_echo", *weather_names("weather")]
        assert len(lines) == 3
        odd, gone, mute = lines
        assert odd.startswith("MCP server odd (stdio: ")
        assert "left out tool fetch_remote: its input schema refers outside itself (https://x.test/s)" in odd
        assert "tool shout: its input schema requires text without describing it" in odd
        assert "tool whisper: its input schema is not valid JSON Schema" in odd
        assert odd.endswith("; 1 of its tools registered")
        assert gone == (
            "MCP server gone (http://127.0.0.1:1/mcp): it cannot be reached (All connection attempts failed); "
            "its tools are left out"
        )
        assert mute.endswith("): it did not answer within 5 s; its tools are left out")
        assert all("\n" not in line for line in lines)
    finally:
        await hub.close()
