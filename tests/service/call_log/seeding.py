"""Call records and their index entries written as the intake and the worker leave them, for the readers' tests."""

from __future__ import annotations

from redis import Redis

from service.queue import contract


def seed(
    redis: Redis,
    call_id: str,
    at_ms: int,
    *,
    name: str = "lookup_order",
    status: str = "answered",
    latency: int = 100,
    chat: str = "chat-1",
    **fields: str | int,
) -> None:
    record: dict[str, str | int] = {"name": name, "status": status, "chat_id": chat, "received_ms": at_ms, **fields}
    if status not in ("queued", "running"):
        record["answered_ms"] = at_ms + latency
    if status == "running":
        record.update(status="queued", started_ms=at_ms + 5)
    redis.hset(contract.call_record(call_id), mapping=record)
    redis.zadd(contract.CALL_LOG, {call_id: at_ms})
