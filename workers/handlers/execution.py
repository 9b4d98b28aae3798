"""Running one tool call: look up the tool → validate its arguments → run it within its deadline → the answer.

Shared by the RQ job and by `workers.testing.call_tool`, so a user's test sees exactly what EVI would.
Nothing here touches Redis or the network; the caller delivers the answer.

Every outcome maps to one message:
- a return value → `tool_response` (a str as-is; anything else as JSON text);
- `ToolError` → `tool_error` with its content and code;
- unknown tool, invalid arguments, any other exception, the deadline passing → `tool_error` with code
  `unknown_tool`, `invalid_arguments`, `tool_failed` (content: the tool's fallback), `timeout`;
- `stop` resolving first (the chat ended, the caller interrupted: `workers.cancellation`) → `tool_error`
  `cancelled`, the handler cancelled (async) or abandoned in its thread (sync).
A `ToolResult` return value also gives the `session_settings` to send before the answer (`Outcome.preface`).
`error` (for Hume's logs, never shown to the LLM) names what happened and never carries an exception's
message or traceback: those go to our logs only, since they may hold secrets.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, TypeVar

from pydantic_core import PydanticSerializationError

from service.evi.messages import ErrorLevel, SessionSettings, ToolCallMessage, ToolErrorMessage, ToolResponseMessage
from workers.handlers.blocking import LoopLag
from workers.handlers.context import ToolContext
from workers.handlers.errors import ErrorCode, ToolError
from workers.handlers.registry import RegisteredTool, Registry
from workers.handlers.results import result_parts
from workers.handlers.schema import InvalidArguments
from workers.handlers.threads import HANDLER_THREADS, wait_first

log = logging.getLogger("evi_toolhost.execution")

Status = Literal["answered", "failed", "timeout", "cancelled"]
CANCEL_GRACE_SECONDS = 0.1
"""How long a cancelled async handler may take to unwind before we answer without it."""

Answer = ToolResponseMessage | ToolErrorMessage
P = ParamSpec("P")
T = TypeVar("T")


class _DeadlinePassed(Exception):
    """Ours, so a handler's own TimeoutError (an upstream call timing out) counts as a failure, not ours."""


