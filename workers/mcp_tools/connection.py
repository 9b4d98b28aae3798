"""One MCP server's session on one event loop: connected on first use, kept open, made again when it drops.

The SDK's `Client` is an async context manager whose transport runs in task groups bound to the task that
entered it, and a transport failure cancels that task. So each connection is held open by a task of its own
(`_hold`), and calls from other tasks on the same loop use it. A call that finds the connection gone (the
server process died, the HTTP server restarted) is sent again on a new connection, at most `CALL_ATTEMPTS`
times and only while its deadline allows; MCP has no idempotency key, so a call cut off mid-flight may reach
the server twice.

Every connection lists the server's tools (`on_tools`), and lists them again whenever the server says they
changed (`notifications/tools/list_changed`; on 2026-07-28 connections that notification comes on a
`subscriptions/listen` stream, which is held open for it).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, TextIO

import anyio
from mcp import Client, MCPError, StdioServerParameters, stdio_client
from mcp.client import Transport
from mcp.client.session import IncomingMessage
from mcp_types import CONNECTION_CLOSED, CallToolResult, Implementation, Tool, ToolListChangedNotification
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from service.mcp_config import McpServerSpec

log = logging.getLogger("evi_toolhost.mcp")

CALL_ATTEMPTS = 3
MAX_TOOL_PAGES = 100
LISTEN_AGAIN_SECONDS = 1.0
CLOSE_TIMEOUT_SECONDS = 5.0
CLIENT_INFO = Implementation(name="evi-toolhost", version="1")
_CONNECTION_LOST = (anyio.ClosedResourceError, anyio.BrokenResourceError)

ToolsListener = Callable[[list[Tool]], None]


class McpUnavailable(Exception):
    """The server could not be reached, or dropped the connection every time; the message says why, in one line."""


class ServerConnection:
    def __init__(self, spec: McpServerSpec, timeout: float, on_tools: ToolsListener) -> None:
        """`timeout` bounds connecting (the handshake and the first `tools/list`); `on_tools` gets every listing."""
        self.spec = spec
        self.timeout = timeout
        self.label = f"MCP server {spec.name} ({spec.where})"
        self.tools: list[Tool] = []
        """The latest listing."""
        self._on_tools = on_tools
        self._client: Client | None = None
        self._attempt: asyncio.Future[Client] | None = None
        self._holder: asyncio.Task[None] | None = None
        self._dropped = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._closed = False

    async def connect(self) -> Client:
        """The open session, or a new one (one attempt, shared by everyone waiting); `McpUnavailable` if not."""
        if self._closed:
            raise McpUnavailable(f"{self.label}: closed")
        if self._client is not None:
            return self._client
        if self._attempt is None:
            self._attempt = asyncio.get_running_loop().create_future()
            self._attempt.add_done_callback(_mark_retrieved)
            self._holder = asyncio.create_task(self._hold(self._attempt), name=f"mcp-{self.spec.name}")
        return await asyncio.shield(self._attempt)

    async def call(self, tool: str, arguments: dict[str, Any], deadline: float) -> CallToolResult:
        for attempt in range(1, CALL_ATTEMPTS + 1):
            client = await self.connect()
            try:
                return await client.call_tool(tool, arguments)
            except MCPError as exc:
                if exc.code != CONNECTION_CLOSED:
                    raise
            except _CONNECTION_LOST:
                pass
            self._drop(client)
            log.warning("%s: connection lost calling %s (attempt %d of %d)", self.label, tool, attempt, CALL_ATTEMPTS)
            if time.time() >= deadline:
                break
        raise McpUnavailable(f"{self.label}: connection lost at each attempt to call {tool}")

    async def close(self) -> None:
        self._closed = True
        for task in list(self._background):
            task.cancel()
        holder = self._holder
        if holder is None or holder.done():
            return
        if self._client is not None:
            self._dropped.set()  # leave the session the polite way: the holder closes it
        else:
            holder.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(holder), CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            holder.cancel()
            log.warning("%s: did not close within %g s", self.label, CLOSE_TIMEOUT_SECONDS)

    # --- the task that holds the session ---------------------------------------------------------------

    async def _hold(self, ready: asyncio.Future[Client]) -> None:
        dropped = self._dropped = asyncio.Event()
        client: Client | None = None
        try:
            async with asyncio.timeout(self.timeout) as limit, self._new_client() as client:
                tools = await list_tools(client)
                limit.reschedule(None)
                self._client = client
                self._publish(tools)
                ready.set_result(client)
                async with anyio.create_task_group() as group:
                    if _tools_change_on_a_listen_stream(client):
                        group.start_soon(self._listen, client)
                    await dropped.wait()
                    group.cancel_scope.cancel()
        except Exception as exc:
            reason = failure_reason(exc, self.timeout)
            if not ready.done():
                ready.set_exception(McpUnavailable(f"{self.label}: {reason}"))
            elif not self._closed:
                log.warning("%s: the connection dropped (%s); the next call connects again", self.label, reason)
        finally:
            if not ready.done():
                ready.set_exception(McpUnavailable(f"{self.label}: closed while connecting"))
            if client is not None and self._client is client:
                self._client = None
            if self._attempt is ready:
                self._attempt = None

    def _new_client(self) -> Client:
        spec = self.spec
        server: str | Transport
        if spec.url is not None:
            server = spec.url
        else:
            parameters = StdioServerParameters(command=spec.command[0], args=list(spec.command[1:]))
            server = stdio_client(parameters, errlog=_stderr_for_servers())
        return Client(server, message_handler=self._on_message, client_info=CLIENT_INFO, cache=None)

    def _drop(self, client: Client) -> None:
        if self._client is client:
            self._client = None
            self._attempt = None
            self._dropped.set()

    async def _listen(self, client: Client) -> None:
        again = False
        while True:
            try:
                async with client.listen(tools_list_changed=True) as subscription:
                    if again:  # events are not replayed: what changed while no stream was open is listed now
                        await self._list_again()
                    async for _event in subscription:
                        pass  # the same notification reaches _on_message, which lists the tools again
            except Exception as exc:
                log.debug("%s: the tools/list_changed subscription ended (%s)", self.label, failure_reason(exc, 0))
            again = True
            await asyncio.sleep(LISTEN_AGAIN_SECONDS)

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, ToolListChangedNotification):
            self._spawn(self._list_again())
        elif isinstance(message, Exception):
            log.debug("%s: transport error: %s", self.label, failure_reason(message, 0))

    async def _list_again(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            tools = await asyncio.wait_for(list_tools(client), self.timeout)
        except Exception as exc:
            reason = failure_reason(exc, self.timeout)
            log.warning("%s: its tools changed but cannot be listed (%s)", self.label, reason)
            return
        if [tool.model_dump() for tool in tools] != [tool.model_dump() for tool in self.tools]:
            log.info("%s: its tools changed; now %s", self.label, ", ".join(tool.name for tool in tools) or "none")
            self._publish(tools)

    def _publish(self, tools: list[Tool]) -> None:
        self.tools = tools
        try:
            self._on_tools(tools)
        except Exception:
            log.exception("%s: its tools could not be registered", self.label)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _stderr_for_servers() -> TextIO:
    """Where a stdio server's own stderr goes: ours, its logs being the operator's; the process's original one
    when ours is no file (captured, as under pytest)."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__ or sys.stderr
    return sys.stderr


def _mark_retrieved(attempt: asyncio.Future[Client]) -> None:
    """A failed attempt whose waiters all gave up is no "exception never retrieved" at exit."""
    if not attempt.cancelled():
        attempt.exception()


async def list_tools(client: Client) -> list[Tool]:
    tools: list[Tool] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            return tools
    raise McpUnavailable(f"tools/list went on for more than {MAX_TOOL_PAGES} pages")


def _tools_change_on_a_listen_stream(client: Client) -> bool:
    tools = client.server_capabilities.tools
    return client.protocol_version in MODERN_PROTOCOL_VERSIONS and tools is not None and bool(tools.list_changed)


def failure_reason(exc: BaseException, timeout: float) -> str:
    """What went wrong, in a few words on one line (the innermost cause of an exception group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return f"it did not answer within {timeout:g} s"
    if isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED:
        return "it closed the connection"
    if isinstance(exc, FileNotFoundError):
        return f"its command cannot be started ({exc.strerror}: {exc.filename})"
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    if "connect" in name.lower():
        return f"it cannot be reached ({text or name})"
    return f"{name}: {text}" if text else name
