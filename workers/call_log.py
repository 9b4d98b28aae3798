"""The worker's part of the call log: what it adds to a call's record (`evi:call:{id}`), and what it keeps out.

The intake writes a record's first version with the call's place in the log (`service.queue.enqueue`). A worker
adds, in the round trip that claims the run (`claim_and_record`): when it started, which worker runs it and the
arguments; and with the outcome (the final HSET of `workers.tool_calls`): the answer's content and error, and
how many sends delivering it took. Reading the log is `service.call_log`'s, shared by the CLI and the ops page.

A tool's redacted arguments (`@tool(redact=...)`) are replaced in the recorded arguments; their values are
scrubbed from the recorded answer, hidden from this process's logs while the call runs (`workers.hidden_values`)
and, once the job is done, taken out of RQ's job payload (`sensitive_call`): RQ writes the job's hash back when
the job ends, from the job object this rewrites. Until then the raw arguments are in the queue, in transit.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script
from rq import get_current_job
from rq.job import Job

from service.evi.messages import ToolCallMessage, ToolErrorMessage, ToolResponseMessage
from service.evi.timestamps import now_ms
from service.queue import contract
from workers import hidden_values
from workers.handlers.redaction import redact_parameters, scrub, sensitive_values
from workers.handlers.registry import Registry

CONTENT_LIMIT = 32_768
"""Characters of an answer's content kept in its record; a longer one keeps its length and its SHA-256 too, so
a replay can still tell whether the answer changed."""

CLAIM_AND_RECORD = """
-- Claim the run of a tool call and, when this job got it, note in its record who runs it since when, in one
-- round trip. A claim that already holds our token was ours (taken just as Redis went away): still ours.
-- KEYS: 1 the run claim, 2 the call record; ARGV: 1 our token, 2 claim ttl (s), 3 record ttl (s), 4... fields
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
    if #ARGV > 3 then
        redis.call('HSET', KEYS[2], unpack(ARGV, 4))
        redis.call('EXPIRE', KEYS[2], ARGV[3])
    end
    return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return 1
end
return 0
"""

Answer = ToolResponseMessage | ToolErrorMessage


@functools.cache
def _host_and_pid() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


def worker_name(job: Job | None = None) -> str:
    """The RQ worker running `job` (by default the current one), else this host and process."""
    job = job if job is not None else get_current_job()
    name = getattr(job, "worker_name", None) if job is not None else None
    return str(name) if name else _host_and_pid()


def _epoch_ms(moment: datetime) -> int:
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def _redact_names(registry: Registry, name: str) -> frozenset[str]:
    tool = registry.get(name)
    return tool.redact if tool is not None else frozenset()


def started(
    registry: Registry, call: ToolCallMessage, job: Job | None = None, worker: str | None = None
) -> dict[str, str | int]:
    """What the record gets when a worker starts the call (`job`, by default the current one; `worker`, by default
    the one running it): when, where, and its arguments (redacted)."""
    arguments, redacted = redact_parameters(call.parameters, _redact_names(registry, call.name))
    job = job if job is not None else get_current_job()
    now = now_ms()
    fields: dict[str, str | int] = {"started_ms": now, "worker": worker or worker_name(job), "arguments": arguments}
    if redacted:
        fields["redacted"] = ",".join(redacted)
    # Outside RQ (the test kit, a replay) the call's job is this very run.
    started_at = job.started_at if job is not None else None
    fields["job_started_ms"] = _epoch_ms(started_at) if started_at is not None else now
    return fields


@functools.cache
def _claim_script() -> Script:
    # A Script is only its text and SHA; each call names its client.
    return Script(None, CLAIM_AND_RECORD.encode())  # type: ignore[arg-type]


def claim_command(
    claim_key: str, token: str, tool_call_id: str, fields: Mapping[str, str | int], *, claim_ttl: int, record_ttl: int
) -> tuple[list[str], list[str | int]]:
    """The keys and arguments of `CLAIM_AND_RECORD` that take the run claim and write `fields` into the record."""
    pairs = [item for pair in fields.items() for item in pair]
    return [claim_key, contract.call_record(tool_call_id)], [token, claim_ttl, record_ttl, *pairs]


def claim_and_record(
    redis: Redis,
    claim_key: str,
    token: str,
    tool_call_id: str,
    fields: Mapping[str, str | int],
    *,
    claim_ttl: int,
    record_ttl: int,
) -> bool:
    """Take the run claim (`SET NX`) and, if taken, write `fields` into the call's record: one round trip."""
    keys, args = claim_command(claim_key, token, tool_call_id, fields, claim_ttl=claim_ttl, record_ttl=record_ttl)
    return bool(_claim_script()(keys, args, client=redis))


def queue_claim_and_record(pipeline: Pipeline, command: tuple[list[str], list[str | int]]) -> None:
    """A `claim_command` as one more command of `pipeline` (its reply: 1 taken, 0 not). By SHA alone: a Redis that
    lost its scripts answers that command with `NoScriptError`, and the caller claims by `claim_and_record`."""
    keys, args = command
    pipeline.evalsha(_claim_script().sha, len(keys), *keys, *args)


def answer_fields(registry: Registry, call: ToolCallMessage, message: Answer) -> dict[str, str | int]:
    """What the record gets with the outcome: the answer's content (capped), and a tool_error's own error."""
    hidden = sensitive_values(call.parameters, _redact_names(registry, call.name))
    content = scrub(message.content or "", hidden)
    fields: dict[str, str | int] = {"content": content[:CONTENT_LIMIT]}
    if len(content) > CONTENT_LIMIT:
        fields["content_chars"] = len(content)
        fields["content_sha256"] = content_digest(content)
    if isinstance(message, ToolErrorMessage) and message.error:
        fields["answer_error"] = scrub(message.error, hidden)
    return fields


def content_digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


@contextmanager
def sensitive_call(registry: Registry, event: Mapping[str, Any], job: Job | None) -> Iterator[None]:
    """Around one tool call's job: its redacted arguments' values are hidden from this process's logs while it
    runs, and taken out of the job's payload when it is done (RQ then writes the payload back without them)."""
    message = event.get("tool_call_message")
    if not isinstance(message, Mapping):
        yield
        return
    names = _redact_names(registry, str(message.get("name", "")))
    parameters = message.get("parameters")
    if not names or not isinstance(parameters, str):
        yield
        return
    try:
        with hidden_values.hidden(sensitive_values(parameters, names)):
            yield
    finally:
        if job is not None:
            redacted, _ = redact_parameters(parameters, names)
            job.args = ({**event, "tool_call_message": {**message, "parameters": redacted}},)
