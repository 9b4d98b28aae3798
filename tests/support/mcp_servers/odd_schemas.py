"""An MCP server of the tests whose tools' input schemas are not all fit for Hume, made with the SDK's low-level
`Server` (the high-level one only makes good schemas): `echo` is fine; `fetch_remote` refers to a remote schema,
`shout` requires an argument it does not describe, and `whisper` is not JSON Schema at all. Served over stdio."""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp_types import CallToolRequestParams, CallToolResult, ListToolsResult, PaginatedRequestParams, TextContent, Tool

TOOLS = [
    Tool(
        name="echo",
        description="Says the text back.",
        input_schema={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    ),
    Tool(name="fetch_remote", input_schema={"type": "object", "properties": {"x": {"$ref": "https://x.test/s"}}}),
    Tool(name="shout", input_schema={"type": "object", "properties": {}, "required": ["text"]}),
    Tool(name="whisper", input_schema={"type": "object", "properties": {"text": {"type": "strin"}}}),
]


async def list_tools(ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None) -> ListToolsResult:
    return ListToolsResult(tools=TOOLS)


async def call_tool(ctx: ServerRequestContext[Any], params: CallToolRequestParams) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=str((params.arguments or {}).get("text")))])


async def main() -> None:
    server = Server("odd", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
