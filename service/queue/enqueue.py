"""Claim a delivery and queue its job, atomically, so each event is queued at most once.

Used by the webhook intake and by the relay for tool calls seen on the socket: whichever sees a
tool call first queues it, the other gets "duplicate". The claim and the job are written in one
Redis transaction (WATCH, then MULTI: SET NX EX + RQ's enqueue), so a failure leaves neither behind
and Hume's redelivery can succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from redis import Redis
from redis.exceptions import WatchError
from rq import Queue
from rq.serializers import JSONSerializer

from service.evi.webhooks import WebhookEvent, WebhookEventToolCall
from service.queue import contract


@dataclass(frozen=True)
class Enqueued:
    status: Literal["queued", "duplicate"]
    job_id: str


def delivery_id(event: WebhookEvent) -> str:
    """What makes two deliveries the same: the tool call id, or the chat id and event name."""
    if isinstance(event, WebhookEventToolCall):
        return event.tool_call_message.tool_call_id
    return event.chat_id


def job_id(event: WebhookEvent) -> str:
    return contract.job_id(event.event_name, delivery_id(event))


def queue_for(event: WebhookEvent, redis: Redis) -> Queue:
    name = contract.TOOLS_QUEUE if isinstance(event, WebhookEventToolCall) else contract.EVENTS_QUEUE
    return Queue(name, connection=redis, serializer=JSONSerializer)


def enqueue(redis: Redis, event: WebhookEvent, claim_ttl_seconds: int) -> Enqueued:
    """Queue the event's job unless this delivery was claimed before. Raises redis errors as they are."""
    key = contract.delivery_claim(event.event_name, delivery_id(event))
    ident = job_id(event)
    queue = queue_for(event, redis)
    with redis.pipeline() as pipe:
        try:
            pipe.watch(key)  # type: ignore[no-untyped-call]
            if pipe.exists(key):
                return Enqueued("duplicate", ident)
            pipe.multi()
            pipe.set(key, ident, nx=True, ex=claim_ttl_seconds)
            queue.enqueue_call(
                contract.JOB_FUNCTIONS[event.event_name],
                args=(event.model_dump(mode="json"),),
                job_id=ident,
                timeout=contract.JOB_TIMEOUT_SECONDS,
                result_ttl=contract.JOB_RESULT_TTL_SECONDS,
                failure_ttl=contract.JOB_FAILURE_TTL_SECONDS,
                description=_describe(event),
                pipeline=pipe,
            )
            pipe.execute()
        except WatchError:
            return Enqueued("duplicate", ident)
    return Enqueued("queued", ident)


def _describe(event: WebhookEvent) -> str:
    if isinstance(event, WebhookEventToolCall):
        return f"tool {event.tool_call_message.name} for chat {event.chat_id}"
    return f"{event.event_name} for chat {event.chat_id}"
