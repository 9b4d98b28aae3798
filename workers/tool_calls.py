"""One tool call, as a worker runs it, in order: claim the run → run the handler (`workers.handlers.execution`)
→ deliver the answer (`workers.delivery`) → record what happened (`workers.records`).

Once picked up, a call:
1. claims the run (`SET evi:run:{id} NX`), so however often its job runs (webhook redelivery, the relay seeing
   the call too, the watchdog re-queueing a lost job) the handler runs at most once;
2. runs the handler within the call's deadline, on this job thread's own event loop, with what the tool says
   meanwhile and what may stop it (`workers.around_call`); a background tool is answered with its ack and runs
   on (`workers.background`);
3. delivers the answer under the call's answer claim, which every sender of an answer shares (this job, the
   watchdog, the relay), so EVI gets at most one (nothing when the chat ended meanwhile);
4. records the outcome in `evi:call:{id}` and takes the call off `evi:deadlines`.

A call whose worker dies or hangs, or whose job is lost, is answered `timeout` by the watchdog
(`workers.watchdog`) from the deadline the intake recorded; the deadline here is computed by the same rule.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rq.job import Job

from service.evi.control_plane import Undeliverable
from service.evi.messages import PublishMessage, ToolCallMessage
from service.evi.timestamps import now_ms
from service.evi.webhooks import WebhookEventToolCall
from service.queue import contract
from workers import call_log, conversation, history, observability
from workers.around_call import AroundCall
from workers.background import BackgroundRun
from workers.handlers.context import ToolContext
from workers.handlers.execution import Answer, execute_in_thread
from workers.handlers.registry import RegisteredTool
from workers.records import CallStatus, finish_call, update_call
from workers.redis_retry import patient_until, retry_redis, retry_redis_async
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


def deadline_of(runtime: Runtime, tool_call: WebhookEventToolCall, received: float | None) -> float:
    """When the answer is due (epoch seconds), by the rule the intake used (`contract.triggered_ms`)."""
    call = tool_call.tool_call_message
    tool = runtime.registry.get(call.name)
    answer_timeout = tool.answer_timeout if tool is not None else None
    timeout = answer_timeout if answer_timeout is not None else runtime.settings.tool_timeout_seconds
    received_ms = int((received if received is not None else time.time()) * 1000)
    return (contract.triggered_ms(tool_call.timestamp, received_ms) + int(timeout * 1000)) / 1000


def enqueued_at(job: Job) -> float | None:
    """When the web tier queued `job` (epoch seconds)."""
    if job.enqueued_at is None:
        return None
    enqueued: datetime = job.enqueued_at
    return (enqueued if enqueued.tzinfo else enqueued.replace(tzinfo=UTC)).timestamp()


def run_token(job_id: str | None) -> str:
    """What a run writes into the run claim it takes: its job, and this very run of it."""
    return f"{job_id or 'run'}:{uuid.uuid4().hex[:12]}"


@dataclass
class RunClaim:
    """The run claim a call's run takes, and whether it has it (`workers.run_claims` takes it with the job's start)."""

    tool_call: WebhookEventToolCall
    call: ToolCallMessage
    deadline: float
    token: str
    record: dict[str, str | int]
    taken: bool | None = None
    """True: this run holds the claim; False: another run does; None: not asked yet."""


def new_claim(
    runtime: Runtime,
    tool_call: WebhookEventToolCall,
    call: ToolCallMessage,
    *,
    job_id: str | None,
    enqueued_at: float | None,
    job: Job | None = None,
    worker: str | None = None,
) -> RunClaim:
    return RunClaim(
        tool_call,
        call,
        deadline_of(runtime, tool_call, enqueued_at),
        run_token(job_id),
        call_log.started(runtime.registry, call, job, worker),
    )


def run_tool_call(
    runtime: Runtime,
    event: dict[str, Any],
    *,
    job_id: str | None = None,
    enqueued_at: float | None = None,
    prepared: RunClaim | None = None,
) -> str:
    """Run one tool call and answer it; returns the call record's final status, or "duplicate".

    `prepared`: the run claim taken with the job's start (`workers.run_claims`), with the event parsed."""
    tool_call, call = (prepared.tool_call, prepared.call) if prepared is not None else parse_tool_call(event)
    ttl = runtime.settings.record_ttl_seconds
    identity: dict[str, str | int | None] = {
        "name": call.name,
        "chat_id": tool_call.chat_id,
        "tool_type": call.tool_type.value,
        "received_ms": tool_call.timestamp,
        "queued_ms": int(enqueued_at * 1000) if enqueued_at is not None else None,
        "job_id": job_id,
    }
    if not call.response_required:
        update_call(
            runtime.redis,
            call.tool_call_id,
            ttl,
            **identity,
            status=CallStatus.NOT_REQUIRED,
            logged_at=tool_call.timestamp,
        )
        log.info("tool call %s (%s): no response required, not run", call.tool_call_id, call.name)
        return CallStatus.NOT_REQUIRED

    claim = prepared or new_claim(runtime, tool_call, call, job_id=job_id, enqueued_at=enqueued_at)
    deadline = claim.deadline
    if claim.taken is None:
        claim.taken = claim_run(runtime, call.tool_call_id, claim.token, deadline, claim.record)
    if not claim.taken:
        log.info("tool call %s (%s): already claimed by another job, not run again", call.tool_call_id, call.name)
        return "duplicate"
    started_ms = now_ms()
    tool = runtime.registry.get(call.name)
    if tool is not None and tool.policy.background:
        run = BackgroundRun(runtime, tool_call, tool, context_factory)
        first = run.first_answer()
        acked = answer(
            runtime,
            tool_call,
            first.message,
            CallStatus.ANSWERED if first.status == "answered" else CallStatus(first.status),
            deadline=deadline,
            before=run.register if first.status == "answered" else None,
            **identity,
            deadline_ms=int(deadline * 1000),
            started_ms=started_ms,
            finished_ms=now_ms(),
            ran=0,
            **run.fields(first),
        )
        run.start(acked=acked == CallStatus.ANSWERED)
        return acked
    context = context_factory(runtime, tool_call, deadline)
    with AroundCall(runtime, tool_call, tool, deadline) as around, observability.handler_running(call.name):
        outcome = around.stopped_before_start() or execute_in_thread(
            runtime.registry, call, context, deadline, runtime.job_loop, runtime.executor, stop=around.stop
        )
    timings = {"deadline_ms": int(deadline * 1000), "started_ms": started_ms, "finished_ms": now_ms()}
    if around.chat_ended:
        return around.record_unsent(outcome, **identity, **timings, ran=int(outcome.ran))
    status = CallStatus.ANSWERED if outcome.status == "answered" else CallStatus(outcome.status)
    return answer(
        runtime,
        tool_call,
        outcome.message,
        status,
        deadline=deadline,
        before=around.before_answer(outcome),
        **identity,
        **timings,
        ran=int(outcome.ran),
        **around.fields(outcome),
    )


