"""Claim a delivery and queue its job in one Redis round trip, so each event is queued at most once and a tool
call's deadline is recorded with it.

Used by the webhook intake and by the relay for tool calls seen on the socket: whichever sees a tool call
first queues it, the other gets "duplicate". One Lua script does it all or nothing: the delivery claim
(`SET NX EX`), RQ's job hash and queue push (the hash as RQ's own `Job.to_dict()` makes it), and for a call
that needs an answer its deadline (`evi:deadlines`, which the watchdog answers from whatever happens to the
job), its place among queued calls (`evi:queued`, for re-queueing a job that vanished) and its call record.
A Redis failure leaves none of it behind, so Hume's redelivery can succeed.

The deadline counts from the moment EVI triggered the call, with the tool's timeout as the workers published
it (`evi:tools:timeouts`) or, for a tool no worker has published, the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.utils import now, utcformat

from service.evi.timestamps import now_ms
from service.evi.webhooks import WebhookEvent, WebhookEventToolCall
from service.queue import contract

_ENQUEUE = """
-- KEYS: 1 delivery claim, 2 job hash, 3 queue, 4 rq:queues, 5 deadlines, 6 queued, 7 call record, 8 tool timeouts
-- ARGV: 1 job id, 2 claim ttl (s), 3 tool call id ('' when no answer is owed), 4 tool name,
--       5 triggered (ms), 6 default timeout (ms), 7 record ttl (s), 8 now (ms), 9 number of record pairs,
--       then the record's field/value pairs, then the job hash's field/value pairs
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
    return false
end
local pairs = tonumber(ARGV[9])
redis.call('HSET', KEYS[2], unpack(ARGV, 10 + 2 * pairs))
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], KEYS[3])
if ARGV[3] == '' then
    return 0
end
local timeout = tonumber(redis.call('HGET', KEYS[8], ARGV[4])) or tonumber(ARGV[6])
local deadline = tonumber(ARGV[5]) + timeout
redis.call('ZADD', KEYS[5], deadline, ARGV[3])
redis.call('ZADD', KEYS[6], ARGV[8], ARGV[3])
redis.call('HSET', KEYS[7], 'status', 'queued', 'deadline_ms', deadline,
    unpack(ARGV, 10, 9 + 2 * pairs))
redis.call('EXPIRE', KEYS[7], ARGV[7])
return deadline
"""


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
    """Queues events through one asyncio Redis client (its script is registered once)."""

    def __init__(
        self, redis: AsyncRedis, *, claim_ttl_seconds: int, record_ttl_seconds: int, default_timeout_seconds: float
    ) -> None:
        self.redis = redis
        self.claim_ttl_seconds = claim_ttl_seconds
        self.record_ttl_seconds = record_ttl_seconds
        self.default_timeout_ms = int(default_timeout_seconds * 1000)
        self._script = redis.register_script(_ENQUEUE)
        self._job_client = Redis()  # RQ's Job wants a client; building its hash (to_dict) uses none

    async def enqueue(self, event: WebhookEvent) -> Enqueued:
        """Queue the event's job unless this delivery was claimed before. Raises redis errors as they are."""
        ident = job_id(event)
        is_tool_call = isinstance(event, WebhookEventToolCall)
        queue = contract.TOOLS_QUEUE if is_tool_call else contract.EVENTS_QUEUE
        received = now_ms()
        call = event.tool_call_message if isinstance(event, WebhookEventToolCall) else None
        owed = isinstance(event, WebhookEventToolCall) and event.tool_call_message.response_required
        record = _record(event) if isinstance(event, WebhookEventToolCall) and owed else {}
        args: list[Any] = [
            ident,
            self.claim_ttl_seconds,
            call.tool_call_id if owed and call is not None else "",
            call.name if call is not None else "",
            contract.triggered_ms(event.timestamp, received) if isinstance(event, WebhookEventToolCall) else 0,
            self.default_timeout_ms,
            self.record_ttl_seconds,
            received,
            len(record),
        ]
        for field, value in record.items():
            args += [field, value]
        for field, value in self._job_hash(event, ident, queue).items():
            args += [field, value]
        keys = [
            contract.delivery_claim(event.event_name, delivery_id(event)),
            Job.key_for(ident),
            contract.rq_queue(queue),
            contract.RQ_QUEUES,
            contract.DEADLINES,
            contract.QUEUED,
            contract.call_record(call.tool_call_id) if call is not None else contract.call_record(""),
            contract.TOOL_TIMEOUTS,
        ]
        result = await self._script(keys=keys, args=args)
        if result is None:
            return Enqueued("duplicate", ident)
        return Enqueued("queued", ident, int(result) if owed else None)

    def _job_hash(self, event: WebhookEvent, ident: str, queue: str) -> dict[str, Any]:
        job = Job.create(
            contract.JOB_FUNCTIONS[event.event_name],
            args=(event.model_dump(mode="json"),),
            connection=self._job_client,
            id=ident,
            timeout=contract.JOB_TIMEOUT_SECONDS,
            result_ttl=contract.JOB_RESULT_TTL_SECONDS,
            failure_ttl=contract.JOB_FAILURE_TTL_SECONDS,
            description=_describe(event),
            serializer=JSONSerializer,
            origin=queue,
        )
        fields = job.to_dict()
        fields.update(status=JobStatus.QUEUED.value, enqueued_at=utcformat(now()))
        return fields


def _record(event: WebhookEventToolCall) -> dict[str, Any]:
    """What the call record starts with: enough for the watchdog to answer the call with no job to read."""
    call = event.tool_call_message
    record: dict[str, Any] = {
        "name": call.name,
        "chat_id": event.chat_id,
        "tool_type": call.tool_type.value,
        "received_ms": event.timestamp,
    }
    session = call.custom_session_id or event.custom_session_id
    if session is not None:
        record["custom_session_id"] = session
    return record


def _describe(event: WebhookEvent) -> str:
    if isinstance(event, WebhookEventToolCall):
        return f"tool {event.tool_call_message.name} for chat {event.chat_id}"
    return f"{event.event_name} for chat {event.chat_id}"
