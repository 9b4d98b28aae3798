"""Call and chat records: what happened to each tool call and chat, kept in Redis hashes with a TTL.

Times are epoch milliseconds. A record is for operators and tests to read; nothing decides on it
(the claims in `service.queue.contract` do that).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from enum import StrEnum

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.client import Pipeline

from service.queue import contract
from service.queue.batching import BatchedScript


class CallStatus(StrEnum):
    QUEUED = "queued"
    """Written by the intake with the job; a worker that claims the call writes its outcome when it has one
    (while it runs, `evi:run:{id}` exists)."""
    ANSWERED = "answered"
    """A `tool_response` was delivered."""
    FAILED = "failed"
    """A `tool_error` (other than timeout) was delivered; `error_code` says which."""
    TIMEOUT = "timeout"
    """A `tool_error` with code `timeout` was delivered."""
    UNDELIVERABLE = "undeliverable"
    """The control plane did not take the answer (chat gone, or retries ran out)."""
    NOT_REQUIRED = "not_required"
    """`response_required` was false (built-in tools): nothing is owed, nothing was run."""
    CANCELLED = "cancelled"
    """Stopped before it finished (`cancel_reason`): by the caller's interruption (answered `tool_error`
    `cancelled`), or by its chat's end (nothing sent)."""
    CHAT_ENDED = "chat_ended"
    """Its chat ended while it ran and the tool finishes anyway (`on_chat_end="finish"`): the answer it would have
    sent is recorded (`answer_type`), not sent."""


class ChatStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


Fields = Mapping[str, str | int | float | None]


def _clean(fields: Fields) -> dict[str, str | int | float]:
    return {key: value for key, value in fields.items() if value is not None}


def update_call(
    redis: Redis | Pipeline,
    tool_call_id: str,
    ttl_seconds: int,
    *,
    logged_at: int | None = None,
    **fields: str | int | float | None,
) -> None:
    """Set `fields`; `logged_at` (ms) also lists the call in the call log (`contract.CALL_LOG`), for a record that
    the intake did not write."""
    key = contract.call_record(tool_call_id)
    values = _clean(fields)
    if isinstance(redis, Pipeline):
        _update(redis, key, values, ttl_seconds, tool_call_id, logged_at)
        return
    with redis.pipeline(transaction=False) as pipe:
        _update(pipe, key, values, ttl_seconds, tool_call_id, logged_at)
        pipe.execute()


def _update(
    pipe: Pipeline, key: str, values: Fields, ttl_seconds: int, tool_call_id: str, logged_at: int | None
) -> None:
    pipe.hset(key, mapping=values)  # type: ignore[arg-type]
    pipe.expire(key, ttl_seconds)
    if logged_at is not None:
        pipe.zadd(contract.CALL_LOG, {tool_call_id: logged_at})


FINISH = """
-- A call's outcome into its record and, once it is answered, the call off the deadlines; a record written here
-- from nothing (the intake's is gone) gets a TTL of its own.
-- KEYS: 1 the call record, 2 the deadlines; ARGV: 1 record ttl (s), 2 the tool call id when answered, else '',
--       3... field, value pairs
local added = 0
if #ARGV > 2 then
    added = redis.call('HSET', KEYS[1], unpack(ARGV, 3))
end
if ARGV[2] ~= '' then
    redis.call('ZREM', KEYS[2], ARGV[2])
end
if #ARGV > 2 and added == (#ARGV - 2) / 2 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return added
"""
FINISH_TIMEOUT_SECONDS = 2.0
_finishers: weakref.WeakKeyDictionary[AsyncRedis, BatchedScript] = weakref.WeakKeyDictionary()


async def finish_call(
    redis: AsyncRedis, tool_call_id: str, ttl_seconds: int, fields: Fields, *, answered: bool
) -> None:
    """Write a call's outcome (one HSET) and, once it is answered, take it off `evi:deadlines`, in one script that
    goes out with the other calls' finishing in the same turn of the loop (`BatchedScript`): a burst of answers
    takes one Redis connection, not one each. The record keeps the TTL the intake gave it; one written here from
    nothing (the intake's is gone) gets its own."""
    finisher = _finishers.get(redis)
    if finisher is None:
        finisher = _finishers[redis] = BatchedScript(redis, FINISH, timeout_seconds=FINISH_TIMEOUT_SECONDS)
    pairs = [item for pair in _clean(fields).items() for item in pair]
    keys = [contract.call_record(tool_call_id), contract.DEADLINES]
    await finisher(keys, [ttl_seconds, tool_call_id if answered else "", *pairs])


def update_chat(
    redis: Redis, chat_id: str, ttl_seconds: int, fields: Fields, *, only_if_missing: Fields | None = None
) -> None:
    """Set `fields`, and `only_if_missing` where the record has no value yet (out-of-order events)."""
    key = contract.chat_record(chat_id)
    with redis.pipeline(transaction=True) as pipe:
        values = _clean(fields)
        if values:
            pipe.hset(key, mapping=values)  # type: ignore[arg-type]
        for name, value in _clean(only_if_missing or {}).items():
            pipe.hsetnx(key, name, value)
        pipe.expire(key, ttl_seconds)
        pipe.execute()


def read(redis: Redis, key: str) -> dict[str, str]:
    raw: dict[bytes, bytes] = redis.hgetall(key)  # type: ignore[assignment]
    return {k.decode(): v.decode() for k, v in raw.items()}


def read_call(redis: Redis, tool_call_id: str) -> dict[str, str]:
    return read(redis, contract.call_record(tool_call_id))


def read_chat(redis: Redis, chat_id: str) -> dict[str, str]:
    return read(redis, contract.chat_record(chat_id))
