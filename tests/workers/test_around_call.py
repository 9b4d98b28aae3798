"""Around a running call, through the `evi` fixture: a chat's end and the caller's interruption stop it (or not)
by its tool's policy, and what goes out before its answer."""

from __future__ import annotations

import asyncio
import threading

from evi_toolhost import ToolResult, tool
from evi_toolhost.testing import ToolKit
from service.queue import contract

cancelled: set[str] = set()
finished: set[str] = set()
started = threading.Event()


@tool(timeout=5)
async def around_cancel(key: str) -> str:
    """Runs 5 s unless stopped; notes being cancelled."""
    try:
        await asyncio.sleep(5)
    except asyncio.CancelledError:
        cancelled.add(key)
        raise
    return "late"


@tool(timeout=5, on_chat_end="finish")
async def around_finish(key: str) -> str:
    """A side effect that must complete."""
    await asyncio.sleep(0.3)
    finished.add(key)
    return "paid"


@tool(timeout=5, cancel_on_interrupt=True, say_on_start="Searching.", say_if_slow="Still searching.", slow_after=2)
async def around_search(key: str) -> str:
    """A long search the caller may redirect."""
    try:
        await asyncio.sleep(5)
    except asyncio.CancelledError:
        cancelled.add(key)
        raise
    return "found"


@tool(timeout=5, say_on_start="Let me note that.")
def around_note() -> ToolResult:
    """Sets a variable with its answer."""
    return ToolResult(content="Noted.", variables={"noted": True})


async def test_chat_end_cancels_the_handler_and_nothing_is_sent(evi: ToolKit) -> None:
    call = asyncio.create_task(evi.call("around_cancel", key="end-1"))
    await evi.wait_running()
    evi.chat_ended()
    result = await asyncio.wait_for(call, 1)
    assert result.answer is None and result.messages == []
    assert "end-1" in cancelled
    assert (result.record["status"], result.record["cancel_reason"]) == ("cancelled", "chat_ended")
    assert evi.redis.zscore(contract.DEADLINES, result.tool_call_id) is None, "no timeout answer will follow"


async def test_finish_completes_the_handler_and_records_what_it_would_have_sent(evi: ToolKit) -> None:
    call = asyncio.create_task(evi.call("around_finish", key="end-2"))
    await evi.wait_running()
    evi.chat_ended()
    result = await call
    assert "end-2" in finished
    assert result.messages == []
    assert (result.record["status"], result.record["answer_type"], result.record["on_chat_end"]) == (
        "chat_ended",
        "tool_response",
        "finish",
    )


def test_a_call_of_a_chat_that_had_ended_is_not_run(evi: ToolKit) -> None:
    evi.chat_id = "ended-before"
    evi.chat_ended()
    result = evi.call_sync("around_cancel", key="end-3")
    assert "end-3" not in cancelled and result.messages == []
    assert (result.record["status"], result.record["ran"]) == ("cancelled", "0")


async def test_an_interruption_cancels_a_tool_that_asks_for_it_with_a_cancelled_answer(evi: ToolKit) -> None:
    call = asyncio.create_task(evi.call("around_search", key="int-1"))
    await evi.wait_running()
    assert evi.interrupt() == 1
    result = await asyncio.wait_for(call, 1)
    assert (result.type, result.code) == ("tool_error", "cancelled")
    assert result.said == ["Searching."], "no slow phrase after the answer"
    assert "int-1" in cancelled
    assert (result.record["status"], result.record["cancel_reason"]) == ("cancelled", "user_interruption")


async def test_an_interruption_leaves_other_tools_running(evi: ToolKit) -> None:
    call = asyncio.create_task(evi.call("around_finish", key="int-2"))
    await evi.wait_running()
    assert evi.interrupt() == 0
    assert (await call).content == "paid"


def test_the_start_phrase_then_the_session_settings_then_the_answer(evi: ToolKit) -> None:
    result = evi.call_sync("around_note")
    assert [m.type for m in result.messages] == ["assistant_input", "session_settings", "tool_response"]
    assert result.record["session_settings"] == "1"
