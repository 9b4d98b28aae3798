"""Several jobs at once in one worker, without sleeps: the job slots, the worker's hand-off to its job
threads (on fakeredis), and the runtime's one loop shared by many threads."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Iterator

import pytest
from redis import Redis
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus

import workers.handlers.discovery
import workers.runtime
from service.evi.control_plane import RecordingControlPlane
from service.evi.messages import AssistantInput
from tests.conftest import make_settings
from tests.support.webhooks import tool_call_payload
from workers import ToolContext
from workers.handlers.registry import Registry
from workers.jobs import run_tool_call
from workers.runtime import Runtime, close_runtime, get_runtime
from workers.slots import JobSlots
from workers.worker import NoDeathPenalty, ToolhostWorker

GATE = threading.Event()
MEETING = threading.Barrier(2)


def wait_at_gate() -> str:
    assert GATE.wait(timeout=5)
    return "through"


def meet() -> str:
    MEETING.wait(timeout=5)  # passes only if both jobs run at the same time
    return "met"


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    GATE.clear()
    yield GATE
    GATE.set()


def test_slots_run_jobs_in_threads_and_free_their_slot_when_done() -> None:
    slots = JobSlots(2)
    release = threading.Event()
    ran: list[str] = []

    def job() -> None:
        release.wait(5)
        ran.append(threading.current_thread().name)

    assert slots.take(0) and slots.take(0)
    assert not slots.take(0)  # both taken
    slots.start(job)
    slots.start(job)
    assert slots.running() == 2
    assert not slots.wait(0)
    release.set()
    assert slots.wait(5)
    assert slots.running() == 0
    assert len(ran) == 2 and all(name.startswith("evi-job") for name in ran)
    assert slots.take(0) and slots.take(0)  # both free again
    slots.close()


def test_a_failing_job_thread_still_frees_its_slot() -> None:
    slots = JobSlots(1)
    assert slots.take(0)

    def boom() -> None:
        raise RuntimeError("boom")

    slots.start(boom)
    assert slots.wait(5)
    assert slots.take(0)
    slots.close()


def test_slots_need_at_least_one() -> None:
    with pytest.raises(ValueError):
        JobSlots(0)


def make_worker(fake_redis: Redis, concurrency: int) -> tuple[ToolhostWorker, Queue]:
    queue = Queue("jobs", connection=fake_redis, serializer=JSONSerializer)
    return ToolhostWorker([queue], connection=fake_redis, concurrency=concurrency), queue


def test_a_busy_worker_runs_jobs_in_threads_and_leaves_the_rest_queued(
    fake_redis: Redis, runtime: Runtime, gate: threading.Event
) -> None:
    worker, queue = make_worker(fake_redis, concurrency=2)
    assert worker.death_penalty_class is NoDeathPenalty
    jobs = [queue.enqueue(wait_at_gate) for _ in range(3)]
    for _ in range(2):
        result = worker.dequeue_job_and_maintain_ttl(None)
        assert result is not None
        worker.execute_job(*result)  # returns at once: the job waits at the gate in its thread
    assert worker.slots is not None and not worker.slots.take(0)  # no third slot: the third job is not dequeued
    assert queue.get_job_ids() == [jobs[2].id]
    assert len(worker.executions) == 2
    assert len(queue.started_job_registry) == 2
    worker.set_state(WorkerStatus.IDLE)  # what RQ's loop says before each dequeue
    assert worker.get_state() == WorkerStatus.BUSY
    gate.set()
    assert worker.slots.wait(5)
    assert [job.get_status(refresh=True) for job in jobs] == [JobStatus.FINISHED, JobStatus.FINISHED, JobStatus.QUEUED]
    assert worker.executions == {}
    assert len(queue.started_job_registry) == 0
    assert worker.get_state() == WorkerStatus.IDLE
    worker.slots.close()


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """`Worker.work` installs RQ's SIGINT/SIGTERM handlers in this process: put pytest's back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.usefixtures("keep_signal_handlers")
def test_burst_work_runs_jobs_at_the_same_time_and_waits_for_them(fake_redis: Redis, runtime: Runtime) -> None:
    MEETING.reset()
    worker, queue = make_worker(fake_redis, concurrency=2)
    jobs = [queue.enqueue(meet) for _ in range(2)]
    assert worker.work(burst=True)  # returns after teardown, which waits for the job threads
    assert [job.get_status(refresh=True) for job in jobs] == [JobStatus.FINISHED, JobStatus.FINISHED]
    assert [job.return_value() for job in jobs] == ["met", "met"]


