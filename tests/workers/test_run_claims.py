"""A tool call's run claim goes out in the round trip that marks its job started (`workers.run_claims`), on a real
Redis: the job then runs without a claim of its own, and still runs at most once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

import workers.call_log
import workers.job_start
import workers.run_claims
from service.evi.control_plane import RecordingControlPlane
from service.queue import contract
from tests.conftest import make_settings
from tests.support.webhooks import tool_call_payload
from tests.workers.conftest import no_network
from workers.handlers.registry import Registry
from workers.runtime import Runtime, use_runtime
from workers.sent_transaction import SentTransaction
from workers.worker import ToolhostWorker

ran: list[str] = []


@pytest.fixture
def control_plane() -> RecordingControlPlane:
    return RecordingControlPlane()


@pytest.fixture
def runtime(real_redis: Redis, redis_url: str, control_plane: RecordingControlPlane) -> Iterator[Runtime]:
    registry = Registry()

    @registry.tool
    def lookup(city: str) -> str:
        ran.append(city)
        return f"sunny in {city}"

    ran.clear()
    real_redis.script_load(workers.call_log.CLAIM_AND_RECORD)  # as after the first claim since Redis started
    runtime = Runtime(
        make_settings(redis_url=redis_url),
        real_redis,
        registry=registry,
        control_plane=control_plane,
        http=httpx.AsyncClient(transport=httpx.MockTransport(no_network)),
        aredis=AsyncRedis.from_url(redis_url),
    )
    with use_runtime(runtime):
        yield runtime
    runtime.close()


@pytest.fixture
def claims_by_the_job(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The run claims a job took by itself (`claim_and_record`), by claim key."""
    taken: list[str] = []
    real = workers.call_log.claim_and_record

    def spy(redis: Redis, claim_key: str, *args: Any, **kwargs: Any) -> bool:
        taken.append(claim_key)
        return real(redis, claim_key, *args, **kwargs)

    monkeypatch.setattr(workers.call_log, "claim_and_record", spy)
    return taken


def worker_on_one_call(redis: Redis, tool_call_id: str) -> tuple[ToolhostWorker, Job]:
    """Queue one tool call as the web does, and let a worker with job slots dequeue and run it."""
    queue = Queue(f"tools-{uuid.uuid4().hex[:8]}", connection=redis, serializer=JSONSerializer)
    event = tool_call_payload("lookup", {"city": "Paris"}, tool_call_id=tool_call_id)
    job = queue.enqueue_call(contract.JOB_FUNCTIONS["tool_call"], args=(event,), timeout=30)
    worker = ToolhostWorker([queue], connection=redis, concurrency=2)
    result = worker.dequeue_job_and_maintain_ttl(None)
    assert result is not None
    worker.execute_job(*result)
    assert worker.slots is not None and worker.slots.wait(10)
    worker.slots.close()
    return worker, job


def run_one_call(redis: Redis, tool_call_id: str) -> tuple[str, str, str]:
    """`worker_on_one_call`: its job's status and id, and the worker's name."""
    worker, job = worker_on_one_call(redis, tool_call_id)
    return str(job.return_value(refresh=True)), job.id, worker.name


@pytest.mark.usefixtures("runtime")
def test_the_run_claim_is_taken_with_the_job_s_start_and_the_job_takes_none(
    real_redis: Redis, control_plane: RecordingControlPlane, claims_by_the_job: list[str]
) -> None:
    call_id = f"toolu_{uuid.uuid4().hex}"
    status, job_id, worker = run_one_call(real_redis, call_id)
    assert status == "answered"
    assert claims_by_the_job == []
    assert ran == ["Paris"]
    assert [sent.message.type for sent in control_plane.sent] == ["tool_response"]
    holder = real_redis.get(contract.run_claim(call_id))
    assert holder is not None and holder.decode().startswith(f"{job_id}:")
    record = {k.decode(): v.decode() for k, v in real_redis.hgetall(contract.call_record(call_id)).items()}
    assert record["status"] == "answered"
    assert record["worker"] == worker
    assert int(record["job_started_ms"]) <= int(record["started_ms"]) <= int(record["finished_ms"])


@pytest.mark.usefixtures("runtime")
def test_a_redis_that_lost_its_scripts_leaves_the_claim_to_the_job(
    real_redis: Redis, control_plane: RecordingControlPlane, claims_by_the_job: list[str]
) -> None:
    real_redis.script_flush()
    call_id = f"toolu_{uuid.uuid4().hex}"
    assert run_one_call(real_redis, call_id)[0] == "answered"
    assert claims_by_the_job == [contract.run_claim(call_id)]
    assert ran == ["Paris"]
    assert [sent.message.type for sent in control_plane.sent] == ["tool_response"]


@pytest.mark.usefixtures("runtime")
def test_a_call_another_run_holds_is_not_run_again(
    real_redis: Redis, control_plane: RecordingControlPlane, claims_by_the_job: list[str]
) -> None:
    call_id = f"toolu_{uuid.uuid4().hex}"
    real_redis.set(contract.run_claim(call_id), "another-job:0123456789ab", ex=60)
    assert run_one_call(real_redis, call_id)[0] == "duplicate"
    assert claims_by_the_job == []
    assert ran == []
    assert control_plane.sent == []


@pytest.mark.usefixtures("runtime")
def test_a_start_whose_reply_was_lost_is_started_again_by_the_job_thread_and_runs_once(
    real_redis: Redis, control_plane: RecordingControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dequeuing thread sends the start; the job thread reads its replies. Applied, but the link dropped before the
    # replies came: the job thread starts the job again (its run claim holds this run's token, so it is still ours).
    read = SentTransaction.replies
    lost: list[int] = []

    def reply_lost(self: SentTransaction) -> list[object]:
        read(self)
        lost.append(1)
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(SentTransaction, "replies", reply_lost)
    call_id = f"toolu_{uuid.uuid4().hex}"
    worker, job = worker_on_one_call(real_redis, call_id)

    assert lost == [1]
    assert job.return_value(refresh=True) == "answered"
    assert ran == ["Paris"]
    assert [sent.message.type for sent in control_plane.sent] == ["tool_response"]
    assert worker.executions == {}  # the lost start's execution is not left behind


@pytest.mark.usefixtures("runtime")
def test_a_start_redis_never_confirms_leaves_the_job_unrun_and_its_slot_free(
    real_redis: Redis, control_plane: RecordingControlPlane, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def unavailable(*args: object, **kwargs: object) -> object:
        raise RedisConnectionError("Connection refused.")

    monkeypatch.setattr(SentTransaction, "replies", unavailable)
    monkeypatch.setattr(ToolhostWorker, "prepare_execution", unavailable)
    monkeypatch.setattr(workers.job_start, "PREPARE_PATIENCE_SECONDS", 0.2)
    call_id = f"toolu_{uuid.uuid4().hex}"
    worker, job = worker_on_one_call(real_redis, call_id)

    assert ran == [] and control_plane.sent == []
    assert f"job {job.id} not started, Redis unavailable" in caplog.text
    assert workers.run_claims.take(job.id) is None
    assert worker.executions == {} and worker._prepared == set()
