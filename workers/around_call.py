"""Around one running call (a call EVI waits for): what the caller hears meanwhile (`workers.speech`), what may
stop it (`workers.cancellation`), and what goes out before its answer. The walk (`workers.tool_calls`) opens it
as the handler starts and consults it for the answer:

    with AroundCall(runtime, tool_call, tool, deadline) as around:
        outcome = around.stopped_before_start() or execute_in_thread(..., stop=around.stop)
    if around.chat_ended: ... record it, send nothing
    answer(..., before=around.before_answer(outcome), **around.fields(outcome))
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future

from service.evi.control_plane import Undeliverable
from service.evi.timestamps import now_ms
from service.evi.webhooks import WebhookEventToolCall
from workers import observability
from workers.cancellation import CallWatch
from workers.handlers.call_policy import DEFAULT_POLICY
from workers.handlers.errors import ErrorCode
from workers.handlers.execution import CANCELLED_CONTENT, Outcome, tool_error
from workers.handlers.registry import RegisteredTool
from workers.records import CallStatus, finish_call
from workers.redis_retry import patient_until, retry_redis_async
from workers.runtime import Runtime
from workers.speech import Speech, phrases_for

log = logging.getLogger("evi_toolhost.tool_calls")


class AroundCall:
    def __init__(
        self, runtime: Runtime, tool_call: WebhookEventToolCall, tool: RegisteredTool | None, deadline: float
    ) -> None:
        self.runtime = runtime
        self.tool_call = tool_call
        self.policy = tool.policy if tool is not None else DEFAULT_POLICY
        self.deadline = deadline
        call = tool_call.tool_call_message
        self.watch: CallWatch = runtime.running_calls.add(
            tool_call.chat_id, call.tool_call_id, self.policy, triggered_ms=tool_call.timestamp
        )
        self.speech: Speech | None = None
        phrases = phrases_for(self.policy, runtime.settings) if tool is not None else None
        if phrases is not None and not self.watch.chat_ended:
            self.speech = Speech(
                runtime.delivery,
                tool_call.chat_id,
                phrases,
                deadline=deadline,
                custom_session_id=call.custom_session_id,
            )
            runtime.loop.call_soon_threadsafe(self.speech.begin)

    @property
    def stop(self) -> Future[str]:
        return self.watch.stop

    @property
    def chat_ended(self) -> bool:
        return self.watch.chat_ended

    def __enter__(self) -> AroundCall:
        return self

    def __exit__(self, *exc: object) -> None:
        self.runtime.running_calls.remove(self.watch)
        if self.chat_ended and self.speech is not None:
            asyncio.run_coroutine_threadsafe(self.speech.finish(wait=False), self.runtime.loop)

    def stopped_before_start(self) -> Outcome | None:
        """The chat had ended before the call started and the tool cancels on chat end: not run at all."""
        if not (self.chat_ended and self.stop.done()):
            return None
        call = self.tool_call.tool_call_message
        error = f"{call.name} was not run: its chat had ended"
        message = tool_error(call, ErrorCode.CANCELLED, CANCELLED_CONTENT, error)
        return Outcome(message, "cancelled", False, stopped_by="chat_ended")

    def before_answer(self, outcome: Outcome) -> Callable[[], Awaitable[None]] | None:
        """What goes out before the answer, awaited on the runtime's loop right before it is sent: the last of
        the phrases under way, then a `ToolResult`'s `session_settings`."""
        speech, preface = self.speech, outcome.preface
        if speech is None and preface is None:
            return None
        chat_id, runtime, deadline = self.tool_call.chat_id, self.runtime, self.deadline

        async def before() -> None:
            if speech is not None:
                await speech.finish()
            if preface is not None:
                try:
                    await runtime.delivery.send(chat_id, preface, deadline=deadline)
                except Undeliverable as exc:
                    log.warning("chat %s: session_settings before the answer not delivered: %s", chat_id, exc)

        return before

    def fields(self, outcome: Outcome) -> dict[str, str | int | None]:
        """What the call record says beyond the answer: why a call was cancelled, what went out before it."""
        fields: dict[str, str | int | None] = {"cancel_reason": outcome.stopped_by}
        if outcome.preface is not None:
            fields["session_settings"] = 1
        return fields

    def record_unsent(self, outcome: Outcome, **fields: str | int | None) -> str:
        """The chat ended while the call ran: record what happened and send nothing (the call comes off
        `evi:deadlines` too: nothing is owed to an ended chat). Returns the record's status."""
        call = self.tool_call.tool_call_message
        status = CallStatus.CANCELLED if outcome.status == "cancelled" else CallStatus.CHAT_ENDED
        record: dict[str, str | int | None] = {
            **fields,
            "status": status,
            "cancel_reason": "chat_ended" if status is CallStatus.CANCELLED else None,
            "on_chat_end": self.policy.on_chat_end,
            "answer_type": outcome.message.type,
            "error_code": getattr(outcome.message, "code", None),
            "finished_ms": now_ms(),
        }
        log.info(
            "tool call %s (%s): its chat ended; %s, nothing sent",
            call.tool_call_id,
            call.name,
            "cancelled" if status is CallStatus.CANCELLED else f"finished ({outcome.message.type}) and recorded",
        )
        settings, aredis = self.runtime.settings, self.runtime.aredis

        async def finish() -> None:
            await finish_call(aredis, call.tool_call_id, settings.record_ttl_seconds, record, answered=True)

        until = patient_until(max(self.deadline, time.time()) + settings.delivery_grace_seconds)
        self.runtime.run(retry_redis_async(finish, until=until))
        observability.call_finished({**record, "status": "chat_ended"}, answered=True)
        return status
