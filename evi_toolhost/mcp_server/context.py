"""The `ToolContext` of a tool called over MCP, where there is no chat, and what each live-chat feature does there.

| feature | over MCP |
|---|---|
| `ctx.send(...)`, `ctx.say(...)` (and their `_sync` forms) | sends nothing; logs a warning naming the tool |
| `ctx.transcript()`, `ctx.history()` | returns `[]`; logs a warning |
| `@tool(say_on_start=..., say_if_slow=...)` | nothing is said (no chat to say it to) |
| `@tool(background=True)` | no ack: the call runs to its end within its `timeout` and returns its result |
| a returned `ToolResult` | its `content` is the result; `variables` and `context` dropped with a warning |

Everything else (`chat_id`, `tool_call_id`, `idempotency_key`, `deadline`, `remaining()`) has a value: `chat_id`
and `chat_group_id` are `NO_CHAT_ID`. A feature that `ToolContext` gains and that needs a live chat gets its entry
here, as one function passed to `off_chat_context`: a no-op with a warning when a tool can still do its job without
it (as for `send`), a `ToolError` when it cannot.
"""

from __future__ import annotations

import asyncio
import logging

from service.evi.messages import PublishMessage
from workers.handlers.context import ToolContext
from workers.handlers.registry import RegisteredTool
from workers.transcripts import TranscriptLine

log = logging.getLogger("evi_toolhost.mcp_server")

NO_CHAT_ID = "mcp"


def off_chat_context(tool: RegisteredTool, tool_call_id: str, deadline: float) -> ToolContext:
    async def send(message: PublishMessage) -> None:
        log.warning(
            "tool %s: ctx.send(%s) sends nothing over MCP: there is no live chat to send it to", tool.name, message.type
        )

    async def transcript() -> list[TranscriptLine]:
        log.warning("tool %s: ctx.transcript() is empty over MCP: there is no live chat", tool.name)
        return []

    async def history() -> list[TranscriptLine]:
        log.warning("tool %s: ctx.history() is empty over MCP: there is no chat group", tool.name)
        return []

    return ToolContext(
        chat_id=NO_CHAT_ID,
        chat_group_id=NO_CHAT_ID,
        tool_call_id=tool_call_id,
        tool_name=tool.name,
        deadline=deadline,
        _sender=send,
        _transcript=transcript,
        _history=history,
        _loop=asyncio.get_running_loop(),
    )
