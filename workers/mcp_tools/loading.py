"""At start (`worker`, `tools sync`, `config attach`, `mcp`): list the tools of every server in `MCP_SERVERS` once,
register them, and say in one line each which servers gave none or left some out. The sessions used for this are
closed before returning, so nothing of them crosses the worker pool's fork.

Importable without the MCP SDK: it says what to install instead.
"""

from __future__ import annotations

import asyncio
import importlib.util

from service.settings import Settings
from workers.handlers.registry import Registry

SDK_MISSING = "MCP_SERVERS is set, but the MCP SDK is not installed: pip install 'evi-toolhost[mcp]'"


class McpSetupError(Exception):
    """MCP tools cannot be served at all (no SDK, clashing names); the message is one line."""


def sdk_installed() -> bool:
    return importlib.util.find_spec("mcp") is not None


def load_mcp_tools(settings: Settings, registry: Registry) -> list[str]:
    """Register the tools of `settings.mcp_servers` in `registry`; one line per server that was left out in part
    or whole (these do not stop the others). Raises `McpSetupError`."""
    if not settings.mcp_servers:
        return []
    if not sdk_installed():
        raise McpSetupError(SDK_MISSING)
    from workers.mcp_tools.hub import McpHub, McpToolClash
    from workers.mcp_tools.process import call_tool

    async def list_once() -> list[str]:
        hub = McpHub(settings.mcp_servers, settings.mcp_timeout, registry, call_tool)
        try:
            return await hub.start()
        finally:
            await hub.close()

    try:
        return asyncio.run(list_once())
    except McpToolClash as exc:
        raise McpSetupError(f"MCP tools clash with other tools: {exc}; rename a server in MCP_SERVERS") from None
