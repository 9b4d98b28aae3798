"""Auto-pipelined script calls on a real Redis: batched when they arrive together, each with its own reply or
error, and every failure of Redis an error for the calls it hit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis import Redis
from redis.exceptions import ConnectionError, ResponseError

from service.queue.batching import BatchedScript
from service.redis_client import connect_async

DOUBLE = """
if ARGV[1] == 'fail' then
    return redis.error_reply('ERR asked to fail')
end
redis.call('RPUSH', KEYS[1], ARGV[1])
return tonumber(ARGV[1]) * 2
"""


@asynccontextmanager
async def batched(url: str, timeout_seconds: float = 2) -> AsyncIterator[BatchedScript]:
    client = connect_async(url, socket_timeout=None)
    try:
        yield BatchedScript(client, DOUBLE, timeout_seconds=timeout_seconds)
    finally:
        await client.aclose()


async def test_calls_in_the_same_turn_go_out_as_one_batch_each_with_its_reply(
    redis_url: str, real_redis: Redis
) -> None:
    async with batched(redis_url, 2) as script:
        replies = await asyncio.gather(*(script(["seen"], [i]) for i in range(50)))
        assert replies == [i * 2 for i in range(50)]
        assert script.batches == 1
        assert real_redis.lrange("seen", 0, -1) == [str(i).encode() for i in range(50)]


async def test_a_call_alone_goes_out_alone(redis_url: str) -> None:
    async with batched(redis_url, 2) as script:
        assert [await script(["seen"], [i]) for i in range(3)] == [0, 2, 4]
        assert script.batches == 3


async def test_an_error_reply_fails_only_its_own_call(redis_url: str) -> None:
    async with batched(redis_url, 2) as script:
        results = await asyncio.gather(
            script(["seen"], [1]), script(["seen"], ["fail"]), script(["seen"], [3]), return_exceptions=True
        )
        assert results[0] == 2 and results[2] == 6
        assert isinstance(results[1], ResponseError) and "asked to fail" in str(results[1])


async def test_scripts_flushed_from_redis_are_loaded_again(redis_url: str, real_redis: Redis) -> None:
    async with batched(redis_url, 2) as script:
        assert await script(["seen"], [1]) == 2
        real_redis.script_flush()
        assert await asyncio.gather(script(["seen"], [2]), script(["seen"], [3])) == [4, 6]
        real_redis.script_flush()
        assert await script(["seen"], [4]) == 8


async def test_redis_unreachable_fails_every_call_of_the_batch() -> None:
    client = connect_async("redis://127.0.0.1:1/0", socket_timeout=None)
    script = BatchedScript(client, DOUBLE, timeout_seconds=2)
    results = await asyncio.gather(*(script(["seen"], [i]) for i in range(3)), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results), results
    await client.aclose()


async def test_a_redis_that_stops_answering_fails_the_calls_by_the_timeout(redis_url: str, real_redis: Redis) -> None:
    async with batched(redis_url, 0.3) as script:
        assert await script(["seen"], [1]) == 2  # connected before Redis pauses
        real_redis.client_pause(1500)
        started = time.monotonic()
        results = await asyncio.gather(script(["seen"], [2]), script(["seen"], [3]), return_exceptions=True)
        took = time.monotonic() - started
        assert all(isinstance(result, TimeoutError) for result in results), results
        assert 0.25 <= took < 1.0
        real_redis.client_unpause()
        assert await script(["seen"], [5]) == 10


async def test_a_caller_that_stops_waiting_leaves_the_others_their_replies(redis_url: str) -> None:
    async with batched(redis_url, 2) as script:
        given_up = asyncio.ensure_future(script(["seen"], [1]))
        kept = asyncio.ensure_future(script(["seen"], [2]))
        await asyncio.sleep(0)  # both are queued for the same batch
        given_up.cancel()
        assert await kept == 4
        assert given_up.cancelled()
