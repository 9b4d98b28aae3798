"""Reading the call log from Redis (asyncio client): one call's record, the newest calls matching a query, the
calls after a point (to follow the log), and the calls still owed an answer.

The index (`contract.CALL_LOG`) is a sorted set by trigger time, so the newest N are one `ZREVRANGE`; records are
then read in one pipeline per page. A filter is applied to the records read, page by page, newest first, so a
rare tool costs more pages than a common one; `max_scanned` bounds that for the web process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from redis.asyncio import Redis

from service.call_log.query import CallQuery
from service.call_log.view import FINAL, SUMMARY_FIELDS, state
from service.queue import contract
from service.redis_client import text

PAGE = 200


def _decoded(raw: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {str(text(key)): str(text(value)) for key, value in raw.items()}


async def read_call(redis: Redis, call_id: str) -> dict[str, str] | None:
    """The call's whole record, or None when there is none (never made, or expired)."""
    record = _decoded(await redis.hgetall(contract.call_record(call_id)))
    return record or None


async def read_records(
    redis: Redis, call_ids: Sequence[str], fields: Sequence[str] | None = None
) -> list[tuple[str, dict[str, str]]]:
    """The records of these calls, in this order, in one round trip; calls without a record are left out.
    `fields`: only these fields of each (a listing need not read arguments and answers)."""
    if not call_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for call_id in call_ids:
            if fields is None:
                pipe.hgetall(contract.call_record(call_id))
            else:
                pipe.hmget(contract.call_record(call_id), list(fields))
        replies = await pipe.execute()
    found = []
    for call_id, reply in zip(call_ids, replies, strict=True):
        if fields is None:
            record = _decoded(reply)
        else:
            record = {name: str(text(value)) for name, value in zip(fields, reply, strict=True) if value is not None}
        if record:
            found.append((call_id, record))
    return found


@dataclass
class Listing:
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    scanned: int = 0
    """How many index entries were looked at."""
    complete: bool = True
    """False when `max_scanned` stopped the search before the index (or `since`) ran out."""


async def recent(
    redis: Redis, query: CallQuery, *, fields: Sequence[str] | None = None, max_scanned: int | None = None
) -> Listing:
    """The newest calls matching `query`, newest first."""
    listing = Listing()
    low = query.since_ms if query.since_ms is not None else "-inf"
    offset = 0
    seen: set[str] = set()
    while len(listing.calls) < query.limit:
        page = PAGE if query.tool or query.status or query.chat else max(query.limit - len(listing.calls), 1)
        if max_scanned is not None:
            page = min(page, max_scanned - listing.scanned)
            if page <= 0:
                listing.complete = False
                break
        ids = [str(text(raw)) for raw in await redis.zrevrangebyscore(contract.CALL_LOG, "+inf", low, offset, page)]
        offset += len(ids)
        listing.scanned += len(ids)
        # A call listed meanwhile moves every entry down by one: an entry read twice is skipped.
        fresh = [call_id for call_id in ids if call_id not in seen]
        seen.update(fresh)
        for call_id, record in await read_records(redis, fresh, fields):
            if query.matches(record, state(record)):
                listing.calls.append((call_id, record))
                if len(listing.calls) == query.limit:
                    break
        if len(ids) < page:
            break
    return listing


class Follower:
    """New calls as they finish, for following the log: each call listed from now on is given once, when its
    record is final (answered, failed, ...), in the order they finish.

    The index is ordered by when EVI triggered a call, which may be up to `contract.TIMESTAMP_TRUST_MS` before it
    reached us; so each look goes back `LOOKBACK_MS` and skips the calls already seen."""

    LOOKBACK_MS = 2 * contract.TIMESTAMP_TRUST_MS
    GIVE_UP_MS = 15 * 60 * 1000
    """A call not final after this long (its record expired, Redis was flushed) is dropped from the watch."""

    def __init__(self, query: CallQuery | None = None) -> None:
        self.query = query or CallQuery()
        self._seen: dict[str, int] = {}
        self._pending: dict[str, int] = {}
        self._started = False

    async def poll(self, redis: Redis, now_ms: int) -> list[tuple[str, dict[str, str]]]:
        """The calls that finished since the last poll (the first poll only notes what is already there)."""
        since = now_ms - self.LOOKBACK_MS
        entries = await redis.zrangebyscore(contract.CALL_LOG, since, "+inf", withscores=True)
        for raw, score in cast(list[tuple[bytes, float]], entries):
            call_id = str(text(raw))
            if call_id not in self._seen:
                self._seen[call_id] = int(score)
                if self._started:
                    self._pending[call_id] = now_ms
        self._started = True
        cutoff = now_ms - self.LOOKBACK_MS
        self._seen = {call_id: at for call_id, at in self._seen.items() if at >= cutoff or call_id in self._pending}
        finished = []
        for call_id, record in await read_records(redis, list(self._pending), SUMMARY_FIELDS):
            if state(record) in FINAL:
                del self._pending[call_id]
                if self.query.matches(record, state(record)):
                    finished.append((call_id, record))
        self._pending = {c: at for c, at in self._pending.items() if now_ms - at < self.GIVE_UP_MS}
        return finished


async def in_flight(redis: Redis, limit: int = 50) -> tuple[int, list[tuple[str, int]]]:
    """How many calls are owed an answer now, and the first `limit` of them by deadline: (id, deadline ms)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(contract.DEADLINES)
        pipe.zrange(contract.DEADLINES, 0, limit - 1, withscores=True)
        count, entries = await pipe.execute()
    return int(count), [(str(text(raw)), int(score)) for raw, score in entries]
