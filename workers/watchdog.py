"""The deadline watchdog: every call owed an answer gets one by its deadline, whatever happens to its job.

The intake records each response-required call's deadline (`evi:deadlines`) in the same Redis transaction
that queues its job; whoever answers takes it off. A watchdog runs in every worker process and in every
relay, so one exists wherever calls run, and every `SWEEP_INTERVAL_SECONDS`:

- answers `tool_error` `timeout`, with the tool's fallback, for each call still listed
  `SLACK_MS` past its deadline (the slack lets a worker that finished in time deliver first). It sends
  through the same delivery and the same answer claim as a worker, so among worker, relay and several
  watchdogs exactly one answer goes out. A call whose chat has ended is owed nothing: it is recorded
  `cancelled` (`cancel_reason` `chat_ended`), and nothing is sent;
- queues again a call whose job was popped but never started (`workers.lost_jobs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.evi.control_plane import Undeliverable
from service.evi.messages import ErrorLevel, ToolErrorMessage, ToolType
from service.evi.timestamps import now_ms
from service.queue import contract
from service.redis_client import text
from workers import observability
from workers.delivery import Delivery
from workers.handlers.errors import ErrorCode
from workers.lost_jobs import REQUEUE_AFTER_MS, LostJobs
from workers.redis_retry import retry_redis_async

log = logging.getLogger("evi_toolhost.watchdog")

SWEEP_INTERVAL_SECONDS = 0.05
SLACK_MS = 200
BATCH = 50
REDIS_PATIENCE_SECONDS = 10.0
"""How long one answer's Redis steps are retried while Redis is away."""
LATE_ANSWER_SECONDS = 3.0
Fallback = Callable[[str], str | None]


def generic_fallback(name: str) -> str:
    return f"The {name} tool is not working right now. Tell the user you cannot do this at the moment."