def claim_run(runtime: Runtime, tool_call_id: str, token: str, deadline: float, record: dict[str, str | int]) -> bool:
    """Claim the run and, when claimed, write `record` into the call's record, in one round trip (retried while
    Redis is away: the claim carries a token of this run (`run_token`), so one taken just as Redis went down is
    still ours)."""
    key = contract.run_claim(tool_call_id)
    settings = runtime.settings

    def claim() -> bool:
        return call_log.claim_and_record(
            runtime.redis,
            key,
            token,
            tool_call_id,
            record,
            claim_ttl=settings.claim_ttl_seconds,
            record_ttl=settings.record_ttl_seconds,
        )

    return retry_redis(claim, until=deadline)


def context_factory(
    runtime: Runtime, tool_call: WebhookEventToolCall, deadline: float
) -> Callable[[RegisteredTool], ToolContext]:
    """How the handler's `ToolContext` is made: the one place, for the worker and the test kit alike."""

    async def send(message: PublishMessage) -> None:
        await runtime.call(runtime.delivery.send(tool_call.chat_id, message, deadline=deadline))

    async def transcript() -> list[TranscriptLine]:
        return await runtime.call(conversation.read(runtime.aredis, tool_call.chat_id))

    async def earlier_chats() -> list[TranscriptLine]:
        return await runtime.call(history.earlier_chats(runtime, tool_call.chat_id, tool_call.chat_group_id))

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
            _history=earlier_chats,
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
    before: Callable[[], Awaitable[None]] | None = None,
    **fields: str | int | None,
) -> str:
    """Deliver the answer once (claiming it) and record it, in one hop to the runtime's loop; `before` is awaited
    there first (what must go out ahead of the answer). Returns the call's final status, or "duplicate"."""
    with observability.delivering():
        return runtime.run(
            deliver_and_record(runtime, tool_call, message, status, deadline=deadline, before=before, **fields)
        )


async def deliver_and_record(
    runtime: Runtime,
    tool_call: WebhookEventToolCall,
    message: Answer,
    status: CallStatus,
    *,
    deadline: float,
    before: Callable[[], Awaitable[None]] | None = None,
    **fields: str | int | None,
) -> str:
    call = tool_call.tool_call_message
    settings = runtime.settings
    record: dict[str, str | int | None] = {"answer_type": message.type, "error_code": getattr(message, "code", None)}
    record.update(fields)
    record.update(call_log.answer_fields(runtime.registry, call, message))
    answered = True
    if before is not None:
        try:
            await before()
        except Exception:
            log.exception("tool call %s (%s): what goes out before the answer failed", call.tool_call_id, call.name)
    try:
        sent = await runtime.delivery.send(
            tool_call.chat_id, message, deadline=deadline + settings.delivery_grace_seconds
        )
    except Undeliverable as exc:
        status = CallStatus.UNDELIVERABLE
        record.update(transport="http", http_status=exc.status, error=str(exc), delivery_attempts=exc.attempts)
    except Exception as exc:
        # No claim was taken (Redis away past the deadline): the watchdog answers from the deadline entry.
        log.exception("tool call %s (%s): delivering the answer failed", call.tool_call_id, call.name)
        status = CallStatus.UNDELIVERABLE
        record.update(error=f"delivery failed: {type(exc).__name__}; left to the watchdog")
        answered = False
    else:
        if sent.transport is None:
            log.warning("tool call %s (%s): already answered, this answer is dropped", call.tool_call_id, call.name)
            return "duplicate"
        record.update(transport=sent.transport, relay_wait_ms=sent.relay_wait_ms, answered_ms=now_ms())
        record.update(delivery_attempts=sent.attempts)
        code = record["error_code"]
        log.info(
            "tool call %s (%s): %s%s delivered by %s",
            call.tool_call_id,
            call.name,
            message.type,
            f" ({code})" if code else "",
            sent.transport,
            extra=observability.log_fields(status, record),
        )
    record["status"] = status
    observability.call_finished(record, answered=answered)

    async def finish() -> None:
        await finish_call(runtime.aredis, call.tool_call_id, settings.record_ttl_seconds, record, answered=answered)

    await retry_redis_async(finish, until=patient_until(deadline + settings.delivery_grace_seconds))
    return status
