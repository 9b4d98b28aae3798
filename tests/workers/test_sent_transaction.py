"""A transaction sent by one thread and read by another (`workers.sent_transaction`), on a real Redis: the replies
are Redis's own, in order, with a failed command's error in its place, and a connection left mid-reply never
reaches another user of the pool."""

from __future__ import annotations

import threading

import pytest
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from workers.sent_transaction import send_transaction


def queue_commands(redis: Redis, key: str) -> Pipeline:
    pipeline = redis.pipeline()
    pipeline.hset(key, mapping={"status": "started", "worker": "w1"})
    pipeline.expire(key, 60)
    pipeline.lpush(key, "x")  # a wrong type: fails inside the transaction, the others still apply
    pipeline.hget(key, "status")
    return pipeline


def test_the_replies_are_redis_s_own_and_the_commands_applied_as_execute_applies_them(real_redis: Redis) -> None:
    queue_commands(real_redis, "executed").execute(raise_on_error=False)

    replies = send_transaction(queue_commands(real_redis, "sent")).replies()

    assert replies[:2] == [2, 1] and replies[3] == b"started"
    assert isinstance(replies[2], ResponseError) and "WRONGTYPE" in str(replies[2])
    assert real_redis.hgetall("sent") == real_redis.hgetall("executed")
    assert 0 < real_redis.ttl("sent") <= 60


def test_another_thread_reads_the_replies_while_the_sender_uses_the_pool(real_redis: Redis) -> None:
    pipeline = real_redis.pipeline()
    pipeline.set("k", "v")
    pipeline.incr("n")
    sent = send_transaction(pipeline)
    assert real_redis.get("k") == b"v"  # the sender goes on, on another connection of the pool
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.extend(sent.replies()))
    reader.start()
    reader.join(5)
    assert got == [b"OK", 1]
    assert real_redis.connection_pool._in_use_connections == set()  # type: ignore[attr-defined]


def test_a_connection_lost_before_the_replies_is_raised_and_never_reused(
    real_redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = real_redis.pipeline()
    pipeline.set("k", "v")
    sent = send_transaction(pipeline)
    broken = next(iter(real_redis.connection_pool._in_use_connections))  # type: ignore[attr-defined]

    def link_dropped(*args: object, **kwargs: object) -> object:
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(broken, "read_response", link_dropped)
    with pytest.raises(RedisConnectionError):
        sent.replies()

    assert broken._sock is None  # closed before it went back to the pool
    assert real_redis.connection_pool._in_use_connections == set()  # type: ignore[attr-defined]
    monkeypatch.undo()
    assert real_redis.ping()  # the pool's next user reconnects


def test_replies_dropped_unread_close_their_connection(real_redis: Redis) -> None:
    pipeline = real_redis.pipeline()
    pipeline.get("missing")
    sent = send_transaction(pipeline)
    connection = next(iter(real_redis.connection_pool._in_use_connections))  # type: ignore[attr-defined]

    sent.abandon()

    assert connection._sock is None
    assert real_redis.get("missing") is None  # the next user does not read the dropped replies
    with pytest.raises(RuntimeError):
        sent.replies()
