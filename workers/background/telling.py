"""A background run's result, told to the live chat once (claimed: `contract.background_told`).

Finished: a `session_settings` whose context says the result (the handler's own `ToolResult` context and
variables when it returned one; else a temporary context with the answer's text, for the next response), then,
unless `announce=False`, an `assistant_input` that says it: the handler's text when it returned text (return the
sentence to be said), else `DONE_SENTENCE`. Failed (an exception, `ToolError`, its timeout): the same pair with
the fallback (or the `ToolError`'s content), said whatever `announce` is, since the caller was told to expect
news. A chat that ended meanwhile is told nothing: the result is recorded (`background_status`).
"""

from __future__ import annotations

import logging
import time

from service.evi.control_plane import Undeliverable
from service.evi.messages import AssistantInput, Context, ContextType, PublishMessage, SessionSettings
from service.evi.timestamps import now_ms
from service.evi.webhooks import WebhookEventToolCall
from service.queue import contract
from service.redis_client import text
from workers.handlers.execution import Outcome, failure_content
from workers.handlers.registry import RegisteredTool
from workers.records import ChatStatus
from workers.redis_retry import patient_until, retry_redis_async
from workers.runtime import Runtime

log = logging.getLogger("evi_toolhost.background")

DONE_SENTENCE = "That's done now."
SEND_SECONDS = 10.0
"""How long each message of a result may take to go out."""


def result_messages(tool: RegisteredTool, outcome: Outcome, custom_session_id: str | None) -> list[PublishMessage]:
    message = outcome.message
    session = custom_session_id
    if outcome.status == "answered" and message.type == "tool_response":
        preface = outcome.preface
        context = preface.context if preface is not None and preface.context is not None else None
        if context is None:
            context = Context(
                text=f"The {tool.name} tool, started earlier in this call, has finished. Its result: {message.content}",
                type=ContextType.TEMPORARY,
            )
        variables = preface.variables if preface is not None else None
        told: list[PublishMessage] = [SessionSettings(context=context, variables=variables, custom_session_id=session)]
        if tool.policy.announce:
            said = message.content if outcome.plain_text and message.content.strip() else DONE_SENTENCE
            told.append(AssistantInput(text=said, custom_session_id=session))
        return told
    said = message.content or failure_content(tool, tool.name)
    context = Context(
        text=f"The {tool.name} tool, started earlier in this call, did not finish: {said}", type=ContextType.TEMPORARY
    )
    return [
        SessionSettings(context=context, custom_session_id=session),
        AssistantInput(text=said, custom_session_id=session),
    ]


async def tell_result(
    runtime: Runtime,
    tool_call: WebhookEventToolCall,
    tool: RegisteredTool,
    outcome: Outcome,
    *,
    chat_ended: bool,
    started_ms: int,
) -> str:
    """Tell the result (on the runtime's loop) and record it; returns the `background_status` recorded."""
    call = tool_call.tool_call_message
    redis, settings = runtime.aredis, runtime.settings
    until = patient_until(time.time() + SEND_SECONDS)

    async def claim() -> tuple[bool, str | None]:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set(contract.background_told(call.tool_call_id), "run", nx=True, ex=settings.claim_ttl_seconds)
            pipe.hget(contract.chat_record(tool_call.chat_id), "status")
            taken, chat_status = await pipe.execute()
        return bool(taken), text(chat_status)

    taken, chat_status = await retry_redis_async(claim, until=until)
    if not taken:
        log.warning("tool call %s (%s): its result was told already (past due)", call.tool_call_id, call.name)
        return "told_elsewhere"
    fields: dict[str, str | int] = {
        "background_started_ms": started_ms,
        "background_finished_ms": now_ms(),
        "background_answer_type": outcome.message.type,
    }
    code = getattr(outcome.message, "code", None)
    if code:
        fields["background_error_code"] = code
    if chat_ended or chat_status == ChatStatus.ENDED:
        status = "cancelled" if outcome.status == "cancelled" else "chat_ended"
        log.info("tool call %s (%s): its chat ended first; result recorded, not sent", call.tool_call_id, call.name)
    else:
        status = outcome.status
        for message in result_messages(tool, outcome, call.custom_session_id):
            try:
                sent = await runtime.delivery.send(tool_call.chat_id, message, deadline=time.time() + SEND_SECONDS)
            except Undeliverable as exc:
                status = "undeliverable"
                fields["background_error"] = str(exc)[:300]
                break
            if sent.transport is not None:
                fields["background_transport"] = sent.transport
        else:
            fields["background_told_ms"] = now_ms()
            log.info("tool call %s (%s): background result told (%s)", call.tool_call_id, call.name, status)
    fields["background_status"] = status

    async def record() -> None:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(contract.call_record(call.tool_call_id), mapping=fields)  # type: ignore[arg-type]
            pipe.expire(contract.call_record(call.tool_call_id), settings.record_ttl_seconds)
            pipe.zrem(contract.BACKGROUND_RUNS, call.tool_call_id)
            await pipe.execute()

    await retry_redis_async(record, until=until)
    return status