def test_concurrency_one_runs_jobs_inline_with_rqs_death_penalty(fake_redis: Redis) -> None:
    worker, _ = make_worker(fake_redis, concurrency=1)
    assert worker.slots is None
    assert worker.death_penalty_class is not NoDeathPenalty


def test_many_threads_share_the_runtime_loop_and_their_coroutines_overlap(runtime: Runtime) -> None:
    threads = 10
    arrived = 0
    everyone: asyncio.Event | None = None
    loops: list[asyncio.AbstractEventLoop] = []

    async def gather_everyone() -> None:
        nonlocal arrived, everyone
        everyone = everyone or asyncio.Event()
        loops.append(asyncio.get_running_loop())
        arrived += 1
        if arrived == threads:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), timeout=5)  # only returns if all ten are waiting together

    workers_ = [threading.Thread(target=runtime.run, args=(gather_everyone(),)) for _ in range(threads)]
    for thread in workers_:
        thread.start()
    for thread in workers_:
        thread.join(timeout=10)
    assert arrived == threads
    assert set(loops) == {runtime.loop}


def test_run_on_the_loop_itself_is_refused(runtime: Runtime) -> None:
    async def nested() -> None:
        async def inner() -> None: ...

        runtime.run(inner())

    with pytest.raises(RuntimeError, match="deadlock"):
        runtime.run(nested())


def test_close_stops_the_loop_thread(fake_redis: Redis) -> None:
    runtime = Runtime(make_settings(), fake_redis, control_plane=RecordingControlPlane())
    assert runtime.loop.is_running()
    runtime.close()
    assert runtime.loop.is_closed()
    runtime.close()  # twice is fine


def test_first_get_runtime_from_two_threads_at_once_makes_one(
    fake_redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers.runtime, "_runtime", None)
    monkeypatch.setattr(workers.runtime, "load_settings", make_settings)
    monkeypatch.setattr(workers.runtime, "connect", lambda url: fake_redis)
    monkeypatch.setattr(workers.handlers.discovery, "discover", lambda modules: None)
    made: list[Runtime] = []
    real_init = Runtime.__init__

    def counting_init(self: Runtime, *args: object, **kwargs: object) -> None:
        made.append(self)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Runtime, "__init__", counting_init)
    start = threading.Barrier(8)
    got: list[Runtime] = []

    def first_use() -> None:
        start.wait(timeout=5)
        got.append(get_runtime())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    try:
        assert len(made) == 1
        assert got == made * 8
    finally:
        close_runtime()


def test_sync_tools_send_from_their_thread_through_the_runtime_loop(
    runtime: Runtime, registry: Registry, control_plane: RecordingControlPlane
) -> None:
    @registry.tool
    def hold_on(ctx: ToolContext) -> str:
        ctx.send_sync(AssistantInput(text="Hold on."))
        return "done"

    @registry.tool
    async def wrong_kind(ctx: ToolContext) -> str:
        ctx.send_sync(AssistantInput(text="This would block the loop."))
        return "never"

    assert run_tool_call(tool_call_payload("hold_on", {}, chat_id="chat-s")) == "answered"
    assert [sent.message.type for sent in control_plane.sent] == ["assistant_input", "tool_response"]
    assert run_tool_call(tool_call_payload("wrong_kind", {}, chat_id="chat-w")) == "failed"
