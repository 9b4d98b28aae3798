"""An MCP tool as an EVI tool: its name as Hume takes it, and what it answers through the execution every tool
goes through (a result, `isError`, an unreachable server)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from mcp_types import CallToolResult, TextContent, Tool

from service.evi.messages import ToolCallMessage, ToolType
from workers.handlers.context import ToolContext
from workers.handlers.execution import Outcome, execute
from workers.handlers.registry import RegisteredTool, Registry
from workers.mcp_tools.connection import McpUnavailable
from workers.mcp_tools.tools import MAX_NAME_LENGTH, build_tool, evi_tool_name

FORECAST = Tool(
    name="get_forecast",
    description="Tomorrow's forecast.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.mark.parametrize(
    ("server", "tool", "name"),
    [
        ("weather", "get_forecast", "weather_get_forecast"),
        ("files", "fs.read file", "files_fs_read_file"),
        ("crm", "contacts/search-by-name", "crm_contacts_search-by-name"),
    ],
)
def test_names_are_server_then_tool_in_what_hume_takes(server: str, tool: str, name: str) -> None:
    assert evi_tool_name(server, tool) == name


def test_long_names_are_cut_and_stay_unique_and_stable() -> None:
    first = evi_tool_name("warehouse", "inventory_" + "x" * 80 + "_by_sku")
    second = evi_tool_name("warehouse", "inventory_" + "x" * 80 + "_by_name")
    assert len(first) == len(second) == MAX_NAME_LENGTH
    assert first != second
    assert first == evi_tool_name("warehouse", "inventory_" + "x" * 80 + "_by_sku")


async def run(tool: RegisteredTool, arguments: dict[str, Any]) -> Outcome:
    registry = Registry()
    registry.add(tool)
    call = ToolCallMessage(
        name=tool.name,
        parameters=json.dumps(arguments),
        response_required=True,
        tool_call_id="call-1",
        tool_type=ToolType.FUNCTION,
    )

    def context(registered: RegisteredTool) -> ToolContext:
        return ToolContext(
            chat_id="chat-1",
            chat_group_id="group-1",
            tool_call_id="call-1",
            tool_name=registered.name,
            deadline=time.time() + 2,
            _sender=_no_send,
        )

    return await execute(registry, call, context, time.time() + 2)


async def _no_send(message: object) -> None:
    raise AssertionError("an MCP tool sends nothing to the chat")


async def test_a_result_is_the_tool_response_and_is_error_the_tool_error() -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = []

    async def caller(server: str, tool: str, arguments: dict[str, Any], deadline: float) -> CallToolResult:
        calls.append((server, tool, arguments))
        failing = arguments["city"] == "Atlantis"
        return CallToolResult(content=[TextContent(text=f"{arguments['city']}: ok")], is_error=failing)

    tool = build_tool("weather", FORECAST, 4.0, caller)
    assert (tool.name, tool.description, tool.timeout, tool.origin) == (
        "weather_get_forecast",
        "Tomorrow's forecast.",
        4.0,
        "MCP server weather, tool get_forecast",
    )
    answered = await run(tool, {"city": "Paris"})
    assert (answered.status, answered.message.content) == ("answered", "Paris: ok")
    failed = await run(tool, {"city": "Atlantis"})
    assert (failed.status, failed.code, failed.message.content) == ("failed", "tool_error", "Atlantis: ok")
    invalid = await run(tool, {})
    assert invalid.code == "invalid_arguments"
    assert calls == [("weather", "get_forecast", {"city": "Paris"}), ("weather", "get_forecast", {"city": "Atlantis"})]


async def test_a_server_that_cannot_be_reached_answers_the_fallback() -> None:
    async def caller(server: str, tool: str, arguments: dict[str, Any], deadline: float) -> CallToolResult:
        raise McpUnavailable("MCP server weather (http://127.0.0.1:1/mcp): it cannot be reached")

    outcome = await run(build_tool("weather", FORECAST, 4.0, caller), {"city": "Paris"})
    assert (outcome.status, outcome.code) == ("failed", "tool_failed")
    assert (
        outcome.message.content
        == "The weather service is not available right now. Tell the user you cannot do this at the moment."
    )
