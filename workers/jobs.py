"""The RQ job functions. The web tier enqueues the first three by path (`service.queue.contract.JOB_FUNCTIONS`),
each with one argument: the webhook event as JSON-mode dict. Each hands its event to the module that walks it
(`workers.tool_calls`, `workers.lifecycle`) with this process's runtime.
"""

from __future__ import annotations

import logging
from typing import Any

from rq import get_current_job

from service.evi.webhooks import WebhookEventChatEnded, WebhookEventChatStarted
from workers import call_log, lifecycle, observability, run_claims, tool_calls
from workers.runtime import get_runtime

log = logging.getLogger("evi_toolhost.jobs")


def run_tool_call(event: dict[str, Any]) -> str:
    """Run one tool call and answer it; returns what happened (the call record's status, or "duplicate").

    A tool's redacted arguments stay out of the logs while it runs, and out of the job's payload once it is done."""
    job = get_current_job()
    runtime = get_runtime()
    with (
        call_log.sensitive_call(runtime.registry, event, job),
        observability.tool_call_job(event, job.meta if job is not None else None) as seen,
    ):
        status = tool_calls.run_tool_call(
            runtime,
            event,
            job_id=job.id if job is not None else None,
            enqueued_at=tool_calls.enqueued_at(job) if job is not None else None,
            prepared=run_claims.take(job.id if job is not None else None),
        )
        seen.outcome(status)
    return status


def run_chat_started(event: dict[str, Any]) -> str:
    lifecycle.chat_started(get_runtime(), WebhookEventChatStarted.model_validate(event))
    return "recorded"


def run_chat_ended(event: dict[str, Any]) -> str:
    lines = lifecycle.chat_ended(get_runtime(), WebhookEventChatEnded.model_validate(event))
    return f"recorded, {lines} transcript lines"
