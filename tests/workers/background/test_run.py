"""Background tools through the `evi` fixture: the ack at once, the run under its own timeout, its result told
after, and what a chat's end does to it."""

from __future__ import annotations

import asyncio
import time

from evi_toolhost import ToolContext, ToolError, ToolResult, tool
from evi_toolhost.testing import ToolKit
from service.evi.messages import AssistantInput, ContextType, SessionSettings
from service.queue import contract
from workers.tool_table import publish_tools

ACK = "Booking it; I'll tell you when it's done."


@tool(background=True, ack=ACK, timeout=5)
async def bg_book(seconds: float = 0.3) -> str:
    """Books, slowly; returns the sentence to say."""
    await asyncio.sleep(seconds)
    return "Your table is booked."


@tool(background=True, timeout=5)
def bg_book_sync(ctx: ToolContext) -> ToolResult:
    """Books in a thread; returns data, a variable and its own context."""
    time.sleep(0.2)
    return ToolResult(content={"reference": "B-9"}, variables={"booking_ref": "B-9"}, context="Booking B-9 is done.")


@tool(background=True, timeout=5, announce=False)
async def bg_quiet() -> str:
    """Notes something without saying it."""
    return "The caller's preferences are saved."


@tool(background=True, timeout=0.3, fallback="The booking system did not answer.")
async def bg_too_slow() -> str:
    """Runs past its own timeout."""
    await asyncio.sleep(5)
    return "never"


@tool(background=True, timeout=5)
async def bg_refused() -> str:
    """The downstream system says no."""
    raise ToolError("That day is fully booked.", code="fully_booked")


@tool(background=True, timeout=5)
async def bg_cancel_on_end(seconds: float = 2) -> str:
    """Long; cancelled when the chat ends (the default)."""
    await asyncio.sleep(seconds)
    return "done"


@tool(background=True, timeout=5, on_chat_end="finish")
async def bg_finish_on_end(seconds: float = 0.5) -> str:
    """Long; finishes when the chat ends."""
    await asyncio.sleep(seconds)
    return "done anyway"


async def test_the_ack_answers_at_once_and_the_result_is_told_after_as_settings_then_speech(evi: ToolKit) -> None:
    result = await evi.call("bg_book")
    assert (result.type, result.content) == ("tool_response", ACK)
    assert result.timeline[-1].at < 0.2, "the ack does not wait for the run"
    assert (result.record["status"], result.record["background_status"]) == ("answered", "running")
    told = await evi.background(result)
    settings, said = told.messages
    assert isinstance(settings, SessionSettings) and settings.context is not None
    assert settings.context.type == ContextType.TEMPORARY and "Your table is booked." in settings.context.text
    assert said == AssistantInput(text="Your table is booked.")
    assert told.timeline[0].at >= 0.3
    assert told.record["background_status"] == "answered"
    assert evi.redis.zscore(contract.BACKGROUND_RUNS, result.tool_call_id) is None


async def test_a_tool_result_s_variables_and_context_go_with_it_and_data_is_announced_plainly(evi: ToolKit) -> None:
    told = await evi.background(await evi.call("bg_book_sync"))
    settings, said = told.messages
    assert isinstance(settings, SessionSettings)
    assert settings.variables == {"booking_ref": "B-9"}
    assert settings.context is not None and settings.context.text == "Booking B-9 is done."
    assert said == AssistantInput(text="That's done now.")


async def test_announce_false_puts_the_result_in_the_session_only(evi: ToolKit) -> None:
    told = await evi.background(await evi.call("bg_quiet"))
    assert [m.type for m in told.messages] == ["session_settings"]
    assert told.said == []


async def test_a_failure_says_the_fallback_or_the_tool_error(evi: ToolKit) -> None:
    slow = await evi.background(await evi.call("bg_too_slow"))
    assert slow.said == ["The booking system did not answer."]
    assert (slow.record["background_status"], slow.record["background_error_code"]) == ("timeout", "timeout")
    refused = await evi.background(await evi.call("bg_refused"))
    assert refused.said == ["That day is fully booked."]
    assert refused.record["background_error_code"] == "fully_booked"


async def test_invalid_arguments_are_answered_and_nothing_runs(evi: ToolKit) -> None:
    result = await evi.call("bg_book", seconds="soon")
    assert (result.type, result.code) == ("tool_error", "invalid_arguments")
    assert "background_status" not in result.record
    assert evi.running() == []


async def test_a_chat_that_ends_first_is_told_nothing(evi: ToolKit) -> None:
    cancelled = await evi.call("bg_cancel_on_end")
    finished = await evi.call("bg_finish_on_end")
    assert len(await evi.wait_running(2)) == 2
    evi.chat_ended()
    cancelled_told = await evi.background(cancelled)
    finished_told = await evi.background(finished)
    assert cancelled_told.messages == [] and finished_told.messages == []
    assert cancelled_told.record["background_status"] == "cancelled"
    assert finished_told.record["background_status"] == "chat_ended"
    assert finished_told.record["background_answer_type"] == "tool_response"


def test_evi_waits_the_default_deadline_for_a_background_tool_not_its_long_timeout(evi: ToolKit) -> None:
    publish_tools(evi.redis, evi.registry, default_timeout_seconds=10)
    assert int(evi.redis.hget(contract.TOOL_TIMEOUTS, "bg_book") or 0) == 10_000
    result = evi.call_sync("bg_book", seconds=0)
    deadline_in = int(result.record["deadline_ms"]) / 1000 - result.started_at
    assert 9 < deadline_in <= 10
