"""An MCP server's tool as an EVI tool (a `RegisteredTool`): its name `SERVER_TOOL` made what Hume accepts, its
description, its schema made fit for Hume, a timeout and a fallback, and a function that calls it.

The function goes through the same execution as any tool (deadline, argument check, outcome → answer): it
returns the result's text (`tool_response`) or raises `ToolError` with it when the server says `isError`
(`tool_error`); a server that cannot be reached raises, which answers `tool_failed` with the fallback.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from mcp_types import CallToolResult, Tool

from workers.handlers.context import ToolContext
from workers.handlers.errors import ToolError
from workers.handlers.registry import RegisteredTool
from workers.mcp_tools.results import result_text
from workers.mcp_tools.schema import JsonSchemaArguments, normalise_input_schema

ToolCaller = Callable[[str, str, dict[str, Any], float], Awaitable[CallToolResult]]
"""(server, MCP tool name, arguments, deadline in epoch seconds) → the server's result."""

_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_-]")
MAX_NAME_LENGTH = 64
"""Hume's limit, as our own tools' names keep it (`workers.handlers.registry`)."""


def evi_tool_name(server: str, tool: str) -> str:
    """`SERVER_TOOL`, each character Hume does not take as `_`; past 64 characters, cut and made unique by a hash
    of the full name (the same every time, so `tools sync` keeps finding it)."""
    name = _NOT_IN_NAMES.sub("_", f"{server}_{tool}")
    if len(name) <= MAX_NAME_LENGTH:
        return name
    digest = hashlib.sha256(f"{server}/{tool}".encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME_LENGTH - 9]}_{digest}"


def fallback_for(server: str) -> str:
    return f"The {server} service is not available right now. Tell the user you cannot do this at the moment."


def source_of(server: str, tool: str) -> str:
    return f"MCP server {server}, tool {tool}"


def build_tool(server: str, tool: Tool, timeout: float, caller: ToolCaller) -> RegisteredTool:
    """Raises `UnfitSchema` when the tool's input schema cannot be made fit for Hume."""
    schema = normalise_input_schema(tool.input_schema)
    name = evi_tool_name(server, tool.name)
    mcp_name = tool.name

    async def call_mcp_tool(arguments: dict[str, Any], ctx: ToolContext) -> str:
        result = await caller(server, mcp_name, arguments, ctx.deadline)
        text = result_text(result)
        if result.is_error:
            raise ToolError(text)
        return text

    call_mcp_tool.__qualname__ = call_mcp_tool.__name__ = name
    return RegisteredTool(
        name=name,
        func=call_mcp_tool,
        description=tool.description or tool.title or None,
        fallback=fallback_for(server),
        timeout=timeout,
        arguments=JsonSchemaArguments(schema),
        source=source_of(server, tool.name),
    )
