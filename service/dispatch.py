"""Claim a delivery and queue its job, atomically, so each event is queued at most once.

Used by the webhook intake and by the relay for tool calls seen on the socket: whichever sees a
tool call first queues it, the other gets "duplicate". The claim and the job are written in one
Redis transaction (WATCH, then MULTI: SET NX EX + RQ's enqueue), so a failure leaves neither behind
and Hume's redelivery can succeed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from redis import Redis
from redis.exceptions import WatchError
from rq import Queue
from rq.serializers import JSONSerializer

from service.evi.webhooks import WebhookEvent, WebhookEventToolCall

TOOLS_QUEUE = "evi-tools"
EVENTS_QUEUE = "evi-events"
JOB_FUNCTIONS = {
    "tool_call": "workers.jobs.run_tool_call",
    "chat_started": "workers.jobs.run_chat_started",
    "chat_ended": "workers.jobs.run_chat_ended",
}
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
JOB_RESULT_TTL_SECONDS = 600
JOB_FAILURE_TTL_SECONDS = 7 * 24 * 3600
TOOL_JOB_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Dispatched:
    status: Literal["queued", "duplicate"]
    job_id: str


def delivery_id(event: WebhookEvent) -> str:
    """What makes two deliveries the same: the tool call id, or the chat id and event name."""
    if isinstance(event, WebhookEventToolCall):
        return event.tool_call_message.tool_call_id
    return event.chat_id


def claim_key(event: WebhookEvent) -> str:
    return f"evi:claim:{event.event_name}:{delivery_id(event)}"


def job_id(event: WebhookEvent) -> str:
    """An RQ job id derived from the claim key (RQ accepts only [A-Za-z0-9_-] in ids)."""
    ident = delivery_id(event)
    if not _SAFE_ID.match(ident):
        ident = hashlib.sha256(ident.encode()).hexdigest()[:40]
    return f"{event.event_name}-{ident}"


def queue_for(event: WebhookEvent, redis: Redis) -> Queue:
    name = TOOLS_QUEUE if isinstance(event, WebhookEventToolCall) else EVENTS_QUEUE
    return Queue(name, connection=redis, serializer=JSONSerializer)


def dispatch(redis: Redis, event: WebhookEvent, claim_ttl_seconds: int) -> Dispatched:
    """Queue the event's job unless this delivery was claimed before. Raises redis errors as they are."""
    key = claim_key(event)
    ident = job_id(event)
    queue = queue_for(event, redis)
    with redis.pipeline() as pipe:
        try:
            pipe.watch(key)  # type: ignore[no-untyped-call]
            if pipe.exists(key):
                return Dispatched("duplicate", ident)
            pipe.multi()
            pipe.set(key, ident, nx=True, ex=claim_ttl_seconds)
            queue.enqueue_call(
                JOB_FUNCTIONS[event.event_name],
                args=(event.model_dump(mode="json"),),
                job_id=ident,
                timeout=TOOL_JOB_TIMEOUT_SECONDS,
                result_ttl=JOB_RESULT_TTL_SECONDS,
                failure_ttl=JOB_FAILURE_TTL_SECONDS,
                description=_describe(event),
                pipeline=pipe,
            )
            pipe.execute()
        except WatchError:
            return Dispatched("duplicate", ident)
    return Dispatched("queued", ident)


def _describe(event: WebhookEvent) -> str:
    if isinstance(event, WebhookEventToolCall):
        return f"tool {event.tool_call_message.name} for chat {event.chat_id}"
    return f"{event.event_name} for chat {event.chat_id}"
