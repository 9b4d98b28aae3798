"""The MCP hub of this process, and how an MCP tool's call reaches it from whichever loop the call runs on.

MCP sessions are asyncio objects bound to one loop. In a worker process that is the runtime's loop (the one that
holds delivery and the HTTP pool, `workers.runtime`), not the per-job loops handlers run on: `start_sessions`
puts the hub there when the runtime is made, and `call_tool` hands each call over to it, as `Runtime.call` does.
After a fork the child has no hub until its own runtime installs one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
from typing import TYPE_CHECKING, Any

from mcp_types import CallToolResult

from workers.mcp_tools.connection import McpUnavailable
from workers.mcp_tools.hub import McpHub
from workers.tool_table import publish_tools

if TYPE_CHECKING:
    from workers.runtime import Runtime

log = logging.getLogger("evi_toolhost.mcp")

_installed: tuple[int, McpHub, asyncio.AbstractEventLoop] | None = None


def install(hub: McpHub, loop: asyncio.AbstractEventLoop) -> None:
    """Make `hub`, whose sessions live on `loop`, the one this process's MCP tools call."""
    global _installed
    _installed = (os.getpid(), hub, loop)


def uninstall(hub: McpHub) -> None:
    global _installed
    if _installed is not None and _installed[1] is hub:
        _installed = None


async def call_tool(server: str, tool: str, arguments: dict[str, Any], deadline: float) -> CallToolResult:
    """What every MCP tool's function calls: the installed hub's session for `server`, on the hub's loop."""
    installed = _installed
    if installed is None or installed[0] != os.getpid():
        raise McpUnavailable(f"no MCP session in this process for MCP server {server}")
    _, hub, loop = installed
    coro = hub.call(server, tool, arguments, deadline)
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


def start_sessions(runtime: Runtime) -> None:
    """In a worker process: connect to every MCP server from the runtime's loop, in the background (a call that
    comes first waits for its server's connection), re-publish the tool table when a server's tools change, and
    close the sessions (ending stdio servers) when the runtime closes."""
    settings = runtime.settings

    def publish() -> None:
        runtime.loop.run_in_executor(
            None, publish_tools, runtime.redis, runtime.registry, settings.tool_timeout_seconds
        ).add_done_callback(_log_failure)

    hub = McpHub(settings.mcp_servers, settings.mcp_timeout, runtime.registry, call_tool, on_change=publish)
    install(hub, runtime.loop)
    started = asyncio.run_coroutine_threadsafe(hub.start(strict=False), runtime.loop)
    started.add_done_callback(_log_lines)

    async def close() -> None:
        uninstall(hub)
        await hub.close()

    runtime.on_close.append(close)


def _log_lines(started: concurrent.futures.Future[list[str]]) -> None:
    if started.cancelled():
        return
    if started.exception() is not None:
        log.error("MCP servers could not be started: %s", started.exception())
        return
    for line in started.result():
        log.warning(line)


def _log_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("the tool table was not re-published after MCP tools changed: %s", done.exception())
