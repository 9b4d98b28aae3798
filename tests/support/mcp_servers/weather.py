"""The `weather` MCP server of the tests, made with the SDK's high-level `MCPServer`: a tool that answers
(`get_forecast`), one that fails (`get_alerts`), one that is slow (`get_radar`), one that adds a tool and says so
(`add_tool`, for `tools/list_changed`), and `pid` (to kill it mid-session).

`python weather.py` serves stdio; `python weather.py --http PORT` serves streamable HTTP on 127.0.0.1:PORT/mcp.
`python weather.py --legacy` serves stdio in the handshake era only, as every 1.x server does: clients use the
`initialize` handshake and get `notifications/tools/list_changed` without a `subscriptions/listen` stream.
"""

from __future__ import annotations

import asyncio
import os
import sys

import anyio
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.runner import serve_loop
from mcp.server.stdio import stdio_server
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

server = MCPServer("weather")


@server.tool()
def get_forecast(city: str) -> str:
    """Tomorrow's forecast for a city."""
    return f"Sunny in {city} tomorrow, 21 °C."


@server.tool()
def get_alerts(city: str) -> str:
    """Weather alerts for a city."""
    raise ToolError(f"The alert service has no station near {city}.")


@server.tool()
async def get_radar(city: str) -> str:
    """The rain radar for a city: slow."""
    await asyncio.sleep(60)
    return f"No rain near {city}."


@server.tool()
async def add_tool(name: str, ctx: Context) -> str:
    """Adds a tool called `name`, and tells the client its tools changed."""

    def added() -> str:
        return f"{name} ran."

    server.add_tool(added, name=name, description=f"Added at run time as {name}.")
    if ctx.request_context.protocol_version in MODERN_PROTOCOL_VERSIONS:
        await ctx.notify_tools_changed()
    else:
        await ctx.request_context.session.send_tool_list_changed()
    return f"added {name}"


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


async def serve_handshake_era_only() -> None:
    lowlevel = server._lowlevel_server
    options = lowlevel.create_initialization_options(NotificationOptions(tools_changed=True))
    async with stdio_server() as (read, write), lowlevel.lifespan(lowlevel) as state:
        await serve_loop(lowlevel, read, write, lifespan_state=state, init_options=options)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--http"]:
        server.run("streamable-http", port=int(sys.argv[2]))
    elif sys.argv[1:2] == ["--legacy"]:
        anyio.run(serve_handshake_era_only)
    else:
        server.run()
