"""Every server of `MCP_SERVERS`, connected from one event loop, and their tools kept in a registry.

Each listing of a server (at connection, after `tools/list_changed`) replaces that server's tools in the
registry: new ones are added, gone ones removed. A tool whose schema Hume cannot take is left out, and said so;
a tool whose name another tool has is a clash: an error at start (`start` raises `McpToolClash`), logged and
left out later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from mcp_types import CallToolResult, Tool

from service.mcp_config import McpServerSpec
from workers.handlers.registry import RegisteredTool, Registry
from workers.mcp_tools.connection import McpUnavailable, ServerConnection
from workers.mcp_tools.schema import UnfitSchema
from workers.mcp_tools.tools import ToolCaller, build_tool

log = logging.getLogger("evi_toolhost.mcp")


class McpToolClash(ValueError):
    """Two tools would have the same name; the message names both, one clash a line."""


class McpHub:
    def __init__(
        self,
        servers: Sequence[McpServerSpec],
        timeout_of: Callable[[str], float],
        registry: Registry,
        caller: ToolCaller,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        """`caller` is what the registered tools call (`workers.mcp_tools.process.call_tool`, which finds the hub
        of the process they run in); `on_change` runs after each change to the registry."""
        self.registry = registry
        self._timeout_of = timeout_of
        self._caller = caller
        self._on_change = on_change
        self._connections = {
            spec.name: ServerConnection(spec, timeout_of(spec.name), self._listener(spec.name)) for spec in servers
        }
        self._registered: dict[str, set[str]] = {name: set() for name in self._connections}
        self._left_out: dict[str, list[str]] = {}
        self._clashes: dict[str, list[str]] = {}
        self._started = False
        """Until `start` returns, what a listing leaves out is in its lines, not the log."""

    async def start(self, *, strict: bool = True) -> list[str]:
        """Connect to every server at once. Returns one line for each server that gave no tools or left some out
        (unreachable, too slow, schemas Hume cannot take); with `strict`, raises `McpToolClash` for clashes."""
        connections = list(self._connections.values())
        results = await asyncio.gather(*(c.connect() for c in connections), return_exceptions=True)
        lines: list[str] = []
        for connection, result in zip(connections, results, strict=True):
            if isinstance(result, McpUnavailable):
                lines.append(f"{result}; its tools are left out")
            elif isinstance(result, BaseException):
                raise result
            elif self._left_out.get(connection.spec.name):
                kept = len(self._registered[connection.spec.name])
                skipped = "; ".join(self._left_out[connection.spec.name])
                lines.append(f"{connection.label}: left out {skipped}; {kept} of its tools registered")
        clashes = [line for lines_ in self._clashes.values() for line in lines_]
        if strict and clashes:
            raise McpToolClash("; ".join(clashes))
        lines += clashes
        self._started = True
        return lines

    async def call(self, server: str, tool: str, arguments: dict[str, Any], deadline: float) -> CallToolResult:
        connection = self._connections.get(server)
        if connection is None:
            raise McpUnavailable(f"no MCP server named {server} in MCP_SERVERS")
        return await connection.call(tool, arguments, deadline)

    async def close(self) -> None:
        await asyncio.gather(*(connection.close() for connection in self._connections.values()))

    def _listener(self, server: str) -> Callable[[list[Tool]], None]:
        return lambda tools: self._replace_tools(server, tools)

    def _replace_tools(self, server: str, tools: list[Tool]) -> None:
        built: dict[str, RegisteredTool] = {}
        left_out: list[str] = []
        clashes: list[str] = []
        for tool in tools:
            try:
                registered = build_tool(server, tool, self._timeout_of(server), self._caller)
            except UnfitSchema as exc:
                left_out.append(f"tool {tool.name}: {exc}")
                continue
            same_name = built.get(registered.name)
            if same_name is not None:
                clashes.append(f"{registered.origin} and {same_name.origin} are both named {registered.name}")
                continue
            built[registered.name] = registered
        for gone in self._registered[server] - set(built):
            self.registry.remove(gone)
        added: set[str] = set()
        for registered in built.values():
            try:
                self.registry.add(registered)
            except ValueError as exc:
                clashes.append(str(exc))
            else:
                added.add(registered.name)
        self._registered[server], self._left_out[server], self._clashes[server] = added, left_out, clashes
        if self._started:
            for line in left_out + clashes:
                log.warning("MCP server %s: %s", server, line)
        if self._on_change is not None:
            self._on_change()
