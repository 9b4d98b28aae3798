"""The queue contract between the web tier and the worker tier, in one place: the RQ queue names, the job
functions the web tier enqueues by path, the job options, and every Redis key either tier reads or writes.

Changing a name here changes it for both tiers at once; a running deployment must be drained first.
"""

from __future__ import annotations

import hashlib
import re

from rq.defaults import RQ_KEY_PREFIX
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.queue import Queue
from rq.registry import FailedJobRegistry
from rq.worker_registration import REDIS_WORKER_KEYS

PREFIX = "evi"

# --- RQ queues and jobs -------------------------------------------------------------------------------

TOOLS_QUEUE = "evi-tools"
"""Tool calls: read first by every worker, so a slow lifecycle job never delays a call."""
EVENTS_QUEUE = "evi-events"
"""Chat lifecycle (`chat_started`, `chat_ended`)."""
WORKER_QUEUES = (TOOLS_QUEUE, EVENTS_QUEUE)
RQ_QUEUE_PREFIX: str = Queue.redis_queue_namespace_prefix
"""RQ's own key layout: a queue's list is `rq:queue:{name}`, and `rq:queues` names every queue."""
RQ_QUEUES: str = Queue.redis_queues_keys
RQ_WORKERS: str = REDIS_WORKER_KEYS
"""RQ's set of registered workers' keys (`rq:worker:{name}`, each expiring unless its worker heartbeats)."""


def rq_queue(name: str) -> str:
    return f"{RQ_QUEUE_PREFIX}{name}"


def rq_job(job_id: str) -> str:
    """RQ's hash of one job."""
    return f"{Job.redis_job_namespace_prefix}{job_id}"


def queue_for(event_name: str) -> str:
    """The queue an event's job goes on."""
    return TOOLS_QUEUE if event_name == "tool_call" else EVENTS_QUEUE


RQ_WORKER_PREFIX = f"{RQ_KEY_PREFIX}:worker:"
"""What a worker's key is its name after (`rq.Worker.redis_worker_namespace_prefix`)."""


def rq_failed_registry(queue: str) -> str:
    """RQ's sorted set of the queue's failed jobs."""
    return str(FailedJobRegistry.key_template.format(queue))


def rq_intermediate_queue(name: str) -> str:
    """Where an RQ worker moves a job id it pops, until the job starts."""
    return IntermediateQueue.get_intermediate_queue_key(rq_queue(name))


JOB_FUNCTIONS = {
    "tool_call": "workers.jobs.run_tool_call",
    "chat_started": "workers.jobs.run_chat_started",
    "chat_ended": "workers.jobs.run_chat_ended",
}
"""Each webhook event's job, by import path: the web tier never imports the worker tier."""

JOB_RESULT_TTL_SECONDS = 600
"""How long RQ keeps a finished job. 0 (no result kept) would be cheaper in memory but not in commands: RQ then
deletes the job at once, going through every registry (measured: 9 more Redis commands per call)."""
JOB_FAILURE_TTL_SECONDS = 7 * 24 * 3600
JOB_TIMEOUT_SECONDS = 600
"""RQ's own job timeout: far above any tool deadline, which the job enforces itself."""

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


TIMESTAMP_TRUST_MS = 30_000


def triggered_ms(timestamp_ms: int, received_ms: int) -> int:
    """When a tool call's time starts to count, the same for the intake's deadline and the worker's: EVI's
    `timestamp`, so time spent reaching us counts, but never later than our own receipt (EVI's clock running
    ahead must not extend a call's time); a timestamp further than 30 s from our clock is skew or a unit
    mistake, and the call counts from its receipt."""
    if abs(timestamp_ms - received_ms) > TIMESTAMP_TRUST_MS:
        return received_ms
    return min(timestamp_ms, received_ms)


def job_id_prefix(event_name: str) -> str:
    """What every job id of this event starts with."""
    return f"{event_name}-"


def job_id(event_name: str, delivery_id: str) -> str:
    """The RQ job id of an event (RQ accepts only [A-Za-z0-9_-] in ids: others are hashed)."""
    ident = delivery_id if _SAFE_ID.match(delivery_id) else hashlib.sha256(delivery_id.encode()).hexdigest()[:40]
    return f"{job_id_prefix(event_name)}{ident}"


# --- claims: who may do a thing once --------------------------------------------------------------------


def delivery_claim(event_name: str, delivery_id: str) -> str:
    """`SET NX` by the intake (webhook or relay) that queues an event: each delivery is queued once."""
    return f"{PREFIX}:claim:{event_name}:{delivery_id}"


def run_claim(tool_call_id: str) -> str:
    """`SET NX` by the job that runs the handler: at most one run per tool call."""
    return f"{PREFIX}:run:{tool_call_id}"


def answered(tool_call_id: str) -> str:
    """`SET NX` right before an answer is sent: at most one answer per tool call."""
    return f"{PREFIX}:answered:{tool_call_id}"



def sent_claim(request_id: str) -> str:
    """`SET NX` by whichever path sends a non-answer message (socket or HTTP fallback) first."""
    return f"{PREFIX}:sent:{request_id}"


