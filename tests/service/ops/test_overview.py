"""What the ops page shows at a glance, from Redis and RQ's registries as RQ and the relay leave them."""

from __future__ import annotations

import asyncio

import fakeredis

from service.ops.overview import overview
from service.queue import contract
from tests.service.call_log.seeding import seed

NOW = 1_800_000_000_000


def test_the_overview_gathers_calls_workers_queues_and_chats(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    seed(fake_redis, "done", NOW - 5000, latency=210)
    seed(fake_redis, "running", NOW - 800, status="running", worker="w1")
    fake_redis.zadd(contract.DEADLINES, {"running": NOW + 9200, "lost": NOW + 300})
    fake_redis.sadd(contract.RQ_WORKERS, f"{contract.RQ_WORKER_PREFIX}w1", f"{contract.RQ_WORKER_PREFIX}gone")
    worker_hash = {
        "state": "busy",
        "hostname": "box",
        "pid": 42,
        "queues": "evi-tools,evi-events",
        "last_heartbeat": "2027-01-15T07:59:59.000000Z",  # a second before NOW
        "successful_job_count": 7,
    }
    fake_redis.hset(f"{contract.RQ_WORKER_PREFIX}w1", mapping=worker_hash)  # type: ignore[arg-type]
    fake_redis.rpush(contract.rq_queue(contract.TOOLS_QUEUE), "job-1", "job-2")
    fake_redis.zadd(contract.rq_failed_registry(contract.EVENTS_QUEUE), {"job-3": 1})
    fake_redis.zadd(contract.ACTIVE_CHATS, {"chat-1": NOW - 60_000})
    fake_redis.hset(contract.socket_state("chat-1"), mapping={"state": "open", "relay": "r1", "sent": 4})

    seen = asyncio.run(overview(fake_aredis, NOW))
    assert seen["in_flight"]["count"] == 2
    lost, running = seen["in_flight"]["calls"]
    assert (lost["tool_call_id"], lost["state"], lost["due_in_ms"]) == ("lost", "queued", 300)
    assert (running["state"], running["worker"], running["age_ms"]) == ("running", "w1", 800)
    assert [(c["tool_call_id"], c["latency_ms"]) for c in seen["recent"]] == [("running", None), ("done", 210)]
    (worker,) = seen["workers"]
    assert worker == {
        "name": "w1",
        "state": "busy",
        "hostname": "box",
        "pid": 42,
        "queues": ["evi-tools", "evi-events"],
        "started_ms": None,
        "heartbeat_age_ms": 1000,
        "successful_jobs": 7,
        "failed_jobs": 0,
    }
    assert seen["queues"] == [
        {"name": "evi-tools", "waiting": 2, "starting": 0, "failed": 0},
        {"name": "evi-events", "waiting": 0, "starting": 0, "failed": 1},
    ]
    chat = {"chat_id": "chat-1", "started_ms": NOW - 60_000, "socket": "open", "relay": "r1", "connects": 0, "sent": 4}
    assert seen["chats"] == {"count": 1, "chats": [chat]}
