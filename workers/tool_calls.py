"""One tool call, as a worker runs it, in order: claim the run → run the handler (`workers.handlers.execution`)
→ deliver the answer (`workers.delivery`) → record what happened (`workers.records`).

Once picked up, a call:
1. claims the run (`SET evi:run:{id} NX`) and, in the same transaction, schedules its guard
   (`workers.guard`), which answers `timeout` if this worker dies mid-call;
2. runs the handler within the call's deadline;
3. delivers the answer under the tool call's answer claim, so however often the job runs (webhook redelivery,
   the relay seeing the call too, an RQ requeue) the handler runs at most once and EVI gets at most one answer;
4. records the outcome in `evi:call:{id}` and cancels the guard.

The job runs in a job thread; the handler and the delivery run on the runtime's event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from service.evi.control_plane import Undeliverable
from service.evi.messages import PublishMessage, ToolCallMessage
from service.evi.timestamps import now_ms
from service.evi.webhooks import WebhookEventToolCall
from service.queue import contract
from workers import conversation, guard
from workers.handlers.context import ToolContext
from workers.handlers.execution import Answer, compute_deadline, execute
from workers.handlers.registry import RegisteredTool
from workers.records import CallStatus, update_call
from workers.runtime import Runtime
from workers.transcripts import TranscriptLine

log = logging.getLogger("evi_toolhost.tool_calls")


def parse_tool_call(event: dict[str, Any]) -> tuple[WebhookEventToolCall, ToolCallMessage]:
    """The event, and its tool call carrying the chat's custom_session_id when only the event has it."""
    tool_call = WebhookEventToolCall.model_validate(event)
    call = tool_call.tool_call_message
    if call.custom_session_id is None and tool_call.custom_session_id is not None:
        call = call.model_copy(update={"custom_session_id": tool_call.custom_session_id})
        tool_call = tool_call.model_copy(update={"tool_call_message": call})
    return tool_call, call


def run_tool_call(
    runtime: Runtime, event: dict[str, Any], *, job_id: str | None = None, enqueued_at: float | None = None
) -> str:
    """Run one tool call and answer it; returns the call record's final status, or "duplicate"."""
    tool_call, call = parse_tool_call(event)
    pickup = time.time()
    ttl = runtime.settings.record_ttl_seconds
    identity: dict[str, str | int | None] = {
        "name": call.name,
        "chat_id": tool_call.chat_id,
        "tool_type": call.tool_type.value,
        "received_ms": tool_call.timestamp,
        "job_id": job_id,
    }
    if not call.response_required:
        update_call(runtime.redis, call.tool_call_id, ttl, **identity, status=CallStatus.NOT_REQUIRED)
        log.info("tool call %s (%s): no response required, not run", call.tool_call_id, call.name)
        return CallStatus.NOT_REQUIRED

    deadline = compute_deadline(
        tool_call.timestamp, timeout_of(runtime, call.name), pickup=pickup, received=enqueued_at
    )
    if not claim_run(runtime, tool_call, event, deadline, job_id):
        log.info("tool call %s (%s): already claimed by another job, not run again", call.tool_call_id, call.name)
        return "duplicate"
    update_call(
        runtime.redis,
        call.tool_call_id,
        ttl,
        **identity,
        status=CallStatus.RUNNING,
        started_ms=now_ms(),
        deadline_ms=int(deadline * 1000),
    )
    context = context_factory(runtime, tool_call, deadline)
    outcome = runtime.run(execute(runtime.registry, call, context, deadline, runtime.executor))
    status = CallStatus.ANSWERED if outcome.status == "answered" else CallStatus(outcome.status)
    return answer(
        runtime, tool_call, outcome.message, status, deadline=deadline, finished_ms=now_ms(), ran=int(outcome.ran)
    )


def timeout_of(runtime: Runtime, name: str) -> float:
    tool = runtime.registry.get(name)
    return tool.timeout if tool is not None and tool.timeout is not None else runtime.settings.tool_timeout_seconds


def claim_run(
    runtime: Runtime, tool_call: WebhookEventToolCall, event: dict[str, Any], deadline: float, job_id: str | None
) -> bool:
    """Claim the run and schedule the guard, atomically (a worker that dies in between leaves neither)."""
    call_id = tool_call.tool_call_message.tool_call_id
    with runtime.redis.pipeline(transaction=True) as pipe:
        pipe.set(contract.run_claim(call_id), job_id or "run", nx=True, ex=runtime.settings.claim_ttl_seconds)
        guard.schedule(runtime.redis, pipe, tool_call, event, deadline)
        claimed = pipe.execute()[0]
    return bool(claimed)


def context_factory(
    runtime: Runtime, tool_call: WebhookEventToolCall, deadline: float
) -> Callable[[RegisteredTool], ToolContext]:
    """How the handler's `ToolContext` is made: the one place, for the worker and the test kit alike."""

    async def send(message: PublishMessage) -> None:
        await runtime.delivery.send(tool_call.chat_id, message, deadline=deadline)

    async def transcript() -> list[TranscriptLine]:
        return await conversation.read(runtime.aredis, tool_call.chat_id)

    def build(tool: RegisteredTool) -> ToolContext:
        return ToolContext(
            chat_id=tool_call.chat_id,
            chat_group_id=tool_call.chat_group_id,
            custom_session_id=tool_call.tool_call_message.custom_session_id,
            caller_number=tool_call.caller_number,
            config_id=tool_call.config_id,
            tool_call_id=tool_call.tool_call_message.tool_call_id,
            tool_name=tool.name,
            deadline=deadline,
            _sender=send,
            _transcript=transcript,
            _loop=runtime.loop,
        )

    return build


def answer(
    runtime: Runtime,
    tool_call: WebhookEventToolCall,
    message: Answer,
    status: CallStatus,
    *,
    deadline: float,
    cancel_guard: bool = True,
    **fields: str | int | None,
) -> str:
    """Deliver the answer once (claiming it) and record it. Returns the call's final status, or "duplicate"."""
    call = tool_call.tool_call_message
    settings = runtime.settings
    record: dict[str, str | int | None] = {"answer_type": message.type, "error_code": getattr(message, "code", None)}
    record.update(fields)
    try:
        sent = runtime.run(
            runtime.delivery.send(tool_call.chat_id, message, deadline=deadline + settings.delivery_grace_seconds)
        )
    except Undeliverable as exc:
        status = CallStatus.UNDELIVERABLE
        record.update(transport="http", http_status=exc.status, error=str(exc))
    except Exception as exc:
        log.exception("tool call %s (%s): delivering the answer failed", call.tool_call_id, call.name)
        status = CallStatus.UNDELIVERABLE
        record.update(transport="http", error=f"delivery failed: {type(exc).__name__}")
    else:
        if sent.transport is None:
            log.warning("tool call %s (%s): already answered, this answer is dropped", call.tool_call_id, call.name)
            return "duplicate"
        record.update(transport=sent.transport, relay_wait_ms=sent.relay_wait_ms, answered_ms=now_ms())
        code = record["error_code"]
        log.info(
            "tool call %s (%s): %s%s delivered by %s",
            call.tool_call_id,
            call.name,
            message.type,
            f" ({code})" if code else "",
            sent.transport,
        )
    with runtime.redis.pipeline(transaction=False) as pipe:
        update_call(pipe, call.tool_call_id, settings.record_ttl_seconds, status=status, **record)
        if cancel_guard:
            guard.cancel(runtime.redis, pipe, tool_call)
        pipe.execute()
    return status
