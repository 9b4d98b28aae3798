"""Background runs whose worker died: still listed in `evi:background` past their time. Every worker process
sweeps the list once a second (precision does not matter here: the run had its whole timeout) and, for each run
past due, takes its "told" claim (so a run that was only slow cannot also tell), says the tool's fallback to the
chat if it is still active, and records `background_status=lost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.evi.control_plane import Undeliverable
from service.evi.messages import AssistantInput
from service.evi.timestamps import now_ms
from service.queue import contract
from service.redis_client import text
from workers.delivery import Delivery
from workers.records import ChatStatus

log = logging.getLogger("evi_toolhost.background")

SWEEP_SECONDS = 1.0
BATCH = 20
SEND_SECONDS = 10.0


def generic_fallback(name: str) -> str:
    return f"Sorry, the {name.replace('_', ' ')} I started earlier did not finish. Please ask me again."


class LostRuns:
    def __init__(
        self,
        redis: Redis,
        delivery: Delivery,
        *,
        fallback: Callable[[str], str | None],
        record_ttl_seconds: int,
        claim_ttl_seconds: int,
    ) -> None:
        self.redis = redis
        self.delivery = delivery
        self.fallback = fallback
        self.record_ttl_seconds = record_ttl_seconds
        self.claim_ttl_seconds = claim_ttl_seconds

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.sweep()
            except RedisError as exc:
                log.warning("lost background runs: Redis unavailable (%s)", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SWEEP_SECONDS)

    async def sweep(self) -> int:
        """Tell every run past due; how many were told by this sweep."""
        due = await self.redis.zrangebyscore(contract.BACKGROUND_RUNS, "-inf", now_ms(), start=0, num=BATCH)
        told = 0
        for raw in due:
            told += await self.tell_lost(str(text(raw)))
        return told

    async def tell_lost(self, call_id: str) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(contract.background_told(call_id), "lost-run sweep", nx=True, ex=self.claim_ttl_seconds)
            pipe.hmget(contract.call_record(call_id), ["chat_id", "name", "custom_session_id"])
            taken, (chat, name, session) = await pipe.execute()
        if not taken:
            await self.redis.zrem(contract.BACKGROUND_RUNS, call_id)
            return 0
        chat_id, tool_name = text(chat), text(name) or "tool"
        fields: dict[str, str | int] = {"background_status": "lost", "background_finished_ms": now_ms()}
        status = text(await self.redis.hget(contract.chat_record(chat_id), "status")) if chat_id else None
        if chat_id and status != ChatStatus.ENDED:
            said = self.fallback(tool_name) or generic_fallback(tool_name)
            message = AssistantInput(text=said, custom_session_id=text(session))
            try:
                sent = await self.delivery.send(chat_id, message, deadline=now_ms() / 1000 + SEND_SECONDS)
                fields["background_told_ms"] = now_ms()
                if sent.transport is not None:
                    fields["background_transport"] = sent.transport
            except Undeliverable as exc:
                fields["background_error"] = str(exc)[:300]
        log.warning("tool call %s (%s): its background run was lost (its worker stopped); fallback said",
                    call_id, tool_name)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(contract.call_record(call_id), mapping=fields)  # type: ignore[arg-type]
            pipe.expire(contract.call_record(call_id), self.record_ttl_seconds)
            pipe.zrem(contract.BACKGROUND_RUNS, call_id)
            await pipe.execute()
        return 1
