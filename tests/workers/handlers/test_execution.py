"""Answer mapping, deadlines and timeouts, through `workers.testing.call_tool` (the job's own code path)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from concurrent.futures import Future
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from service.evi.control_plane import RecordingControlPlane
from service.evi.messages import (
    AssistantInput,
    Context,
    ContextType,
    SessionSettings,
    ToolCallMessage,
    ToolErrorMessage,
    ToolResponseMessage,
)
from workers import ToolContext, ToolError, ToolResult
from workers.handlers.execution import CANCELLED_CONTENT, execute, execute_in_thread
from workers.handlers.registry import Registry
from workers.handlers.results import to_content
from workers.testing import ToolKit, call_tool


class Forecast(BaseModel):
    city: str
    high: int


def call(registry: Registry, name: str, arguments: dict[str, Any] | str, **kwargs: Any) -> Any:
    return asyncio.run(call_tool(name, arguments, registry=registry, **kwargs))


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("plain text", "plain text"),
        ({"a": 1, "b": [True, None]}, '{"a":1,"b":[true,null]}'),
        ([1, 2], "[1,2]"),
        (Forecast(city="Paris", high=21), '{"city":"Paris","high":21}'),
        (3.5, "3.5"),
        (7, "7"),
        (False, "false"),
        (None, "null"),
        (dt.date(2026, 1, 2), '"2026-01-02"'),
    ],
)
def test_return_values_become_text(value: Any, content: str) -> None:
    assert to_content(value) == content


def test_tool_response_carries_the_call_identity(registry: Registry) -> None:
    @registry.tool
    def get_weather(city: str) -> dict[str, str]:
        return {"city": city}

    answer = call(registry, "get_weather", {"city": "Paris"}, tool_call_id="call-1", custom_session_id="s-1")
    assert isinstance(answer, ToolResponseMessage)
    assert answer.model_dump(mode="json", exclude_none=True) == {
        "type": "tool_response",
        "content": '{"city":"Paris"}',
        "tool_call_id": "call-1",
        "tool_name": "get_weather",
        "tool_type": "function",
        "custom_session_id": "s-1",
    }


def test_async_tools_and_the_context(registry: Registry) -> None:
    seen: list[ToolContext] = []

    @registry.tool(timeout=3)
    async def slow_lookup(order_id: str, ctx: ToolContext) -> str:
        seen.append(ctx)
        await ctx.send(AssistantInput(text="One moment."))
        return f"order {order_id} shipped"

    recorder = RecordingControlPlane()
    before = time.time()
    answer = call(
        registry,
        "slow_lookup",
        {"order_id": "A1"},
        control_plane=recorder,
        chat_id="chat-9",
        caller_number="+1555",
        config_id="cfg",
    )
    assert answer.content == "order A1 shipped"
    (ctx,) = seen
    assert (ctx.chat_id, ctx.tool_name, ctx.tool_call_id, ctx.caller_number, ctx.config_id) == (
        "chat-9",
        "slow_lookup",
        answer.tool_call_id,
        "+1555",
        "cfg",
    )
    assert before + 3 - 0.5 < ctx.deadline <= time.time() + 3
    assert [m.type for m in recorder.messages("chat-9")] == ["assistant_input", "tool_response"]


def test_handlers_may_not_send_their_own_answer(registry: Registry) -> None:
    @registry.tool
    async def sneaky(ctx: ToolContext) -> str:
        await ctx.send(ToolResponseMessage(content="x", tool_call_id=ctx.tool_call_id))
        return "y"

    answer = call(registry, "sneaky", {})
    assert isinstance(answer, ToolErrorMessage) and answer.code == "tool_failed"


def test_sync_tools_can_send_from_their_thread(registry: Registry) -> None:
    @registry.tool
    def hold_on(ctx: ToolContext) -> str:
        ctx.send_sync(AssistantInput(text="Hold on."))
        return threading.current_thread().name

    recorder = RecordingControlPlane()
    answer = call(registry, "hold_on", {}, control_plane=recorder)
    assert answer.content != threading.current_thread().name  # ran in a worker thread
    assert [m.type for m in recorder.messages()] == ["assistant_input", "tool_response"]


def test_unknown_tool_names_the_tools_that_exist(registry: Registry) -> None:
    @registry.tool
    def b_tool() -> None: ...

    @registry.tool
    def a_tool() -> None: ...

    answer = call(registry, "c_tool", {})
    assert isinstance(answer, ToolErrorMessage)
    assert (answer.code, answer.level) == ("unknown_tool", "warn")
    assert answer.content == "There is no tool named 'c_tool'. The tools that exist are: a_tool, b_tool."
    assert answer.error == "unknown tool c_tool"


def test_invalid_arguments_tell_the_llm_how_to_retry(registry: Registry) -> None:
    @registry.tool
    def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
        raise AssertionError("must not run")

    answer = call(registry, "get_weather", {"unit": "kelvin"})
    assert isinstance(answer, ToolErrorMessage)
    assert answer.code == "invalid_arguments"
    assert answer.content == (
        "Invalid arguments for get_weather: city is required; unit must be one of 'celsius', 'fahrenheit' "
        "(got 'kelvin'). Call the tool again with corrected arguments."
    )
    bad_json = call(registry, "get_weather", '{"city": "Par')
    assert bad_json.code == "invalid_arguments" and "not valid JSON" in bad_json.content


def test_tool_error_is_passed_through(registry: Registry) -> None:
    @registry.tool
    def lookup_order(order_id: str) -> str:
        raise ToolError(f"No order {order_id}.", code="order_not_found")

    answer = call(registry, "lookup_order", {"order_id": "Z9"})
    assert isinstance(answer, ToolErrorMessage)
    assert (answer.code, answer.content, answer.error) == (
        "order_not_found",
        "No order Z9.",
        "lookup_order reported order_not_found",
    )


def test_other_exceptions_answer_the_fallback_and_keep_details_out(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    @registry.tool(fallback="Points are unavailable.")
    def points() -> int:
        raise RuntimeError("password=hunter2 in the connection string")

    @registry.tool
    def no_fallback() -> int:
        raise KeyError("x")

    answer = call(registry, "points", {})
    assert isinstance(answer, ToolErrorMessage)
    assert (answer.code, answer.content, answer.error) == (
        "tool_failed",
        "Points are unavailable.",
        "points raised RuntimeError",
    )
    assert "hunter2" not in json.dumps(answer.model_dump(mode="json"))
    assert "Traceback" in caplog.text  # the traceback goes to our logs only
    default = call(registry, "no_fallback", {})
    assert default.code == "tool_failed" and "not working right now" in default.content


def test_a_handlers_own_timeout_error_is_a_failure_not_a_timeout(registry: Registry) -> None:
    @registry.tool(timeout=5)
    async def upstream() -> None:
        await asyncio.wait_for(asyncio.sleep(1), timeout=0.01)

    answer = call(registry, "upstream", {})
    assert (answer.code, answer.error) == ("tool_failed", "upstream raised TimeoutError")


def test_unserialisable_return_value_is_a_failure(registry: Registry) -> None:
    @registry.tool
    def weird() -> object:
        return object()

    answer = call(registry, "weird", {})
    assert answer.code == "tool_failed" and answer.error == "weird returned a non-JSON value"


def test_async_tool_that_never_returns_times_out_at_its_deadline(registry: Registry) -> None:
    @registry.tool(timeout=0.3, fallback="Too slow.")
    async def forever() -> None:
        await asyncio.Event().wait()

    started = time.monotonic()
    answer = call(registry, "forever", {})
    elapsed = time.monotonic() - started
    assert isinstance(answer, ToolErrorMessage)
    assert (answer.code, answer.content) == ("timeout", "Too slow.")
    assert answer.error.startswith("forever timed out after 0.")
    assert 0.25 < elapsed < 0.8


def test_async_tool_that_ignores_cancellation_is_left_behind(registry: Registry) -> None:
    stop = threading.Event()

    @registry.tool(timeout=0.2)
    async def stubborn() -> None:
        while not stop.is_set():
            try:
                await asyncio.sleep(0.02)
            except asyncio.CancelledError:
                continue

    with ToolKit(registry) as kit:  # a persistent loop, as in the worker
        try:
            started = time.monotonic()
            assert kit.call_sync("stubborn").code == "timeout"
            assert time.monotonic() - started < 0.8
        finally:
            stop.set()
            kit.runtime.run(asyncio.sleep(0.1))  # the left-behind handler sees `stop` and ends


def test_sync_tool_that_hangs_times_out_and_its_thread_is_abandoned(registry: Registry) -> None:
    release = threading.Event()

    @registry.tool(timeout=0.3)
    def hangs() -> None:
        release.wait(10)

    loop = asyncio.new_event_loop()
    try:
        started = time.monotonic()
        answer = loop.run_until_complete(call_tool("hangs", {}, registry=registry))
        assert answer.code == "timeout"
        assert time.monotonic() - started < 0.8
        # The loop goes on serving: the next call is answered while the hung thread still runs.
        assert loop.run_until_complete(call_tool("hangs", "not json", registry=registry)).code == "invalid_arguments"
    finally:
        release.set()
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


def stop_after(seconds: float, reason: str = "user_interruption") -> Future[str]:
    stop: Future[str] = Future()
    threading.Timer(seconds, stop.set_result, [reason]).start()
    return stop


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_stop_answers_cancelled_at_once_and_cancels_an_async_handler(registry: Registry, kind: str) -> None:
    cancelled = threading.Event()

    @registry.tool(timeout=10)
    async def slow_async() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    @registry.tool(timeout=10)
    def slow_sync() -> str:
        time.sleep(1)
        return "late"

    call_message = ToolCallMessage(
        name=f"slow_{kind}", parameters="{}", response_required=True, tool_call_id="call-stop", tool_type="function"
    )
    started = time.monotonic()
    outcome = execute_in_thread(
        registry,
        call_message,
        lambda tool: pytest.fail("no context is asked for"),
        time.time() + 10,
        asyncio.new_event_loop,
        stop=stop_after(0.1),
    )
    assert time.monotonic() - started < 0.5
    assert (outcome.status, outcome.code, outcome.stopped_by, outcome.ran) == (
        "cancelled",
        "cancelled",
        "user_interruption",
        True,
    )
    assert outcome.message.content == CANCELLED_CONTENT
    if kind == "async":
        assert cancelled.wait(1), "the async handler was cancelled"


def test_a_stop_that_never_comes_changes_nothing(registry: Registry) -> None:
    @registry.tool
    async def quick() -> str:
        return "quick"

    call_message = ToolCallMessage(
        name="quick", parameters="{}", response_required=True, tool_call_id="call-quick", tool_type="function"
    )
    stop: Future[str] = Future()
    outcome = asyncio.run(execute(registry, call_message, lambda tool: pytest.fail(), time.time() + 5, stop=stop))
    assert (outcome.status, outcome.message.content, outcome.stopped_by) == ("answered", "quick", None)


def test_a_tool_result_puts_its_variables_and_context_before_the_answer(registry: Registry) -> None:
    @registry.tool
    def book() -> ToolResult:
        return ToolResult(content="Booked.", variables={"ref": "B-7"}, context="Booked on the terrace.")

    recorder = RecordingControlPlane()
    answer = call(registry, "book", {}, control_plane=recorder, custom_session_id="s-3")
    assert (answer.type, answer.content) == ("tool_response", "Booked.")
    settings, response = recorder.messages()
    assert isinstance(settings, SessionSettings) and response == answer
    assert (settings.variables, settings.context, settings.custom_session_id) == (
        {"ref": "B-7"},
        Context(text="Booked on the terrace.", type=ContextType.PERSISTENT),
        "s-3",
    )
