"""The guard of a running tool call: an RQ job scheduled for just after the call's deadline that answers
`timeout` in place of a worker that died mid-call, and does nothing once the call was answered.

RQ schedules in whole seconds, so the guard fires at least `GUARD_MARGIN_SECONDS` after the deadline.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from service.evi.webhooks import WebhookEventToolCall
from service.queue import contract
from service.queue.enqueue import job_id

log = logging.getLogger("evi_toolhost.guard")

GUARD_FUNCTION = "workers.jobs.answer_abandoned_tool_call"
GUARD_MARGIN_SECONDS = 1
GUARD_JOB_TIMEOUT_SECONDS = 60


def guard_job_id(tool_call: WebhookEventToolCall) -> str:
    return f"guard-{job_id(tool_call)}"


def schedule(
    redis: Redis, pipe: Pipeline, tool_call: WebhookEventToolCall, event: dict[str, Any], deadline: float
) -> None:
    """Add the guard's scheduling to `pipe` (a duplicate job rewrites the same guard; it does nothing if answered)."""
    queue = Queue(contract.TOOLS_QUEUE, connection=redis, serializer=JSONSerializer)
    fire_at = datetime.fromtimestamp(math.ceil(deadline) + GUARD_MARGIN_SECONDS, tz=UTC)
    call = tool_call.tool_call_message
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


def cancel(redis: Redis, pipe: Pipeline, tool_call: WebhookEventToolCall) -> None:
    queue = Queue(contract.TOOLS_QUEUE, connection=redis, serializer=JSONSerializer)
    guard = guard_job_id(tool_call)
    ScheduledJobRegistry(queue=queue).remove(guard, pipeline=pipe)  # type: ignore[no-untyped-call]
    pipe.delete(Job.key_for(guard))
