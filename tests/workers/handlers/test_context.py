"""`ToolContext`: what a handler learns and can do beside its arguments."""

from __future__ import annotations

import asyncio
import time
import uuid

from service.evi.messages import AssistantInput, PublishMessage
from workers.handlers.context import ToolContext


def context(tool_call_id: str, sent: list[PublishMessage] | None = None) -> ToolContext:
    async def send(message: PublishMessage) -> None:
        (sent if sent is not None else []).append(message)

    return ToolContext(
        chat_id="chat-1",
        chat_group_id="group-1",
        tool_call_id=tool_call_id,
        tool_name="pay",
        deadline=time.time() + 5,
        custom_session_id="session-1",
        _sender=send,
    )


def test_the_idempotency_key_is_one_uuid_per_tool_call_whoever_computes_it() -> None:
    first, again, other = context("toolu_1"), context("toolu_1"), context("toolu_2")
    assert first.idempotency_key == again.idempotency_key != other.idempotency_key
    assert uuid.UUID(first.idempotency_key).version == 5
    assert first.idempotency_key == "9847329a-a0d1-527f-bdc6-2d70dc358fcc"  # fixed forever: keys outlive releases


def test_say_is_an_assistant_input_for_the_session() -> None:
    sent: list[PublishMessage] = []
    asyncio.run(context("toolu_1", sent).say("One moment."))
    assert sent == [AssistantInput(text="One moment.", custom_session_id="session-1")]


def test_history_without_a_reader_is_empty() -> None:
    assert asyncio.run(context("toolu_1").history()) == []
