"""The registered tools as an MCP server (the SDK's low-level `Server`, which takes our schemas as they are).

Each tool is listed with the description and the schema `tools sync` sends Hume, and each call runs through the
execution every tool call takes (arguments checked, the tool's deadline, its outcome mapped to one answer):
`tool_response` becomes the result's text, `tool_error` (a `ToolError`, invalid arguments, a failure's fallback,
a timeout) a result with `isError` and that text. An unknown tool is a protocol error, as MCP asks.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from mcp import MCPError
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp_types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
)

from evi_toolhost.mcp_server.context import off_chat_context
from service.evi.messages import ToolCallMessage, ToolResponseMessage, ToolType
from workers.handlers.execution import execute
from workers.handlers.registry import RegisteredTool, Registry

SERVER_NAME = "evi-toolhost"
log = logging.getLogger("evi_toolhost.mcp_server")


def listed(tool: RegisteredTool) -> Tool:
    return Tool(name=tool.name, description=tool.description, input_schema=tool.parameters_schema())


def build_server(registry: Registry, default_timeout: float) -> Server[Any]:
    """`default_timeout`: the deadline of a tool whose `@tool(timeout=...)` does not say (`TOOL_TIMEOUT_SECONDS`)."""

    async def list_tools(ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None) -> ListToolsResult:
        return ListToolsResult(tools=[listed(tool) for tool in registry.tools()])

    async def call_tool(ctx: ServerRequestContext[Any], params: CallToolRequestParams) -> CallToolResult:
        tool = registry.get(params.name)
        if tool is None:
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name}; the tools are {', '.join(registry.names())}")
        deadline = time.time() + (tool.timeout if tool.timeout is not None else default_timeout)
        call = ToolCallMessage(
            name=tool.name,
            parameters=json.dumps(params.arguments or {}),
            response_required=True,
            tool_call_id=f"mcp-{uuid.uuid4().hex}",
            tool_type=ToolType.FUNCTION,
        )
        outcome = await execute(
            registry, call, lambda found: off_chat_context(found, call.tool_call_id, deadline), deadline
        )
        answer = outcome.message
        if outcome.preface is not None:
            log.warning("tool %s: its ToolResult's variables and context are dropped over MCP: no session", tool.name)
        if isinstance(answer, ToolResponseMessage):
            return CallToolResult(content=[TextContent(text=answer.content)])
        return CallToolResult(content=[TextContent(text=answer.content or answer.error)], is_error=True)

    return Server(SERVER_NAME, on_list_tools=list_tools, on_call_tool=call_tool)
