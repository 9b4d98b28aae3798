"""Telling a user their async handler blocks its event loop: the longest a step of any of its tasks held the loop.

A handler that calls something blocking inside `async def` (`time.sleep`, a sync HTTP client) holds its job thread's
loop for that long; it delays only its own call (each job thread has a loop of its own), but the user should hear of
it. Every task made on that loop while the handler runs, the handler's own and those it starts (`asyncio.gather`),
runs its steps through `TimedSteps`, which notes how long each `send` into the coroutine took: time the loop could
run nothing else. Nothing wakes the loop to measure: a handler waiting one second on I/O costs no more than that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Generator
from contextvars import Context
from typing import Any

log = logging.getLogger("evi_toolhost.execution")

BLOCKED_LOOP_SECONDS = 0.1


class TimedSteps(Coroutine[Any, Any, Any]):
    """`coroutine`, each of its steps timed into `lag`."""

    __slots__ = ("_coroutine", "_lag")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], lag: LoopLag) -> None:
        self._coroutine = coroutine
        self._lag = lag

    def send(self, value: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._coroutine.send(value)
        finally:
            self._lag.note(time.perf_counter() - started)

    def throw(self, *exc: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._coroutine.throw(*exc)
        finally:
            self._lag.note(time.perf_counter() - started)

    def close(self) -> None:
        self._coroutine.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coroutine.__await__()


class LoopLag:
    """While entered on a running loop, every task made on it has its steps timed; on exit, logs once, with the
    tool's name, when one step held the loop longer than `BLOCKED_LOOP_SECONDS`."""

    def __init__(self, tool_name: str) -> None:
        self.tool_name = tool_name
        self.worst = 0.0
        """The longest one step held the loop, in seconds."""

    def note(self, seconds: float) -> None:
        if seconds > self.worst:
            self.worst = seconds

    def __enter__(self) -> LoopLag:
        self._loop = asyncio.get_running_loop()
        self._previous = self._loop.get_task_factory()
        self._loop.set_task_factory(self._task)
        return self

    def _task(
        self, loop: asyncio.AbstractEventLoop, coroutine: Any, *, context: Context | None = None
    ) -> asyncio.Future[Any]:
        timed = TimedSteps(coroutine, self) if isinstance(coroutine, Coroutine) else coroutine
        if self._previous is not None:
            if context is None:
                return self._previous(loop, timed)
            return self._previous(loop, timed, context=context)  # type: ignore[call-arg]
        return asyncio.Task(timed, loop=loop, context=context)

    def __exit__(self, *exc: object) -> None:
        self._loop.set_task_factory(self._previous)
        if self.worst > BLOCKED_LOOP_SECONDS:
            log.warning(
                "tool %s blocked its event loop for %.2f s: a blocking call inside async def (time.sleep, a sync "
                "HTTP client); it delayed only its own call, make it `def` or use an async client",
                self.tool_name,
                self.worst,
            )
