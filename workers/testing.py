"""Test your tools as EVI would call them, without Redis, a worker or Hume.

    from workers.testing import call_tool

    async def test_weather() -> None:
        answer = await call_tool("get_weather", {"city": "Paris"})
        assert answer.type == "tool_response"

`call_tool` runs the same lookup, validation, deadline and answer mapping as the worker's job, and returns
the `tool_response` or `tool_error` the worker would send. Everything the chat would receive (what the
tool sends itself with `ctx.send(...)`, then the answer) is recorded, in order, by the
`RecordingControlPlane` you pass.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from service.evi.control_plane import RecordingControlPlane
from service.evi.messages import PublishMessage, ToolCallMessage, ToolErrorMessage, ToolResponseMessage, ToolType
from workers.handlers.context import ToolContext
from workers.handlers.execution import execute
from workers.handlers.registry import RegisteredTool, Registry, default_registry

DEFAULT_TIMEOUT_SECONDS = 10.0


async def call_tool(
    name: str,
    arguments: dict[str, Any] | str,
    *,
    registry: Registry | None = None,
    control_plane: RecordingControlPlane | None = None,
    timeout: float | None = None,
    chat_id: str = "test-chat",
    chat_group_id: str = "test-chat-group",
    tool_call_id: str | None = None,
    custom_session_id: str | None = None,
    caller_number: str | None = None,
    config_id: str | None = None,
) -> ToolResponseMessage | ToolErrorMessage:
    """The answer the worker would send for this call. `arguments` may also be the raw JSON string.

    `timeout` overrides the tool's own (default: the tool's, else 10 s).
    """
    registry = registry if registry is not None else default_registry
    recorder = control_plane if control_plane is not None else RecordingControlPlane()
    call = ToolCallMessage(
        name=name,
        parameters=arguments if isinstance(arguments, str) else json.dumps(arguments),
        response_required=True,
        tool_call_id=tool_call_id or f"test-{uuid.uuid4().hex[:12]}",
        tool_type=ToolType.FUNCTION,
        custom_session_id=custom_session_id,
    )
    tool = registry.get(name)
    budget = timeout if timeout is not None else (tool.timeout if tool and tool.timeout else DEFAULT_TIMEOUT_SECONDS)
    deadline = time.time() + budget
    loop = asyncio.get_running_loop()

    async def send(message: PublishMessage) -> None:
        await recorder.send(chat_id, message, deadline=deadline)

    def context(found: RegisteredTool) -> ToolContext:
        return ToolContext(
            chat_id=chat_id,
            chat_group_id=chat_group_id,
            tool_call_id=call.tool_call_id,
            tool_name=found.name,
            deadline=deadline,
            custom_session_id=custom_session_id,
            caller_number=caller_number,
            config_id=config_id,
            _sender=send,
            _loop=loop,
        )

    outcome = await execute(registry, call, context, deadline)
    await recorder.send(chat_id, outcome.message, deadline=deadline)
    return outcome.message