class Watchdog:
    def __init__(
        self,
        redis: Redis,
        delivery: Delivery,
        *,
        fallback: Fallback | None = None,
        record_ttl_seconds: int,
        delivery_grace_seconds: float,
    ) -> None:
        """`fallback(name)` is a tool's fallback content when known here (else the one its workers published)."""
        self.redis = redis
        self.delivery = delivery
        self.fallback = fallback or (lambda name: None)
        self.record_ttl_seconds = record_ttl_seconds
        self.delivery_grace_seconds = delivery_grace_seconds
        self._answering: dict[str, asyncio.Task[None]] = {}
        self._lost_jobs = LostJobs(redis)
        self._last_requeue = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        log.info("deadline watchdog running (every %d ms)", SWEEP_INTERVAL_SECONDS * 1000)
        while not stop.is_set():
            try:
                await self.sweep()
                if time.monotonic() - self._last_requeue > REQUEUE_AFTER_MS / 2000:
                    self._last_requeue = time.monotonic()
                    await self.requeue_lost()
            except RedisError as exc:
                log.warning("deadline watchdog: Redis unavailable (%s)", type(exc).__name__)
                await asyncio.sleep(0.5)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SWEEP_INTERVAL_SECONDS)
        for task in list(self._answering.values()):
            task.cancel()

    async def sweep(self) -> int:
        """Start answering every call past its deadline (plus the slack); how many were started."""
        due = await self.redis.zrangebyscore(contract.DEADLINES, "-inf", now_ms() - SLACK_MS, start=0, num=BATCH)
        started = 0
        for raw in due:
            call_id = str(text(raw))
            if call_id not in self._answering:
                answering = observability.watchdog_answering(call_id, self._answer(call_id))
                task = asyncio.create_task(answering, name=f"watchdog-{call_id}")
                self._answering[call_id] = task
                task.add_done_callback(self._done)
                started += 1
        return started

    def _done(self, task: asyncio.Task[None]) -> None:
        call_id = task.get_name().removeprefix("watchdog-")
        self._answering.pop(call_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("deadline watchdog: answering %s failed", call_id, exc_info=task.exception())

    async def _answer(self, call_id: str) -> None:
        """Answer one overdue call. Every Redis step is retried while Redis is briefly away: an answer sent
        whose record is then not written would leave the call looking unanswered."""
        until = time.time() + REDIS_PATIENCE_SECONDS

        async def read() -> tuple[dict[str, str], bool, str | None]:
            stored = await self.redis.hgetall(contract.call_record(call_id))
            record = {str(text(key)): str(text(value)) for key, value in stored.items()}
            started = bool(await self.redis.exists(contract.run_claim(call_id)))
            published = text(await self.redis.hget(contract.TOOL_FALLBACKS, record.get("name", "")))
            return record, started, published

        record, started, published = await retry_redis_async(read, until=until)
        chat_id, name = record.get("chat_id"), record.get("name", "")
        if not chat_id:
            log.error("tool call %s passed its deadline with no record to answer it from", call_id)
            await retry_redis_async(lambda: self.redis.zrem(contract.DEADLINES, call_id), until=until)
            return
        chat_status = await retry_redis_async(
            lambda: self.redis.hget(contract.chat_record(chat_id), "status"), until=until
        )
        if text(chat_status) == "ended":
            log.info("tool call %s (%s) passed its deadline after its chat ended: nothing sent", call_id, name)
            ended = {"status": "cancelled", "cancel_reason": "chat_ended", "answered_by": "watchdog"}

            async def record_ended() -> None:
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.hset(contract.call_record(call_id), mapping=ended)  # type: ignore[arg-type]
                    pipe.zrem(contract.DEADLINES, call_id)
                    await pipe.execute()

            await retry_redis_async(record_ended, until=until)
            return
        why = "its worker did not answer by the deadline" if started else "its job never started"
        content = self.fallback(name) or published
        message = ToolErrorMessage(
            code=ErrorCode.TIMEOUT,
            content=content or generic_fallback(name),
            error=f"{name}: {why}",
            level=ErrorLevel.WARN,
            tool_call_id=call_id,
            tool_type=ToolType(record.get("tool_type", "function")),
            custom_session_id=record.get("custom_session_id"),
        )
        deadline = int(record.get("deadline_ms", now_ms())) / 1000
        fields: dict[str, str | int] = {
            "answer_type": "tool_error",
            "error_code": ErrorCode.TIMEOUT.value,
            "content": message.content or "",
            "answer_error": message.error or "",
        }
        try:
            # Late as it is, the answer gets a few seconds to go out (a watchdog can fire late: Redis was away).
            budget = max(deadline + self.delivery_grace_seconds, time.time() + LATE_ANSWER_SECONDS)
            sent = await self.delivery.send(chat_id, message, deadline=budget)
        except Undeliverable as exc:
            fields.update(status="undeliverable", http_status=exc.status or "", error=str(exc))
            fields.update(delivery_attempts=exc.attempts)
        else:
            if sent.transport is None:  # answered by someone else meanwhile
                await retry_redis_async(lambda: self.redis.zrem(contract.DEADLINES, call_id), until=until)
                return
            fields.update(status="timeout", transport=sent.transport, answered_ms=now_ms())
            fields.update(delivery_attempts=sent.attempts)
            extra = observability.watchdog_log_fields(call_id, record, fields)
            log.warning("tool call %s (%s): answered timeout by the watchdog: %s", call_id, name, why, extra=extra)
        fields.update(answered_by="watchdog", note="started" if started else "never_started")
        observability.watchdog_answered(record, fields)

        async def record_it() -> None:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(contract.call_record(call_id), mapping=fields)  # type: ignore[arg-type]
                pipe.expire(contract.call_record(call_id), self.record_ttl_seconds)
                pipe.zrem(contract.DEADLINES, call_id)
                await pipe.execute()

        await retry_redis_async(record_it, until=time.time() + REDIS_PATIENCE_SECONDS)

    async def requeue_lost(self) -> int:
        """Queue again each call whose job left the queue but never started; how many were queued again."""
        requeued = await self._lost_jobs.requeue(now_ms())
        for job_id in requeued:
            log.warning("job %s was popped by a worker that never started it; queued it again", job_id)
        return len(requeued)
