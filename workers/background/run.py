"""One background call: answered with its ack, then run to its end under its own timeout.

The walk (`workers.tool_calls`) sends `first_answer()` like any answer, with `register` awaited right before it
(the run's entry in `evi:background`, so a run whose worker dies is still told: `lost.py`), then calls
`start()`. The handler runs only once its ack was delivered: a call whose ack did not reach EVI (the chat is
gone, or the watchdog answered first) was never promised. The run takes a reused daemon thread of the process
(`HANDLER_THREADS`), not a job slot; a warm shutdown of the worker waits for the runs (`wait_for_runs`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures

from service.evi.timestamps import now_ms
from service.evi.webhooks import WebhookEventToolCall
from service.queue import contract
from workers.background.telling import tell_result
from workers.handlers.context import ToolContext
from workers.handlers.execution import Outcome, execute_in_thread, prepare, tool_response
from workers.handlers.registry import RegisteredTool
from workers.handlers.threads import HANDLER_THREADS
from workers.redis_retry import patient_until, retry_redis_async
from workers.runtime import Runtime

log = logging.getLogger("evi_toolhost.background")

TELL_GRACE_SECONDS = 5.0
"""How long past its own timeout a run has to tell its result before the sweep of lost runs tells the fallback."""

ContextFactory = Callable[[Runtime, WebhookEventToolCall, float], Callable[[RegisteredTool], ToolContext]]

_runs: dict[str, Future[None]] = {}
_runs_lock = threading.Lock()


class BackgroundRun:
    def __init__(
        self, runtime: Runtime, tool_call: WebhookEventToolCall, tool: RegisteredTool, context_factory: ContextFactory
    ) -> None:
        self.runtime = runtime
        self.tool_call = tool_call
        self.tool = tool
        self.context_factory = context_factory
        self.timeout = tool.timeout if tool.timeout is not None else runtime.settings.tool_timeout_seconds
        self.deadline = time.time() + self.timeout
        """When the handler is stopped (epoch seconds): `ctx.deadline` of the run."""
        self._acking = False

    @property
    def tool_call_id(self) -> str:
        return self.tool_call.tool_call_message.tool_call_id

    def first_answer(self) -> Outcome:
        """The ack, or the answer when there is nothing to run (arguments that do not fit)."""
        call = self.tool_call.tool_call_message
        context = self.context_factory(self.runtime, self.tool_call, self.deadline)
        ready = prepare(self.runtime.registry, call, context, self.deadline)
        if isinstance(ready, Outcome):
            return ready
        assert self.tool.policy.ack is not None
        self._acking = True
        return Outcome(tool_response(call, self.tool.policy.ack), "answered", False)

    def fields(self, first: Outcome) -> dict[str, str | int | None]:
        if first.status != "answered":
            return {}
        return {"background_status": "running", "background_deadline_ms": int(self.deadline * 1000)}

    async def register(self) -> None:
        """On the runtime's loop, right before the ack goes out."""
        redis = self.runtime.aredis
        due_ms = int((self.deadline + TELL_GRACE_SECONDS) * 1000)

        async def add() -> None:
            await redis.zadd(contract.BACKGROUND_RUNS, {self.tool_call_id: due_ms})

        await retry_redis_async(add, until=patient_until(time.time() + TELL_GRACE_SECONDS))

    def start(self, *, acked: bool) -> None:
        """`acked`: the ack was delivered (not another answer, not someone else's)."""
        if not self._acking:
            return
        if not acked:
            log.warning("tool call %s: its ack was not delivered: its background run does not start", self.tool_call_id)
            self.runtime.run(self._forget())
            return
        with _runs_lock:
            _runs[self.tool_call_id] = HANDLER_THREADS.submit(self._run)

    async def _forget(self) -> None:
        async with self.runtime.aredis.pipeline(transaction=False) as pipe:
            pipe.zrem(contract.BACKGROUND_RUNS, self.tool_call_id)
            pipe.hset(contract.call_record(self.tool_call_id), "background_status", "not_started")
            await pipe.execute()

    def _run(self) -> None:
        runtime, tool_call, call = self.runtime, self.tool_call, self.tool_call.tool_call_message
        try:
            started_ms = now_ms()
            context = self.context_factory(runtime, tool_call, self.deadline)
            with runtime.running_calls.watching(
                tool_call.chat_id, call.tool_call_id, self.tool.policy, triggered_ms=tool_call.timestamp
            ) as watch:
                outcome = execute_in_thread(
                    runtime.registry, call, context, self.deadline, runtime.job_loop, runtime.executor, stop=watch.stop
                )
            runtime.run(
                tell_result(runtime, tool_call, self.tool, outcome, chat_ended=watch.chat_ended, started_ms=started_ms)
            )
        except Exception:
            log.exception("tool call %s (%s): its background run failed", call.tool_call_id, call.name)
        finally:
            with _runs_lock:
                _runs.pop(call.tool_call_id, None)


def wait_for_run(tool_call_id: str, timeout: float) -> bool:
    """Wait up to `timeout` seconds for this call's background run (in this process) to have told its result;
    True once it has (or none runs)."""
    with _runs_lock:
        running = _runs.get(tool_call_id)
    return running is None or not wait_futures([running], timeout=timeout).not_done


def wait_for_runs(timeout: float) -> int:
    """Wait up to `timeout` seconds for every background run of this process; how many still run."""
    with _runs_lock:
        running = list(_runs.values())
    if running:
        log.info("waiting for %d background run(s) to finish", len(running))
    return len(wait_futures(running, timeout=timeout).not_done) if running else 0


def running_count() -> int:
    with _runs_lock:
        return len(_runs)