class _Stopped(Exception):
    """The call's `stop` future resolved (with why) before the handler finished."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


CANCELLED_CONTENT = (
    "The caller interrupted, so this was stopped before it finished. "
    "Do not call the tool again unless the caller asks for it."
)


@dataclass(frozen=True)
class Outcome:
    message: Answer
    status: Status
    ran: bool
    """Whether the handler was started (False: unknown tool, invalid arguments, or already too late)."""
    preface: SessionSettings | None = None
    """Sent before the answer: the variables and context of a returned `ToolResult`."""
    plain_text: bool = False
    """The handler returned text (a sentence), not data sent as JSON."""
    stopped_by: str | None = None
    """Why the call was stopped (`tool_error` `cancelled`): what its `stop` future said."""

    @property
    def code(self) -> str | None:
        return self.message.code if isinstance(self.message, ToolErrorMessage) else None


def tool_response(call: ToolCallMessage, content: str) -> ToolResponseMessage:
    return ToolResponseMessage(
        content=content,
        tool_call_id=call.tool_call_id,
        tool_name=call.name,
        tool_type=call.tool_type,
        custom_session_id=call.custom_session_id,
    )


def tool_error(call: ToolCallMessage, code: str, content: str, error: str) -> ToolErrorMessage:
    return ToolErrorMessage(
        code=code,
        content=content,
        error=error,
        level=ErrorLevel.WARN,
        tool_call_id=call.tool_call_id,
        tool_type=call.tool_type,
        custom_session_id=call.custom_session_id,
    )


def failure_content(tool: RegisteredTool | None, name: str) -> str:
    if tool is not None and tool.fallback:
        return tool.fallback
    return f"The {name} tool is not working right now. Tell the user you cannot do this at the moment."


def timeout_answer(call: ToolCallMessage, tool: RegisteredTool | None, error: str) -> ToolErrorMessage:
    return tool_error(call, ErrorCode.TIMEOUT, failure_content(tool, call.name), error)


@dataclass(frozen=True)
class Ready:
    """A call whose tool exists, whose arguments are valid and whose deadline has not passed: run it."""

    tool: RegisteredTool
    kwargs: dict[str, Any]


def prepare(
    registry: Registry, call: ToolCallMessage, context: Callable[[RegisteredTool], ToolContext], deadline: float
) -> Ready | Outcome:
    """What to run for `call`, or the answer when nothing is to run (unknown tool, invalid arguments, too late)."""
    tool = registry.get(call.name)
    if tool is None:
        names = registry.names()
        listed = ", ".join(names) if names else "none"
        content = f"There is no tool named {call.name!r}. The tools that exist are: {listed}."
        return Outcome(tool_error(call, ErrorCode.UNKNOWN_TOOL, content, f"unknown tool {call.name}"), "failed", False)
    try:
        kwargs = tool.arguments.validate(call.parameters)
    except InvalidArguments as exc:
        content = (
            f"Invalid arguments for {tool.name}: {'; '.join(exc.problems)}. "
            "Call the tool again with corrected arguments."
        )
        log.info("tool call %s: invalid arguments for %s: %s", call.tool_call_id, tool.name, exc)
        return Outcome(
            tool_error(call, ErrorCode.INVALID_ARGUMENTS, content, f"invalid arguments for {tool.name}"),
            "failed",
            False,
        )
    if time.time() >= deadline:
        log.warning("tool call %s (%s) picked up after its deadline: not run", call.tool_call_id, tool.name)
        error = f"{tool.name} was not started: its deadline passed while queued"
        return Outcome(timeout_answer(call, tool, error), "timeout", False)
    if tool.arguments.context_param is not None:
        kwargs[tool.arguments.context_param] = context(tool)
    return Ready(tool, kwargs)


async def execute(
    registry: Registry,
    call: ToolCallMessage,
    context: Callable[[RegisteredTool], ToolContext],
    deadline: float,
    executor: Executor | None = None,
    stop: Future[str] | None = None,
) -> Outcome:
    """Run `call` and return its answer. Never raises for anything the handler does.

    `context` builds the handler's `ToolContext` (only called if the handler runs); `deadline` is epoch
    seconds; sync handlers run on `executor` (default: the process's reused daemon threads); `stop`, when it
    resolves (from any thread) before the handler finishes, stops the call with that reason.
    """
    ready = prepare(registry, call, context, deadline)
    if isinstance(ready, Outcome):
        return ready
    started = time.time()
    try:
        value = await _run(ready.tool, ready.kwargs, deadline, executor, stop)
    except BaseException as exc:
        if not isinstance(exc, Exception):
            raise
        return outcome_of_failure(call, ready.tool, exc, started, deadline)
    return outcome_of_value(call, ready.tool, value, started, deadline)


def execute_in_thread(
    registry: Registry,
    call: ToolCallMessage,
    context: Callable[[RegisteredTool], ToolContext],
    deadline: float,
    loop: Callable[[], asyncio.AbstractEventLoop],
    executor: Executor | None = None,
    stop: Future[str] | None = None,
) -> Outcome:
    """`execute` from a thread with no running loop: a sync handler is waited for right here (no event loop in
    between), an async one runs on `loop()`, this thread's own."""
    tool = registry.get(call.name)
    if tool is None or tool.is_async:
        return loop().run_until_complete(execute(registry, call, context, deadline, executor, stop))
    ready = prepare(registry, call, context, deadline)
    if isinstance(ready, Outcome):
        return ready
    started = time.time()
    future = (executor or HANDLER_THREADS).submit(functools.partial(ready.tool.func, **ready.kwargs))
    watched: list[Future[Any]] = [future] if stop is None else [future, stop]
    wait_first(watched, timeout=max(0.0, deadline - time.time()))
    if not future.done():
        future.cancel()
        _abandoned(ready.tool)
        why: Exception = _stopped(stop) or _DeadlinePassed()
        return outcome_of_failure(call, ready.tool, why, started, deadline)
    try:
        value = future.result()
    except Exception as exc:
        return outcome_of_failure(call, ready.tool, exc, started, deadline)
    return outcome_of_value(call, ready.tool, value, started, deadline)


def outcome_of_value(
    call: ToolCallMessage, tool: RegisteredTool, value: Any, started: float, deadline: float
) -> Outcome:
    try:
        parts = result_parts(value)
    except Exception as exc:
        return outcome_of_failure(call, tool, exc, started, deadline)
    preface = parts.session_settings(call.custom_session_id)
    return Outcome(tool_response(call, parts.content), "answered", True, preface, parts.plain_text)


def outcome_of_failure(
    call: ToolCallMessage, tool: RegisteredTool, exc: Exception, started: float, deadline: float
) -> Outcome:
    """The answer for a handler that raised `exc` (or ran past its deadline: `_DeadlinePassed`; was stopped:
    `_Stopped`)."""
    if isinstance(exc, _Stopped):
        log.info("tool call %s (%s) stopped: %s", call.tool_call_id, tool.name, exc.reason)
        error = f"{tool.name} was cancelled: {exc.reason}"
        message = tool_error(call, ErrorCode.CANCELLED, CANCELLED_CONTENT, error)
        return Outcome(message, "cancelled", True, stopped_by=exc.reason)
    if isinstance(exc, _DeadlinePassed):
        log.warning("tool call %s (%s) timed out after %.2f s", call.tool_call_id, tool.name, time.time() - started)
        error = f"{tool.name} timed out after {deadline - started:.1f} s"
        return Outcome(timeout_answer(call, tool, error), "timeout", True)
    if isinstance(exc, ToolError):
        log.info("tool call %s (%s) raised ToolError %s", call.tool_call_id, tool.name, exc.code)
        return Outcome(tool_error(call, exc.code, exc.content, f"{tool.name} reported {exc.code}"), "failed", True)
    if isinstance(exc, PydanticSerializationError):
        log.error("tool call %s (%s) returned a value that is not JSON", call.tool_call_id, tool.name, exc_info=exc)
        message = tool_error(
            call, ErrorCode.TOOL_FAILED, failure_content(tool, tool.name), f"{tool.name} returned a non-JSON value"
        )
        return Outcome(message, "failed", True)
    log.error("tool call %s (%s) failed", call.tool_call_id, tool.name, exc_info=exc)
    message = tool_error(
        call, ErrorCode.TOOL_FAILED, failure_content(tool, tool.name), f"{tool.name} raised {type(exc).__name__}"
    )
    return Outcome(message, "failed", True)


def _abandoned(tool: RegisteredTool) -> None:
    log.error(
        "sync tool %s is still running in its thread after the deadline; "
        "Python cannot stop a thread, so it keeps that thread until it returns",
        tool.name,
    )


async def _run(
    tool: RegisteredTool, kwargs: dict[str, Any], deadline: float, executor: Executor | None, stop: Future[str] | None
) -> Any:
    """The handler's return value; _DeadlinePassed at the deadline, _Stopped when `stop` resolves first (the
    handler is cancelled and abandoned, not awaited)."""
    loop = asyncio.get_running_loop()
    watched: set[asyncio.Future[Any]] = set()
    if stop is not None:
        watched.add(asyncio.wrap_future(stop))
    if tool.is_async:
        with LoopLag(tool.name):
            future: asyncio.Future[Any] = asyncio.ensure_future(tool.func(**kwargs))
            await _first({future, *watched}, deadline)
    else:
        future = loop.run_in_executor(executor or HANDLER_THREADS, functools.partial(tool.func, **kwargs))
        await _first({future, *watched}, deadline)
    if future.done():
        return future.result()
    future.cancel()
    if tool.is_async:
        # Give a well-behaved handler a moment to unwind; one that ignores cancellation is left behind.
        await asyncio.wait({future}, timeout=CANCEL_GRACE_SECONDS)
    else:
        _abandoned(tool)
    raise _stopped(stop) or _DeadlinePassed()


async def _first(futures: set[asyncio.Future[Any]], deadline: float) -> None:
    await asyncio.wait(futures, timeout=max(0.0, deadline - time.time()), return_when=asyncio.FIRST_COMPLETED)


def _stopped(stop: Future[str] | None) -> _Stopped | None:
    if stop is None or not stop.done() or stop.cancelled():
        return None
    return _Stopped(stop.result())
