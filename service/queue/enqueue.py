"""Claim a delivery and queue its job in one Redis round trip, so each event is queued at most once and a tool
call's deadline is recorded with it.

Used by the webhook intake and by the relay for tool calls seen on the socket: whichever sees a tool call
first queues it, the other gets "duplicate". One Lua script does it all or nothing: the delivery claim
(`SET NX EX`), RQ's job hash (`service.queue.job_hash`) and queue push, and for a call that needs an answer
its deadline (`evi:deadlines`, which the watchdog answers from whatever happens to the job), its call
record and its place in the call log (`evi:calls`, trimmed of calls older than the records' TTL as it goes). A
Redis failure leaves none of it behind, so Hume's redelivery can succeed. A delivery of a call already queued
counts as a dedupe hit in that call's record, in the same script.

When tracing is on, the job carries the trace context in its meta, so the worker's spans join the intake's trace.

The deadline counts from the moment EVI triggered the call, with the tool's timeout as the workers published
it (`evi:tools:timeouts`) or, for a tool no worker has published, the default.

The job fields that are the same for every job of a function are written into that function's script once,
so each call sends only what differs: packing arguments is most of a Redis call's client cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis as AsyncRedis

from service.evi.timestamps import now_ms
from service.evi.webhooks import WebhookEvent, WebhookEventToolCall
from service.observability import tracing
from service.queue import contract
from service.queue.batching import BatchedScript
from service.queue.job_hash import JobTemplate
from service.redis_client import REQUEST_TIMEOUT_SECONDS

_ENQUEUE = """
-- Written in by script_for: JOB_CONSTANTS (the job hash's constant fields), QUEUE, RQ_QUEUES, DEADLINES,
-- TOOL_TIMEOUTS, CALL_LOG (key names), CLAIM_TTL, DEFAULT_TIMEOUT_MS, RECORD_TTL.
-- KEYS: 1 delivery claim, 2 job hash, 3 call record
-- ARGV: 1 job id, 2 tool call id ('' when no answer is owed), 3 tool name, 4 triggered (ms), 5 created_at,
--       6 data, 7 description, 8 chat id, 9 tool type, 10 received (ms), 11 custom session id ('' for none),
--       12 the job's meta: JSON of the trace context ('' when not tracing)
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', CLAIM_TTL) then
    if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
        redis.call('HINCRBY', KEYS[3], 'dedupe_hits', 1)
    end
    return false
end
redis.call('HSET', KEYS[2], 'created_at', ARGV[5], 'enqueued_at', ARGV[5], 'data', ARGV[6],
    'description', ARGV[7], unpack(JOB_CONSTANTS))
if ARGV[12] ~= '' then
    redis.call('HSET', KEYS[2], 'meta', ARGV[12])
end
redis.call('RPUSH', QUEUE, ARGV[1])
redis.call('SADD', RQ_QUEUES, QUEUE)
if ARGV[2] == '' then
    return 0
end
local timeout = tonumber(redis.call('HGET', TOOL_TIMEOUTS, ARGV[3])) or DEFAULT_TIMEOUT_MS
local deadline = tonumber(ARGV[4]) + timeout
redis.call('ZADD', DEADLINES, deadline, ARGV[2])
redis.call('HSET', KEYS[3], 'status', 'queued', 'deadline_ms', deadline, 'name', ARGV[3], 'chat_id', ARGV[8],
    'tool_type', ARGV[9], 'received_ms', ARGV[10], 'job_id', ARGV[1])
if ARGV[11] ~= '' then
    redis.call('HSET', KEYS[3], 'custom_session_id', ARGV[11])
end
redis.call('EXPIRE', KEYS[3], RECORD_TTL)
redis.call('ZADD', CALL_LOG, ARGV[4], ARGV[2])
redis.call('ZREMRANGEBYSCORE', CALL_LOG, '-inf', string.format('(%d', tonumber(ARGV[4]) - RECORD_TTL * 1000))
return deadline
"""


def lua_string(value: Any) -> str:
    """`value` as a Lua string literal: every byte escaped in decimal, so any bytes are safe."""
    raw = value if isinstance(value, bytes) else str(value).encode()
    return '"' + "".join(f"\\{byte}" for byte in raw) + '"'


def script_for(
    template: JobTemplate, *, claim_ttl_seconds: int, record_ttl_seconds: int, default_timeout_ms: int
) -> str:
    """The intake script for one job function, with what is the same for every call written into it: the
    template's constant job fields, the key names that do not vary and the settings. Redis keeps the script as
    long as it runs; each call sends only what differs (12 arguments and 3 keys)."""
    pairs = ", ".join(f"{lua_string(k)}, {lua_string(v)}" for k, v in template.constant_fields.items())
    constants = {
        "QUEUE": lua_string(contract.rq_queue(template.queue)),
        "RQ_QUEUES": lua_string(contract.RQ_QUEUES),
        "DEADLINES": lua_string(contract.DEADLINES),
        "TOOL_TIMEOUTS": lua_string(contract.TOOL_TIMEOUTS),
        "CALL_LOG": lua_string(contract.CALL_LOG),
        "CLAIM_TTL": str(int(claim_ttl_seconds)),
        "DEFAULT_TIMEOUT_MS": str(int(default_timeout_ms)),
        "RECORD_TTL": str(int(record_ttl_seconds)),
    }
    lines = [f"local JOB_CONSTANTS = {{{pairs}}}", *(f"local {name} = {value}" for name, value in constants.items())]
    return "\n".join(lines) + _ENQUEUE


@dataclass(frozen=True)
class Enqueued:
    status: Literal["queued", "duplicate"]
    job_id: str
    deadline_ms: int | None = None
    """When the answer is due, for a tool call that needs one."""


def delivery_id(event: WebhookEvent) -> str:
    """What makes two deliveries the same: the tool call id, or the chat id and event name."""
    if isinstance(event, WebhookEventToolCall):
        return event.tool_call_message.tool_call_id
    return event.chat_id


def job_id(event: WebhookEvent) -> str:
    return contract.job_id(event.event_name, delivery_id(event))


class Enqueuer:
    """Queues events through one asyncio Redis client (one script per job function, registered once)."""

    def __init__(
        self, redis: AsyncRedis, *, claim_ttl_seconds: int, record_ttl_seconds: int, default_timeout_seconds: float
    ) -> None:
        self.redis = redis
        self.claim_ttl_seconds = claim_ttl_seconds
        self.record_ttl_seconds = record_ttl_seconds
        self.default_timeout_ms = int(default_timeout_seconds * 1000)
        self.templates: dict[str, JobTemplate] = {}
        self._scripts: dict[str, BatchedScript] = {}
        for event_name, function in contract.JOB_FUNCTIONS.items():
            template = JobTemplate(function, contract.queue_for(event_name))
            self.templates[event_name] = template
            script = script_for(
                template,
                claim_ttl_seconds=claim_ttl_seconds,
                record_ttl_seconds=record_ttl_seconds,
                default_timeout_ms=self.default_timeout_ms,
            )
            self._scripts[event_name] = BatchedScript(redis, script, timeout_seconds=REQUEST_TIMEOUT_SECONDS)

    async def enqueue(self, event: WebhookEvent, body: bytes | None = None) -> Enqueued:
        """Queue the event's job unless this delivery was claimed before. Raises redis errors as they are.

        `body`: the JSON the event was validated from (the webhook's body), passed to the job as it is; without
        it, the event's own JSON dump."""
        ident = job_id(event)
        template = self.templates[event.event_name]
        argument = body if body is not None else event.model_dump_json().encode()
        job = template.per_job_fields(argument, describe(event))
        received = now_ms()
        call_id = tool = chat_id = tool_type = session = ""
        triggered = timestamp = 0
        if isinstance(event, WebhookEventToolCall):
            call = event.tool_call_message
            tool, chat_id, tool_type = call.name, event.chat_id, call.tool_type.value
            call_id = call.tool_call_id if call.response_required else ""
            timestamp = event.timestamp
            triggered = contract.triggered_ms(timestamp, received)
            session = call.custom_session_id or event.custom_session_id or ""
        trace_context = tracing.queued(event)
        keys = [
            contract.delivery_claim(event.event_name, delivery_id(event)),
            contract.rq_job(ident),
            contract.call_record(call_id),
        ]
        args = [
            ident,
            call_id,
            tool,
            triggered,
            job["created_at"],
            job["data"],
            job["description"],
            chat_id,
            tool_type,
            timestamp,
            session,
            json.dumps(trace_context) if trace_context else "",
        ]
        result = await self._scripts[event.event_name](keys=keys, args=args)
        if result is None:
            return Enqueued("duplicate", ident)
        return Enqueued("queued", ident, int(result) if call_id else None)


def describe(event: WebhookEvent) -> str:
    """The job's description in RQ (what `rq info` shows)."""
    if isinstance(event, WebhookEventToolCall):
        return f"tool {event.tool_call_message.name} for chat {event.chat_id}"
    return f"{event.event_name} for chat {event.chat_id}"
