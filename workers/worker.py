"""The RQ worker class: `rq.SimpleWorker` (no fork per job) that keeps the process's runtime.

RQ's default `Worker` forks a work horse for every job: a few milliseconds each, and the child's pooled
HTTP connections die with it, so every answer would open a new TLS connection to Hume. A `SimpleWorker`
runs jobs in its own process, where one event loop and one `httpx.AsyncClient` live for the worker's
whole life.

With `WORKER_CONCURRENCY` above 1, a worker runs that many jobs at once: RQ's loop takes a job slot
(`workers.slots`) before each dequeue, and `execute_job` starts RQ's own `perform_job` with the job's
execution (RQ 3 tracks several per worker) in a job thread and returns to dequeuing. The jobs' coroutines
overlap on the runtime's one loop. A warm shutdown stops dequeuing and waits for the running jobs (each
bounded by its tool deadline) before RQ's teardown. With 1, jobs run inline, as in `rq.SimpleWorker`.
Several processes are RQ's `WorkerPool` (`workers.pool`).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from redis.client import Pipeline
from rq import Queue
from rq.exceptions import StopRequested
from rq.executions import Execution
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from rq.timeouts import BaseDeathPenalty
from rq.utils import now
from rq.worker import WorkerStatus

from service.child_processes import die_with_parent
from service.heap import freeze_startup_heap
from service.logs import WithoutPerCallLines
from service.settings import load_settings
from workers import job_success, observability, run_claims
from workers.background import wait_for_runs
from workers.cpu_pinning import pin_to
from workers.job_start import PREPARE_PATIENCE_SECONDS, PendingStart, StartingWorker
from workers.redis_retry import TRANSIENT, retry_redis
from workers.runtime import close_runtime, get_runtime
from workers.slots import JobSlots

HEARTBEAT_EVERY_SECONDS = 1.0
SUSPENSION_CHECK_EVERY_SECONDS = 1.0
DEQUEUE_WAIT_SECONDS = 1
UNSUBSCRIBE_WAIT_SECONDS = 1.0
SLOT_WAIT_SECONDS = 5.0
"""How often a worker whose slots are all busy (or that waits for them at shutdown) heartbeats."""


class NoDeathPenalty(BaseDeathPenalty):
    """RQ's job timeout, not enforced on job threads.

    RQ's default (SIGALRM) works in the main thread only, and its `TimerDeathPenalty` raises asynchronously
    in the job thread: that cannot interrupt a thread waiting on the runtime's loop (a C-level wait), and
    would otherwise land anywhere, e.g. between claiming an answer and recording it. Our jobs bound
    themselves: the handler is cancelled or abandoned at its deadline, delivery gives up at deadline +
    DELIVERY_GRACE_SECONDS, and the watchdog answers for a call whose worker is gone.
    """

    def setup_death_penalty(self) -> None:
        return None

    def cancel_death_penalty(self) -> None:
        return None


class ToolhostWorker(StartingWorker):
    # RQ waits 1 s after losing Redis, then doubles the wait up to 60 s: a voice service must be back within a
    # second of Redis, however often it came and went.
    exponential_backoff_factor = 1.0
    max_connection_wait_time = 1.0
    # Every job's result is kept JOB_RESULT_TTL_SECONDS: RQ's INFO line saying so for each call is noise (and a
    # write to the log per call); the walk logs each call's outcome itself.
    log_result_lifespan = False

    def __init__(self, *args: Any, concurrency: int | None = None, **kwargs: Any) -> None:
        if kwargs.get("serializer") is None:
            kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)
        self.log = WithoutPerCallLines(self.log)  # type: ignore[assignment]  # RQ calls only what an adapter has
        size = concurrency if concurrency is not None else load_settings().worker_concurrency
        self.slots = JobSlots(size) if size > 1 else None
        if self.slots is not None:
            self.death_penalty_class = NoDeathPenalty
        self._handing_off = False
        self._waiting_for_job = False
        self._last_beat = -HEARTBEAT_EVERY_SECONDS
        self._last_suspension_check = -SUSPENSION_CHECK_EVERY_SECONDS

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        # RQ installs its signal handlers only after bootstrap: a stop requested while the worker starts would
        # kill it before it deregisters. Installed first, a stop lets it start, deregister and exit.
        self._install_signal_handlers()  # type: ignore[no-untyped-call]
        # In this process, after any fork: its own loop, HTTP client, Redis connections and deadline watchdog, and
        # the chat signals that stop its calls.
        runtime = get_runtime()
        runtime.start_watchdog()
        runtime.start_listening()
        runtime.on_close.append(observability.process_started("worker", runtime.loop))
        super().bootstrap(*args, **kwargs)
        freeze_startup_heap()

    @property
    def dequeue_timeout(self) -> int:
        # Python runs a signal's handler in the main thread only, and only once that thread runs again. A stop signal
        # the kernel hands to another thread (it does when the main thread already has one pending: SIGTERM to the
        # whole group, as systemd sends, and the pool's own SIGINT, at once) waited for RQ's BLPOP to end, up to
        # 405 s; one of four workers outlived a group's SIGTERM by 5 s or more. A BLPOP of a second bounds that wait.
        return DEQUEUE_WAIT_SECONDS

    @property
    def connection_timeout(self) -> int:
        return max(1, self.worker_ttl - 15) + 10  # RQ's own, which it derives from the dequeue timeout

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        if self.slots is None:
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        while not self.slots.take(SLOT_WAIT_SECONDS):
            self.heartbeat()
        self._waiting_for_job = True
        try:
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        except BaseException:
            self.slots.give_back()
            raise
        finally:
            self._waiting_for_job = False
        if result is None:
            self.slots.give_back()
        else:
            self._handing_off = True
        return result

    def execute_job(self, job: Job, queue: Queue) -> None:
        if self.slots is None:
            super().execute_job(job, queue)
            return
        claim = run_claims.prepare(get_runtime(), job, self.name)
        try:
            start = retry_redis(lambda: self.send_start(job, claim), until=time.time() + PREPARE_PATIENCE_SECONDS)
        except TRANSIENT as exc:
            self._not_started(job, exc)
            self.slots.give_back()
            self._handing_off = False
            return
        try:
            self.slots.start(self._perform_in_thread, job, queue, start)
        except BaseException:
            start.transaction.abandon()
            self._forget_start(job, start.execution)
            self.slots.give_back()
            raise
        finally:
            self._handing_off = False

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        # RQ heartbeats the job here, in a round trip of its own, to keep it alive through its callback: ours have none.
        if job_success.is_plain_own_job(job):
            job.ended_at = now()
            return
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    def handle_job_success(
        self, job: Job, queue: Queue, started_job_registry: StartedJobRegistry, execution: Execution
    ) -> None:
        if not job_success.is_plain_own_job(job):
            super().handle_job_success(job, queue, started_job_registry, execution)
            return
        job_success.record_success(self, job, execution)
        self.log.debug("Worker %s: job %s's success recorded", self.name, job.id)

    # RQ ends a worker on any Redis error outside its dequeue wait, and with it every call and watchdog task
    # that process runs. Its bookkeeping can wait for Redis to come back instead.

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        # RQ heartbeats before and after every dequeue, three commands each, while its key lives for minutes
        # (worker_ttl): beside a job's own (in its start's pipeline), once a second is plenty.
        if pipeline is None and timeout is None and time.monotonic() - self._last_beat < HEARTBEAT_EVERY_SECONDS:
            return
        try:
            super().heartbeat(timeout, pipeline)
            if pipeline is None:
                self._last_beat = time.monotonic()
        except TRANSIENT as exc:
            self.log.warning("Worker %s: heartbeat skipped, Redis unavailable (%s)", self.name, type(exc).__name__)

    def check_for_suspension(self, burst: bool) -> None:
        # RQ asks Redis whether `rq suspend` was run before every dequeue (4 % of a busy worker's samples): once a
        # second, a suspension still stops the worker within a second.
        if time.monotonic() - self._last_suspension_check < SUSPENSION_CHECK_EVERY_SECONDS:
            return
        self._last_suspension_check = time.monotonic()
        try:
            super().check_for_suspension(burst)
        except TRANSIENT as exc:
            self.log.warning("Worker %s: suspension not checked, Redis unavailable (%s)", self.name, type(exc).__name__)

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        except TRANSIENT as exc:
            self.log.warning("Worker %s: maintenance skipped, Redis unavailable (%s)", self.name, type(exc).__name__)

    def unsubscribe(self) -> None:
        # RQ's own unsubscribes, then stops its pubsub thread, which reads with a 60 s timeout. A thread that reads the
        # UNSUBSCRIBE reply before the stop loops once more and waits up to 60 s for a subscription, and redis-py's
        # `stop()` (8.2 on) waits for the thread: a warm shutdown hung there about once in 15. Stopped first, the
        # thread ends its loop on that reply (or had ended it already, closing the connection: nothing to unsubscribe).
        thread, pubsub = self.pubsub_thread, self.pubsub
        if thread is None or pubsub is None:
            return
        self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        thread._running.clear()
        with contextlib.suppress(*TRANSIENT):
            pubsub.unsubscribe()
        thread.join(timeout=UNSUBSCRIBE_WAIT_SECONDS)
        pubsub.close()

    def _perform_in_thread(self, job: Job, queue: Queue, start: PendingStart) -> None:
        execution = self.finish_start(job, start)
        if execution is None:
            return
        self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        # RQ's loop says "idle" whenever it dequeues; the worker is busy while any of its jobs runs.
        if state == WorkerStatus.IDLE and self.executions:
            state = WorkerStatus.BUSY
        if pipeline is None and state == self._recorded_state:
            self._state = state
            return  # RQ writes it before every dequeue; unchanged, it needs no command
        try:
            super().set_state(state, pipeline)
            self._recorded_state = state if pipeline is None else None
        except TRANSIENT as exc:
            if pipeline is not None:
                raise
            self.log.warning("Worker %s: state not recorded, Redis unavailable (%s)", self.name, type(exc).__name__)

    def _shutdown(self) -> None:
        """A warm shutdown request: RQ's `_shutdown` waits only while the state is busy, which now means
        "jobs run in threads" while the main loop blocks on the queue. A worker waiting for a job stops
        waiting at once; anywhere else (starting, handing a job to its thread) it stops before the next wait.
        `teardown` then waits for the running jobs."""
        if self.slots is None:
            super()._shutdown()  # type: ignore[no-untyped-call]
        elif self._waiting_for_job and not self._handing_off:
            raise StopRequested()
        else:
            self._stop_requested = True

    def teardown(self) -> None:
        clean = False
        try:
            if self.slots is not None:
                self._wait_for_running_jobs()
            while wait_for_runs(SLOT_WAIT_SECONDS):  # background runs: each ends by its own timeout
                self.heartbeat()
            clean = True
        finally:
            try:
                super().teardown()  # type: ignore[no-untyped-call]
            finally:
                # After a cold shutdown mid-wait, the job threads still need the loop: leave it to exit.
                if clean:
                    close_runtime()

    def _wait_for_running_jobs(self) -> None:
        assert self.slots is not None
        running = self.slots.running()
        if running:
            self.log.info("Worker %s: waiting for %d running job(s) to finish", self.name, running)
        while not self.slots.wait(SLOT_WAIT_SECONDS):
            self.heartbeat()
        self.slots.close()


class PooledWorker(ToolhostWorker):
    """A worker inside `ToolhostPool`: it runs no RQ scheduler, and it ends with the pool (a warm shutdown if the
    pool process is killed, even before this worker got going)."""

    pool_pid: int | None = None
    """The pid of the pool process that forks these workers (set there, before forking)."""
    cpu: int | None = None
    """The CPU the next worker forked runs on (set by the pool before forking; None: any)."""

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        die_with_parent(parent=PooledWorker.pool_pid)
        if PooledWorker.cpu is not None:
            pin_to(PooledWorker.cpu)  # before the runtime starts its threads, which inherit it
        super().bootstrap(*args, **kwargs)

    def _start_scheduler(self, *args: Any, **kwargs: Any) -> None:
        return None
