"""What the ops page shows at a glance, read from Redis in two round trips: calls in flight (owed an answer),
the newest calls, RQ's live workers and queue depths, and the active chats with their sockets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from service.call_log.reading import read_records
from service.call_log.view import SUMMARY_FIELDS, state, summary
from service.queue import contract
from service.redis_client import text

RECENT = 100
SHOWN = 50
"""At most this many in-flight calls and chats are listed (their counts are exact)."""
WORKER_FIELDS = (
    "state",
    "hostname",
    "pid",
    "queues",
    "birth",
    "last_heartbeat",
    "successful_job_count",
    "failed_job_count",
)
SOCKET_FIELDS = ("state", "relay", "since_ms", "connects", "sent")


def _ms(rq_time: str | None) -> int | None:
    """RQ's UTC timestamps ('%Y-%m-%dT%H:%M:%S.%fZ') as epoch ms."""
    if not rq_time:
        return None
    try:
        return int(datetime.fromisoformat(rq_time.replace("Z", "")).replace(tzinfo=UTC).timestamp() * 1000)
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _fields(names: tuple[str, ...], values: list[Any]) -> dict[str, str]:
    return {name: str(text(value)) for name, value in zip(names, values, strict=True) if value is not None}


async def overview(redis: Redis, now_ms: int) -> dict[str, Any]:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(contract.DEADLINES)
        pipe.zrange(contract.DEADLINES, 0, SHOWN - 1, withscores=True)
        pipe.zrevrange(contract.CALL_LOG, 0, RECENT - 1)
        pipe.smembers(contract.RQ_WORKERS)
        pipe.zcard(contract.ACTIVE_CHATS)
        pipe.zrevrange(contract.ACTIVE_CHATS, 0, SHOWN - 1, withscores=True)
        for queue in contract.WORKER_QUEUES:
            pipe.llen(contract.rq_queue(queue))
            pipe.llen(contract.rq_intermediate_queue(queue))
            pipe.zcard(contract.rq_failed_registry(queue))
        replies = await pipe.execute()
    flying, due, newest, worker_keys, chat_count, chats = replies[:6]
    queue_replies = replies[6:]
    flying_ids = [str(text(raw)) for raw, _ in due]
    worker_keys = sorted(str(text(key)) for key in worker_keys)
    chat_ids = [str(text(raw)) for raw, _ in chats]

    async with redis.pipeline(transaction=False) as pipe:
        for key in worker_keys:
            pipe.hmget(key, list(WORKER_FIELDS))
        for chat_id in chat_ids:
            pipe.hmget(contract.socket_state(chat_id), list(SOCKET_FIELDS))
        details = await pipe.execute() if worker_keys or chat_ids else []
    flying_records = dict(await read_records(redis, flying_ids, SUMMARY_FIELDS))
    recent = await read_records(redis, [str(text(raw)) for raw in newest], SUMMARY_FIELDS)

    workers = []
    for key, values in zip(worker_keys, details[: len(worker_keys)], strict=True):
        found = _fields(WORKER_FIELDS, values)
        if not found:
            continue  # its key expired: the worker is gone, RQ drops it from the set later
        heartbeat = _ms(found.get("last_heartbeat"))
        workers.append(
            {
                "name": key.removeprefix(contract.RQ_WORKER_PREFIX),
                "state": found.get("state", "?"),
                "hostname": found.get("hostname"),
                "pid": _int(found.get("pid")),
                "queues": [name for name in found.get("queues", "").split(",") if name],
                "started_ms": _ms(found.get("birth")),
                "heartbeat_age_ms": now_ms - heartbeat if heartbeat is not None else None,
                "successful_jobs": _int(found.get("successful_job_count")) or 0,
                "failed_jobs": _int(found.get("failed_job_count")) or 0,
            }
        )
    sockets = details[len(worker_keys) :]
    active = []
    for (chat_id, (_, started)), values in zip(zip(chat_ids, chats, strict=True), sockets, strict=True):
        socket = _fields(SOCKET_FIELDS, values)
        active.append(
            {
                "chat_id": chat_id,
                "started_ms": int(started),
                "socket": socket.get("state", "none"),
                "relay": socket.get("relay"),
                "connects": _int(socket.get("connects")) or 0,
                "sent": _int(socket.get("sent")) or 0,
            }
        )
    in_flight = []
    for (call_id, deadline) in ((str(text(raw)), int(score)) for raw, score in due):
        record = flying_records.get(call_id, {})
        received = _int(record.get("received_ms"))
        in_flight.append(
            {
                "tool_call_id": call_id,
                "tool": record.get("name"),
                "chat_id": record.get("chat_id"),
                "state": state(record) if record else "queued",
                "worker": record.get("worker"),
                "age_ms": now_ms - received if received is not None else None,
                "due_in_ms": deadline - now_ms,
            }
        )
    queues = [
        {
            "name": queue,
            "waiting": int(queue_replies[3 * index]),
            "starting": int(queue_replies[3 * index + 1]),
            "failed": int(queue_replies[3 * index + 2]),
        }
        for index, queue in enumerate(contract.WORKER_QUEUES)
    ]
    return {
        "now_ms": now_ms,
        "in_flight": {"count": int(flying), "calls": in_flight},
        "recent": [summary(call_id, record) for call_id, record in recent],
        "workers": workers,
        "queues": queues,
        "chats": {"count": int(chat_count), "chats": active},
    }
