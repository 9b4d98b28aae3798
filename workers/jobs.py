"""The RQ job functions. The web tier enqueues the first three by path (`service.queue.enqueue.JOB_FUNCTIONS`),
each with one argument: the webhook event as JSON-mode dict.

A tool call, once picked up:
1. claims the run (`SET evi:run:{id} NX`) and, in the same transaction, schedules a guard job on RQ's
   scheduler for just after the deadline: if this worker dies mid-call, the guard answers `timeout`;
2. runs the handler through `workers.handlers.execution` on the process's persistent event loop;
3. claims the answer (`SET evi:answered:{id} NX`) and only then delivers it, so however often the job
   runs (webhook redelivery, the relay seeing the call too, an RQ requeue) the handler runs at most once
   and EVI gets at most one answer;
4. records what happened in `evi:call:{id}` and cancels the guard.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rq import Queue, get_current_job
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from service.evi.control_plane import Undeliverable
from service.evi.messages import ToolCallMessage
from service.evi.webhooks import WebhookEventChatEnded, WebhookEventChatStarted, WebhookEventToolCall
from service.queue import contract
from service.queue.contract import TOOLS_QUEUE
from service.queue.enqueue import job_id
from workers import conversation, lifecycle
from workers.delivery.router import deliver
from workers.handlers.context import ToolContext
from workers.handlers.execution import Answer, compute_deadline, execute, timeout_answer
from workers.handlers.registry import RegisteredTool
from workers.records import CallStatus, now_ms, update_call
from workers.runtime import Runtime, get_runtime
from workers.transcripts import TranscriptLine

log = logging.getLogger("evi_toolhost.jobs")

GUARD_FUNCTION = "workers.jobs.answer_abandoned_tool_call"
GUARD_MARGIN_SECONDS = 1
"""RQ schedules in whole seconds; the guard fires at least this long after the deadline."""
GUARD_JOB_TIMEOUT_SECONDS = 60


def run_tool_call(event: dict[str, Any]) -> str:
    """Run one tool call and answer it; returns what happened (the call record's status, or "duplicate")."""
    runtime = get_runtime()
    tool_call, call = _parse(event)
    pickup = time.time()
    ttl = runtime.settings.record_ttl_seconds
    base_fields: dict[str, str | int | None] = {
        "name": call.name,
        "chat_id": tool_call.chat_id,
        "tool_type": call.tool_type.value,
        "received_ms": tool_call.timestamp,
        "job_id": _current_job_id(),
    }
    if not call.response_required:
        update_call(runtime.redis, call.tool_call_id, ttl, **base_fields, status=CallStatus.NOT_REQUIRED)
        log.info("tool call %s (%s): no response required, not run", call.tool_call_id, call.name)
        return CallStatus.NOT_REQUIRED

    tool = runtime.registry.get(call.name)
    timeout = tool.timeout if tool is not None and tool.timeout is not None else runtime.settings.tool_timeout_seconds
    deadline = compute_deadline(tool_call.timestamp, timeout, pickup=pickup, received=_enqueued_at())
    if not _claim_run(runtime, tool_call, event, deadline):
        log.info("tool call %s (%s): already claimed by another job, not run again", call.tool_call_id, call.name)
        return "duplicate"
    update_call(
        runtime.redis,
        call.tool_call_id,
        ttl,
        **base_fields,
        status=CallStatus.RUNNING,
        started_ms=now_ms(),
        deadline_ms=int(deadline * 1000),
    )
    outcome = runtime.run(
        execute(runtime.registry, call, _context_factory(runtime, tool_call, deadline), deadline, runtime.executor)
    )
    status = CallStatus.ANSWERED if outcome.status == "answered" else CallStatus(outcome.status)
    return _answer(
        runtime,
        tool_call,
        outcome.message,
        status,
        deadline=deadline,
        finished_ms=now_ms(),
        ran=int(outcome.ran),
    )


def answer_abandoned_tool_call(event: dict[str, Any], deadline: float) -> str:
    """The guard: scheduled for just after the deadline, answers `timeout` unless the call was answered."""
    runtime = get_runtime()
    tool_call, call = _parse(event)
    if runtime.redis.exists(contract.answered(call.tool_call_id)):
        return "already answered"
    log.warning("tool call %s (%s): no answer by its deadline; its worker is gone", call.tool_call_id, call.name)
    message = timeout_answer(
        call, runtime.registry.get(call.name), f"{call.name}: the worker running it stopped before answering"
    )
    return _answer(
        runtime,
        tool_call,
        message,
        CallStatus.TIMEOUT,
        deadline=max(deadline, time.time()),
        note="worker_lost",
        cancel_guard=False,
    )


def run_chat_started(event: dict[str, Any]) -> str:
    lifecycle.chat_started(get_runtime(), WebhookEventChatStarted.model_validate(event))
    return "recorded"


def run_chat_ended(event: dict[str, Any]) -> str:
    lines = lifecycle.chat_ended(get_runtime(), WebhookEventChatEnded.model_validate(event))
    return f"recorded, {lines} transcript lines"


# --- steps of a tool call ----------------------------------------------------------------------------


def _parse(event: dict[str, Any]) -> tuple[WebhookEventToolCall, ToolCallMessage]:
    """The event, and its tool call carrying the chat's custom_session_id when only the event has it."""
    tool_call = WebhookEventToolCall.model_validate(event)
    call = tool_call.tool_call_message
    if call.custom_session_id is None and tool_call.custom_session_id is not None:
        call = call.model_copy(update={"custom_session_id": tool_call.custom_session_id})
    return tool_call, call


def guard_job_id(tool_call: WebhookEventToolCall) -> str:
    return f"guard-{job_id(tool_call)}"


def _claim_run(runtime: Runtime, tool_call: WebhookEventToolCall, event: dict[str, Any], deadline: float) -> bool:
    """Claim the run and schedule the guard, atomically (a worker that dies in between leaves neither)."""
    call = tool_call.tool_call_message
    queue = Queue(TOOLS_QUEUE, connection=runtime.redis, serializer=JSONSerializer)
    fire_at = datetime.fromtimestamp(math.ceil(deadline) + GUARD_MARGIN_SECONDS, tz=UTC)
    with runtime.redis.pipeline(transaction=True) as pipe:
        pipe.set(
            contract.run_claim(call.tool_call_id),
            _current_job_id() or "run",
            nx=True,
            ex=runtime.settings.claim_ttl_seconds,
        )
        # A duplicate that loses the claim rewrites the same guard; the guard does nothing if answered.
        queue.enqueue_at(
            fire_at,
            GUARD_FUNCTION,
            args=(event, deadline),
            job_id=guard_job_id(tool_call),
            job_timeout=GUARD_JOB_TIMEOUT_SECONDS,
            result_ttl=60,
            at_front=True,
            description=f"guard for tool {call.name} in chat {tool_call.chat_id}",
            pipeline=pipe,
        )
        claimed = pipe.execute()[0]
    return bool(claimed)


def _context_factory(
    runtime: Runtime, tool_call: WebhookEventToolCall, deadline: float
) -> Callable[[RegisteredTool], ToolContext]:
    async def send(message: Any) -> None:
        await deliver(tool_call.chat_id, message, deadline=deadline)

    async def transcript() -> list[TranscriptLine]:
        return await conversation.read(runtime.aredis, tool_call.chat_id)

    def build(tool: RegisteredTool) -> ToolContext:
        return ToolContext(
            chat_id=tool_call.chat_id,
            chat_group_id=tool_call.chat_group_id,
            custom_session_id=tool_call.tool_call_message.custom_session_id or tool_call.custom_session_id,
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


def _answer(
    runtime: Runtime,
    tool_call: WebhookEventToolCall,
    message: Answer,
    status: CallStatus,
    *,
    deadline: float,
    cancel_guard: bool = True,
    **fields: str | int | None,
) -> str:
    """Deliver the answer once (claiming it), record it. Returns the call's final status, or "duplicate"."""
    call = tool_call.tool_call_message
    settings = runtime.settings
    code = getattr(message, "code", None)
    record: dict[str, str | int | None] = {"answer_type": message.type, "error_code": code, **fields}
    try:
        delivery = runtime.run(
            deliver(
                tool_call.chat_id,
                message,
                deadline=deadline + settings.delivery_grace_seconds,
                claim_key=contract.answered(call.tool_call_id),
            )
        )
        if delivery.transport is None:
            log.warning("tool call %s (%s): already answered, this answer is dropped", call.tool_call_id, call.name)
            return "duplicate"
        record.update(transport=delivery.transport, relay_wait_ms=delivery.relay_wait_ms, answered_ms=now_ms())
        log.info(
            "tool call %s (%s): %s%s delivered by %s",
            call.tool_call_id,
            call.name,
            message.type,
            f" ({code})" if code else "",
            delivery.transport,
        )
    except Undeliverable as exc:
        status = CallStatus.UNDELIVERABLE
        record.update(transport="http", http_status=exc.status, error=str(exc))
    except Exception as exc:
        log.exception("tool call %s (%s): delivering the answer failed", call.tool_call_id, call.name)
        status = CallStatus.UNDELIVERABLE
        record.update(transport="http", error=f"delivery failed: {type(exc).__name__}")
    with runtime.redis.pipeline(transaction=False) as pipe:
        update_call(pipe, call.tool_call_id, settings.record_ttl_seconds, status=status, **record)
        if cancel_guard:
            queue = Queue(TOOLS_QUEUE, connection=runtime.redis, serializer=JSONSerializer)
            guard = guard_job_id(tool_call)
            ScheduledJobRegistry(queue=queue).remove(guard, pipeline=pipe)  # type: ignore[no-untyped-call]
            pipe.delete(Job.key_for(guard))
        pipe.execute()
    return status


def _current_job_id() -> str | None:
    job = get_current_job()
    return job.id if job is not None else None


def _enqueued_at() -> float | None:
    job = get_current_job()
    if job is None or job.enqueued_at is None:
        return None
    enqueued: datetime = job.enqueued_at
    return (enqueued if enqueued.tzinfo else enqueued.replace(tzinfo=UTC)).timestamp()
