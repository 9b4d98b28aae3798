"""A tool call's run claim, taken in the round trip that marks its job started.

The worker marks a job started in one MULTI/EXEC (`ToolhostWorker.prepare_execution`), and the job then claimed
its call's run (`workers.tool_calls.claim_run`): a second round trip between the dequeue and the handler. Neither
needs the other's reply, so the claim goes into the start's transaction, and the job finds its outcome here,
with the event already parsed and the deadline computed.

A claim not decided there (Redis answered its script's SHA with NOSCRIPT, say) is left to the job, which
claims by itself as before, with the same token: a claim that holds it is still this run's.
"""

from __future__ import annotations

import logging
import threading

from redis.client import Pipeline
from rq.job import Job

from service.queue import contract
from workers import call_log
from workers.runtime import Runtime
from workers.tool_calls import RunClaim, enqueued_at, new_claim, parse_tool_call

log = logging.getLogger("evi_toolhost.run_claims")


_decided: dict[str, RunClaim] = {}
_lock = threading.Lock()


def prepare(runtime: Runtime, job: Job, worker: str) -> RunClaim | None:
    """The run claim to take with `job`'s start by `worker`; None when the job is not a tool call that needs an answer
    (or its event does not parse: the job itself then reports that)."""
    if job.func_name != contract.JOB_FUNCTIONS["tool_call"] or len(job.args) != 1:
        return None
    try:
        tool_call, call = parse_tool_call(job.args[0])
    except Exception:
        return None
    if not call.response_required:
        return None
    claim = new_claim(runtime, tool_call, call, job_id=job.id, enqueued_at=enqueued_at(job), job=job, worker=worker)
    claim.record["job_started_ms"] = claim.record["started_ms"]  # this start (the job's own may be an earlier run's)
    return claim


def queue(runtime: Runtime, pipeline: Pipeline, claim: RunClaim) -> None:
    """Add the claim to `pipeline`, as its last command."""
    settings = runtime.settings
    command = call_log.claim_command(
        contract.run_claim(claim.call.tool_call_id),
        claim.token,
        claim.call.tool_call_id,
        claim.record,
        claim_ttl=settings.claim_ttl_seconds,
        record_ttl=settings.record_ttl_seconds,
    )
    call_log.queue_claim_and_record(pipeline, command)


def settle(job_id: str, claim: RunClaim, reply: object) -> None:
    """Keep the claim's outcome, from its command's `reply`, for `job_id`'s run to `take`."""
    if isinstance(reply, Exception):
        log.debug("job %s: run claim left to the job (%s)", job_id, type(reply).__name__)
    else:
        claim.taken = bool(reply)
    with _lock:
        _decided[job_id] = claim


def take(job_id: str | None) -> RunClaim | None:
    """The claim prepared with `job_id`'s start, once; None if there was none."""
    if job_id is None:
        return None
    with _lock:
        return _decided.pop(job_id, None)


def forget(job_id: str) -> None:
    with _lock:
        _decided.pop(job_id, None)
