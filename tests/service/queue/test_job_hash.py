"""The intake's RQ job hash is the one RQ itself would write, and RQ reads it back as the job we meant."""

from __future__ import annotations

import asyncio
import json
import zlib
from datetime import UTC, datetime
from typing import Any

import fakeredis
import pytest
from redis import Redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.utils import utcformat

from service.evi.webhooks import WebhookEvent, webhook_event_adapter
from service.queue import contract, job_hash
from service.queue.enqueue import Enqueuer, describe, job_id, lua_string
from service.queue.job_hash import JobTemplate
from tests.support.webhooks import chat_ended_payload, chat_started_payload, tool_call_payload

FROZEN = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)
EVENTS = {
    "tool_call": tool_call_payload("get_weather", {"city": "Zürich"}, tool_call_id="toolu_h1"),
    "chat_started": chat_started_payload(chat_id="chat_h1"),
    "chat_ended": chat_ended_payload(chat_id="chat_h1"),
}


def rq_own_hash(event: WebhookEvent) -> dict[str, Any]:
    job = Job.create(
        contract.JOB_FUNCTIONS[event.event_name],
        args=(event.model_dump(mode="json"),),
        connection=Redis(),
        id=job_id(event),
        timeout=contract.JOB_TIMEOUT_SECONDS,
        result_ttl=contract.JOB_RESULT_TTL_SECONDS,
        failure_ttl=contract.JOB_FAILURE_TTL_SECONDS,
        description=describe(event),
        serializer=JSONSerializer,
        origin=contract.queue_for(event.event_name),
    )
    fields = job.to_dict()
    fields.update(status=JobStatus.QUEUED.value, enqueued_at=fields["created_at"])
    return fields


@pytest.mark.parametrize("event_name", sorted(EVENTS))
def test_the_hash_is_the_one_rq_makes(event_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_hash, "now", lambda: FROZEN)
    monkeypatch.setattr("rq.job.now", lambda: FROZEN)
    monkeypatch.setattr("rq.job.utcformat", utcformat)
    event = webhook_event_adapter.validate_python(EVENTS[event_name])
    template = JobTemplate(contract.JOB_FUNCTIONS[event_name], contract.queue_for(event_name))
    ours = template.job_hash(json.dumps(EVENTS[event_name]).encode(), describe(event))
    theirs = rq_own_hash(event)

    def readable(fields: dict[str, Any]) -> dict[str, Any]:
        return {k: (json.loads(zlib.decompress(v)) if k == "data" else v) for k, v in fields.items()}

    assert readable(ours) == readable(theirs)


@pytest.mark.parametrize("event_name", sorted(EVENTS))
def test_rq_reads_the_queued_job_back_as_the_event(event_name: str) -> None:
    server = fakeredis.FakeServer()
    redis = fakeredis.FakeRedis(server=server)
    event = webhook_event_adapter.validate_python(EVENTS[event_name])
    enqueuer = Enqueuer(
        fakeredis.FakeAsyncRedis(server=server), claim_ttl_seconds=60, record_ttl_seconds=60, default_timeout_seconds=5
    )
    assert asyncio.run(enqueuer.enqueue(event)).status == "queued"
    job = Job.fetch(job_id(event), connection=redis, serializer=JSONSerializer)
    assert job.func_name == contract.JOB_FUNCTIONS[event_name]
    assert list(job.args) == [event.model_dump(mode="json")]  # JSON makes the tuple a list, as for any RQ job
    assert job.get_status() == JobStatus.QUEUED
    assert job.origin == contract.queue_for(event_name)
    assert job.timeout == contract.JOB_TIMEOUT_SECONDS
    assert job.description == describe(event)
    assert redis.lrange(contract.rq_queue(job.origin), 0, -1) == [job.id.encode()]


@pytest.mark.parametrize("value", ["plain", 'quote " and \\ backslash', "new\nline", b"\x00\xff\x9c binary", 600])
def test_lua_string_literals_carry_any_bytes(value: str | bytes | int) -> None:
    server = fakeredis.FakeServer()
    redis = fakeredis.FakeRedis(server=server)
    expected = value if isinstance(value, bytes) else str(value).encode()
    assert redis.eval(f"return {lua_string(value)}", 0) == expected


@pytest.mark.parametrize(
    "moment",
    [FROZEN, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)],
)
def test_timestamps_are_written_as_rq_writes_them(moment: datetime) -> None:
    assert job_hash.rq_timestamp(moment) == utcformat(moment)
