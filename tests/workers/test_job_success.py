"""A tool call's job ends in one round trip (`workers.job_success`) and leaves Redis exactly as RQ's own success
bookkeeping does, on a real Redis: RQ's dashboards, `rq info` and result lookups see the same job, result, registries
and worker counters."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from rq import Callback, Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

import workers.job_success
from service.evi.control_plane import RecordingControlPlane
from service.queue import contract
from tests.conftest import make_settings
from tests.support.webhooks import tool_call_payload
from tests.workers.conftest import no_network
from workers.handlers.registry import Registry
from workers.runtime import Runtime, use_runtime
from workers.worker import ToolhostWorker

QUEUE = "tools-success"


@pytest.fixture
def runtime(real_redis: Redis, redis_url: str) -> Iterator[Runtime]:
    registry = Registry()

    @registry.tool
    def lookup(city: str) -> str:
        return f"sunny in {city}"

    runtime = Runtime(
        make_settings(redis_url=redis_url),
        real_redis,
        registry=registry,
        control_plane=RecordingControlPlane(),
        http=httpx.AsyncClient(transport=httpx.MockTransport(no_network)),
        aredis=AsyncRedis.from_url(redis_url),
    )
    with use_runtime(runtime):
        yield runtime
    runtime.close()


def run_one_call(redis: Redis, worker_name: str) -> tuple[Job, dict[str, int]]:
    """One tool call queued as the web does and run by a worker with job slots; the job, and the Redis commands
    served while the worker dequeued and ran it, by name."""
    queue = Queue(QUEUE, connection=redis, serializer=JSONSerializer)
    event = tool_call_payload("lookup", {"city": "Paris"}, tool_call_id="toolu_same", timestamp_ms=1_765_000_000_000)
    job = queue.enqueue_call(contract.JOB_FUNCTIONS["tool_call"], args=(event,), timeout=30, job_id="job-same")
    worker = ToolhostWorker([queue], connection=redis, concurrency=2, name=worker_name)
    before = command_counts(redis)
    result = worker.dequeue_job_and_maintain_ttl(None)
    assert result is not None
    worker.execute_job(*result)
    assert worker.slots is not None and worker.slots.wait(10)
    worker.slots.close()
    after = command_counts(redis)
    return job, {name: after[name] - before.get(name, 0) for name in after}


def command_counts(redis: Redis) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in redis.info("commandstats").items()}


TIMES = re.compile(rb"\d{4}-\d\d-\d\dT[\d:.]+Z?|\d+\.\d+")
"""Times and durations (RQ's ISO times, the worker's total working time), which differ from run to run."""


def state(redis: Redis) -> dict[str, object]:
    """Every key but the call's own records, with what a reader of RQ's state sees in it: each hash's fields (values
    but times), each sorted set's and list's members, each stream's entry count, and whether the key expires."""
    snapshot: dict[str, object] = {}
    for raw in sorted(redis.scan_iter()):
        key = raw.decode()
        if key.startswith(f"{contract.PREFIX}:"):
            continue
        kind = redis.type(raw).decode()
        content: object
        if kind == "hash":
            content = {k: TIMES.sub(b"T", v) for k, v in redis.hgetall(raw).items() if k != b"last_heartbeat"}
        elif kind == "zset":
            content = sorted(redis.zrange(raw, 0, -1))
        elif kind == "list":
            content = redis.lrange(raw, 0, -1)
        elif kind == "set":
            content = sorted(redis.smembers(raw))
        elif kind == "stream":
            content = redis.xlen(raw)
        else:
            content = kind
        snapshot[key] = (content, redis.ttl(raw) > 0)
    return snapshot


@pytest.mark.usefixtures("runtime")
def test_a_tool_call_s_success_leaves_what_rq_s_own_bookkeeping_leaves(
    real_redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as rq_path:
        rq_path.setattr(workers.job_success, "is_plain_own_job", lambda job: False)
        rq_job, rq_commands = run_one_call(real_redis, "worker-same")
    rq_state = state(real_redis)
    real_redis.flushall()

    job, commands = run_one_call(real_redis, "worker-same")

    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert job.return_value(refresh=True) == "answered"
    assert rq_job.return_value() == "answered"
    assert state(real_redis) == rq_state
    # RQ's path: the job's heartbeat after it returns (an HSET), then WATCH and SMEMBERS of its dependents, each a
    # round trip of its own before the MULTI/EXEC both paths send.
    assert (rq_commands["watch"], commands.get("watch", 0)) == (1, 0)
    assert rq_commands["smembers"] - commands["smembers"] == 1
    assert rq_commands["hset"] - commands["hset"] == 1
    assert rq_commands["exec"] == commands["exec"]


def test_jobs_with_callbacks_repeats_a_rate_limit_or_other_functions_keep_rq_s_path(real_redis: Redis) -> None:
    queue = Queue(QUEUE, connection=real_redis, serializer=JSONSerializer)
    function = contract.JOB_FUNCTIONS["tool_call"]
    assert workers.job_success.is_plain_own_job(queue.enqueue_call(function, args=({},)))
    assert not workers.job_success.is_plain_own_job(queue.enqueue_call("builtins.print", args=("x",)))
    with_callback = queue.enqueue_call(function, args=({},), on_success=Callback(print))
    assert not workers.job_success.is_plain_own_job(with_callback)
    rate_limited = queue.enqueue_call(function, args=({},))
    rate_limited.rate_limit_key, rate_limited.rate_limit_concurrency = "rq:rate_limit:tools", 1
    assert not workers.job_success.is_plain_own_job(rate_limited)
    repeating = queue.enqueue_call(function, args=({},))
    repeating.repeats_left = 2
    assert not workers.job_success.is_plain_own_job(repeating)
