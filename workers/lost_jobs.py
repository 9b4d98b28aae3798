"""Tool calls whose job left its queue but never started, queued again while their deadline allows.

A worker can pop a job and never start it: it was killed in between, or Redis went down as it popped and the
reply was lost. Where the job then is depends on how RQ popped it:

- a worker listening on one queue pops with BLMOVE into that queue's intermediate list and takes the job out as
  it starts: the lost job stays in that list;
- a worker listening on several queues (the default: tool calls first, then lifecycle events) pops with BLPOP,
  which keeps no copy: the lost job is in no list at all, though its job hash, its call's deadline and no run
  claim remain.

A job seen lost on two looks at least `REQUEUE_AFTER_MS` apart is queued again at the front of its queue, once
however many watchdogs look (one Lua script, and one look a `REQUEUE_AFTER_MS` for all of them: the first
watchdog to ask takes the turn). RQ's own recovery of the intermediate list runs every few minutes and BLPOP's
loss has none: far past a voice call's deadline. A call whose answer is due within `MIN_REQUEUE_BUDGET_MS` is not
run again: its timeout answer comes sooner. The second kind is looked for only while the queue is empty, when
every call owed an answer without a run claim has left it: with jobs waiting, a call may be one of them (telling
which would mean scanning the queue for each), and the deadline watchdog still answers every call. A job queued
again whose first copy started after all runs once: the run claim (`workers.tool_calls`).
"""

from __future__ import annotations

from redis.asyncio import Redis

from service.queue import contract

REQUEUE_AFTER_MS = 1000
MIN_REQUEUE_BUDGET_MS = 1000
"""A lost call with less time than this left is not run again: its timeout answer comes sooner."""
CALLS_CHECKED = 200
"""Calls owed an answer (soonest deadline first) checked for a job in no list, each look."""

REQUEUE = """
-- KEYS: 1 the intermediate list, 2 the queue, 3 first-seen hash, 4 evi:deadlines, 5 whose turn it is to look
-- ARGV: 1 now (ms), 2 REQUEUE_AFTER_MS, 3 MIN_REQUEUE_BUDGET_MS, 4 job id prefix of tool calls,
--       5 run claim key prefix, 6 RQ job key prefix, 7 CALLS_CHECKED
if not redis.call('SET', KEYS[5], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {}
end
local now = tonumber(ARGV[1])
local budget = tonumber(ARGV[3])
local seen = redis.call('HGETALL', KEYS[3])
local first = {}
for i = 1, #seen, 2 do
    first[seen[i]] = tonumber(seen[i + 1])
end
local lost = {}
for _, job_id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
    lost[job_id] = 'intermediate'
end
if redis.call('LLEN', KEYS[2]) == 0 then
    local owed = redis.call('ZRANGEBYSCORE', KEYS[4], now + budget, '+inf', 'LIMIT', 0, tonumber(ARGV[7]))
    for _, call_id in ipairs(owed) do
        local job_id = ARGV[4] .. call_id
        if not lost[job_id] and redis.call('EXISTS', ARGV[5] .. call_id) == 0
            and redis.call('EXISTS', ARGV[6] .. job_id) == 1 then
            lost[job_id] = 'nowhere'
        end
    end
end
local requeued = {}
for job_id, where in pairs(lost) do
    local since = first[job_id]
    if not since then
        redis.call('HSET', KEYS[3], job_id, now)
    elseif now - since >= tonumber(ARGV[2]) then
        redis.call('HDEL', KEYS[3], job_id)
        if where == 'intermediate' then
            redis.call('LREM', KEYS[1], 0, job_id)
        end
        local deadline = tonumber(redis.call('ZSCORE', KEYS[4], string.sub(job_id, #ARGV[4] + 1)))
        if not deadline or deadline - now >= budget then
            redis.call('LPUSH', KEYS[2], job_id)
            table.insert(requeued, job_id)
        end
    end
end
for job_id, _ in pairs(first) do
    if not lost[job_id] then
        redis.call('HDEL', KEYS[3], job_id)
    end
end
return requeued
"""


class LostJobs:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._requeue = redis.register_script(REQUEUE)

    async def requeue(self, now_ms: int) -> list[str]:
        """Queue again each tool call's job lost between pop and start; the ids of those queued again."""
        requeued = await self._requeue(
            keys=[
                contract.rq_intermediate_queue(contract.TOOLS_QUEUE),
                contract.rq_queue(contract.TOOLS_QUEUE),
                contract.POPPED_SINCE,
                contract.DEADLINES,
                contract.LOST_JOBS_TURN,
            ],
            args=[
                now_ms,
                REQUEUE_AFTER_MS,
                MIN_REQUEUE_BUDGET_MS,
                contract.job_id_prefix("tool_call"),
                contract.run_claim(""),
                contract.rq_job(""),
                CALLS_CHECKED,
            ],
        )
        return [str(raw.decode() if isinstance(raw, bytes) else raw) for raw in requeued]