def claimed_by_http(token: str) -> str:
    """The value of a message's claim when a worker sends it by HTTP (`token` is the sender's own)."""
    return f"http:{token}"


def claimed_by_socket(request_id: str) -> str:
    """The value of a message's claim when the relay sends it on its socket, for send request `request_id`."""
    return f"socket:{request_id}"


def is_socket_claim(value: str | None) -> bool:
    return value is not None and value.startswith("socket:")


# --- deadlines: every call owed an answer, until it has one ---------------------------------------------

DEADLINES = f"{PREFIX}:deadlines"
"""Sorted set: tool call id -> when its answer is due (ms). Written with the job, removed by whoever answers;
the watchdog answers `timeout` for any member past due, whatever happened to its job."""

LOST_JOBS_TURN = f"{PREFIX}:lost-jobs-turn"
"""Set for a second by the watchdog whose turn it is to look for lost jobs (`workers.lost_jobs`): one look a second
for all of them."""
POPPED_SINCE = f"{PREFIX}:popped-since"
"""When a watchdog first saw each tool call's job popped but not started (epoch ms; `workers.lost_jobs`), to tell a
job that lost its worker between pop and start from one being handed over."""

TOOL_TIMEOUTS = f"{PREFIX}:tools:timeouts"
"""Hash: tool name -> timeout (ms), published by each worker at start, read by the intake for deadlines."""

TOOL_FALLBACKS = f"{PREFIX}:tools:fallbacks"
"""Hash: tool name -> fallback content, published by each worker at start, for the watchdog's answers."""


# --- around a running call: chat signals, background runs -----------------------------------------------

CHAT_SIGNALS = f"{PREFIX}:chat-signals"
"""Pub/sub: `{"chat_id", "signal": "ended"|"interrupted", "at_ms"}`, published when a chat ends (the chat_ended job,
the relay seeing the socket closed with the chat) or the caller interrupts (the relay); every worker process
listens and stops the chat's calls it runs (`workers.cancellation`)."""

BACKGROUND_RUNS = f"{PREFIX}:background"
"""Sorted set: tool call id -> when its background run must have told its result (ms). Added before the ack,
removed when the result is told; a worker's sweep speaks the fallback for a run past due (its worker died)."""


def background_told(tool_call_id: str) -> str:
    """`SET NX` by whoever tells a background call's result (its run, or the sweep of lost runs): told once."""
    return f"{PREFIX}:background:told:{tool_call_id}"


def group_history(chat_group_id: str) -> str:
    """String: the chat group's events as transcript lines (JSON), cached for `ctx.history()` while a chat of the
    group lives."""
    return f"{PREFIX}:history:{chat_group_id}"


# --- records: what happened, for operators and tests ------------------------------------------------


def call_record(tool_call_id: str) -> str:
    """Hash: what happened to one tool call (status, answer, timestamps)."""
    return f"{PREFIX}:call:{tool_call_id}"


CALL_LOG = f"{PREFIX}:calls"
"""Sorted set: tool call id -> when EVI triggered it (ms), the index of the call log (newest N cheap to list).
Written by whoever writes a call's first record (the intake, or a worker for a call that needs no answer), and
trimmed there of entries older than `RECORD_TTL_SECONDS`, whose records have expired."""


def chat_record(chat_id: str) -> str:
    """Hash: one chat's ids, times, status and hook failures."""
    return f"{PREFIX}:chat:{chat_id}"


def transcript(chat_id: str) -> str:
    """String: the chat's transcript as a JSON list of lines, stored when the chat ends."""
    return f"{PREFIX}:transcript:{chat_id}"


def conversation(chat_id: str) -> str:
    """List: the chat's user and assistant messages seen on the socket, oldest first, capped."""
    return f"{PREFIX}:conversation:{chat_id}"


# --- the live-socket relay ------------------------------------------------------------------------------

ACTIVE_CHATS = f"{PREFIX}:chats:active"
"""Sorted set: chat id -> start time (ms). Added on chat_started, removed on chat_ended."""

NEW_CHAT_CHANNEL = f"{PREFIX}:relay:new-chat"
"""Pub/sub: a chat id, published when a chat starts, so relays connect without waiting for a scan."""

RELAY_ALIVE_PATTERN = f"{PREFIX}:relay:alive:*"


def lease(chat_id: str) -> str:
    """String: the id of the relay that holds the chat's socket; expires unless that relay renews it."""
    return f"{PREFIX}:relay:lease:{chat_id}"


def relay_alive(relay_id: str) -> str:
    """String with a TTL: the relay is running."""
    return f"{PREFIX}:relay:alive:{relay_id}"


def socket_state(chat_id: str) -> str:
    """Hash: state (connecting|open|reconnecting|socketless|closed), relay, since_ms, connects, sent."""
    return f"{PREFIX}:relay:socket:{chat_id}"


def relay_inbox(relay_id: str) -> str:
    """List: send requests for the chats this relay holds."""
    return f"{PREFIX}:relay:inbox:{relay_id}"


def relay_ack(request_id: str) -> str:
    """List: the relay's single reply to one send request."""
    return f"{PREFIX}:relay:ack:{request_id}"
