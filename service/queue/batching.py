"""Auto-pipelining of one Lua script: the calls that arrive in the same event-loop turn go to Redis together.

Under load, many webhooks reach their Redis call in the same turn of the loop; sent one by one, each pays a
write, a read and the loop's wake-up. Here they go out as one pipeline (one write, one read for all), as
ioredis and node-redis do by default; a call alone goes out on the next turn of the loop, as it would have.
Each call is still its own script, atomic on its own: batching changes how calls travel, not what they do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import NoScriptError, RedisError, ResponseError


class BatchedScript:
    def __init__(self, redis: AsyncRedis, source: str, *, timeout_seconds: float) -> None:
        """`timeout_seconds` bounds each batch's exchange with Redis: a call fails with TimeoutError after it."""
        self.redis = redis
        self.source = source
        self.sha = redis.register_script(source).sha
        self.timeout_seconds = timeout_seconds
        self._pending: list[tuple[list[Any], asyncio.Future[Any]]] = []
        self._running: set[asyncio.Task[None]] = set()
        self.batches = 0
        """How many batches went out (a test's view of the batching)."""

    async def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """The script's reply for `keys` and `args`; raises what Redis raised for this call or its batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append(([len(keys), *keys, *args], future))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _send(self, batch: list[tuple[list[Any], asyncio.Future[Any]]]) -> None:
        self.batches += 1
        try:
            async with asyncio.timeout(self.timeout_seconds):
                replies = await self._execute([command for command, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:
            for _, future in batch:
                if not future.done():
                    future.set_exception(RedisError("the Redis call was interrupted"))
            raise
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # its caller stopped waiting
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _execute(self, commands: list[list[Any]]) -> list[Any]:
        replies = await self._evalsha(commands)
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:  # Redis restarted or its scripts were flushed: load it once and send those again
            await self.redis.script_load(self.source)
            for i, reply in zip(missing, await self._evalsha([commands[i] for i in missing]), strict=True):
                replies[i] = reply
        return replies

    async def _evalsha(self, commands: list[list[Any]]) -> list[Any]:
        if len(commands) == 1:
            try:
                return [await self.redis.evalsha(self.sha, *commands[0])]
            except ResponseError as exc:
                return [exc]
        async with self.redis.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.evalsha(self.sha, *command)
            return list(await pipe.execute(raise_on_error=False))
