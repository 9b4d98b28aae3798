"""The test kit users get (`evi_toolhost.testing`, the `evi` fixture): the worker's own job code, in memory."""

from __future__ import annotations

import asyncio
import time

import pytest

from evi_toolhost import AssistantInput, ChatContext, ToolContext, TranscriptLine, on_chat_ended, tool
from evi_toolhost.testing import ToolKit, call_tool
from service.evi.webhooks import WebhookEventChatEnded
from workers.handlers.registry import Registry

ended: list[tuple[str, list[str]]] = []


@tool(timeout=5)
async def kit_says_then_answers(ctx: ToolContext) -> str:
    """Says one moment, then answers."""
    await ctx.send(AssistantInput(text="One moment."))
    return "done"


@tool
def kit_echo(name: str, ctx: ToolContext) -> dict[str, object]:
    """Echoes its argument (called `name`, like the kit's own first parameter) and what it knows of the chat."""
    return {"name": name, "chat": ctx.chat_id, "caller": ctx.caller_number, "session": ctx.custom_session_id}


@tool
async def kit_last_words(ctx: ToolContext) -> str:
    """What the caller said last."""
    said = [line.text for line in await ctx.transcript() if line.role == "user"]
    return said[-1] if said else "(nothing)"


@on_chat_ended
def kit_keep_transcript(event: WebhookEventChatEnded, ctx: ChatContext, transcript: list[TranscriptLine]) -> None:
    ended.append((event.chat_id, [line.text for line in transcript]))


async def test_send_then_return_gives_both_messages_in_order_and_the_workers_record(evi: ToolKit) -> None:
    result = await evi.call("kit_says_then_answers")
    assert [message.type for message in result.messages] == ["assistant_input", "tool_response"]
    assert (result.type, result.content) == ("tool_response", "done")
    record = result.record
    assert {key: record[key] for key in ("name", "chat_id", "status", "answer_type", "transport", "ran")} == {
        "name": "kit_says_then_answers",
        "chat_id": evi.chat_id,
        "status": "answered",
        "answer_type": "tool_response",
        "transport": "http",
        "ran": "1",
    }
    assert int(record["received_ms"]) <= int(record["started_ms"]) <= int(record["answered_ms"])


def test_a_plain_test_uses_the_sync_form_and_a_tool_may_take_a_parameter_called_name(evi: ToolKit) -> None:
    evi.chat_id, evi.caller_number, evi.custom_session_id = "chat-9", "+15550123", "session-9"
    result = evi.call_sync("kit_echo", name="Ada")
    assert result.content == '{"name":"Ada","chat":"chat-9","caller":"+15550123","session":"session-9"}'
    assert result.answer is not None and result.answer.custom_session_id == "session-9"


def test_the_handler_reads_the_transcript_the_test_set(evi: ToolKit) -> None:
    evi.set_transcript([("user", "A table for two."), ("assistant", "When?"), ("user", "At eight.")])
    assert evi.call_sync("kit_last_words").content == "At eight."


def test_chat_ended_hands_the_hooks_the_transcript(evi: ToolKit) -> None:
    evi.chat_id = "chat-ended-1"
    record = evi.chat_ended([("user", "Bye."), ("assistant", "Goodbye!")])
    assert ("chat-ended-1", ["Bye.", "Goodbye!"]) in ended
    assert (record["status"], record["transcript_lines"]) == ("ended", "2")


def test_errors_come_back_as_evi_would_get_them(evi: ToolKit) -> None:
    unknown = evi.call_sync("no_such_tool")
    assert unknown.code == "unknown_tool" and "kit_echo" in (unknown.content or "")
    assert evi.call_sync("kit_echo").code == "invalid_arguments"


def test_a_timeout_can_be_shortened_for_a_test() -> None:
    registry = Registry()

    @registry.tool(timeout=30, fallback="Too slow.")
    def slow() -> str:
        time.sleep(2)
        return "late"

    with ToolKit(registry) as kit:
        result = kit.call_with("slow", {}, timeout=0.2)
    assert (result.code, result.content, result.record["status"]) == ("timeout", "Too slow.", "timeout")


def test_call_tool_is_one_kit_call() -> None:
    registry = Registry()

    @registry.tool
    def double(number: int) -> int:
        return number * 2

    answer = asyncio.run(call_tool("double", {"number": 21}, registry=registry))
    assert (answer.type, answer.content) == ("tool_response", "42")


@pytest.mark.parametrize("arguments", ['{"number": "x"}', "not json"])
def test_raw_argument_text_is_validated_as_the_worker_does(arguments: str) -> None:
    registry = Registry()

    @registry.tool
    def double(number: int) -> int:
        return number * 2

    with ToolKit(registry) as kit:
        assert kit.call_with("double", arguments).code == "invalid_arguments"


@pytest.mark.parametrize("depth", [1_000, 10_000])
def test_arguments_nested_absurdly_deep_are_invalid_arguments_not_a_dead_job(depth: int) -> None:
    registry = Registry()

    @registry.tool
    def take(value: dict[str, object]) -> str:
        return "took it"

    with ToolKit(registry) as kit:
        result = kit.call_with("take", '{"value": ' + "[" * depth + "]" * depth + "}")
    assert (result.code, result.record["status"]) == ("invalid_arguments", "failed")
