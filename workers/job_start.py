"""How a worker with job slots marks a job started: one round trip, sent by the dequeuing thread, read by the job's.

RQ marks a job started in two MULTI/EXEC round trips, and a tool call's job then claimed its run in a third. Here
all three go out as one transaction (`_start_transaction`), sent by the thread that dequeued the job
(`send_start`); the job's thread reads the replies before it performs the job (`finish_start`), so the round
trip overlaps the hand-over to that thread, and the dequeuing thread is free for the next job at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from redis.client import Pipeline
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.utils import now
from rq.worker import WorkerStatus

from service.queue import contract
from workers import run_claims
from workers.redis_retry import TRANSIENT, retry_redis
from workers.runtime import get_runtime
from workers.sent_transaction import SentTransaction, send_transaction
from workers.tool_calls import RunClaim

PREPARE_PATIENCE_SECONDS = 2.0
"""How long a job's start waits for Redis before the job is left to the watchdog."""


@dataclass
class PendingStart:
    """A job's start, sent by the dequeuing thread, for the job's thread to finish (`StartingWorker.send_start`)."""

    execution: Execution
    claim: RunClaim | None
    transaction: SentTransaction


class StartingWorker(SimpleWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recorded_state: str | None = None
        """The worker state last written to Redis (None: unknown)."""
        self._prepared: set[str] = set()
        """Jobs whose start `prepare_execution` already recorded (RQ's `prepare_job_execution` then skips it)."""

    def prepare_execution(self, job: Job, claim: RunClaim | None = None) -> Execution:
        execution, pipeline = self._start_transaction(job, claim)
        with pipeline:
            replies = pipeline.execute(raise_on_error=False)
        self._started(job, execution, claim, replies)
        return execution

    def send_start(self, job: Job, claim: RunClaim | None) -> PendingStart:
        """`prepare_execution`'s transaction, sent: the job's thread reads its replies (`finish_start`), so the round
        trip overlaps the hand-over to that thread and this thread dequeues again at once."""
        execution, pipeline = self._start_transaction(job, claim)
        try:
            transaction = send_transaction(pipeline)
        except BaseException:
            self.executions.pop(execution.id, None)
            raise
        self._recorded_state = WorkerStatus.BUSY  # so the dequeue loop's "idle" writes nothing meanwhile
        return PendingStart(execution, claim, transaction)

    def _start_transaction(self, job: Job, claim: RunClaim | None) -> tuple[Execution, Pipeline]:
        # RQ's execution record, then what its `prepare_job_execution` writes as the job begins (status, heartbeat,
        # TTL): nothing between them needs the first one's reply.
        pipeline = self.connection.pipeline()
        heartbeat_ttl = self.get_heartbeat_ttl(job)
        execution = Execution.create(job, heartbeat_ttl, pipeline=pipeline, worker_name=self.name)
        self.executions[execution.id] = execution
        self.set_state(WorkerStatus.BUSY, pipeline=pipeline)
        self.heartbeat(heartbeat_ttl, pipeline=pipeline)
        job.heartbeat(now(), heartbeat_ttl, pipeline=pipeline)
        job.prepare_for_execution(self.name, pipeline=pipeline)
        pipeline.persist(job.key)
        if len(self.queues) == 1:
            pipeline.lrem(contract.rq_intermediate_queue(self.queues[0].name), 1, job.id)
        if claim is not None:
            run_claims.queue(get_runtime(), pipeline, claim)
        return execution, pipeline

    def _started(self, job: Job, execution: Execution, claim: RunClaim | None, replies: list[Any]) -> None:
        for reply in replies[:-1] if claim is not None else replies:
            if isinstance(reply, Exception):
                self.executions.pop(execution.id, None)
                raise reply
        self._recorded_state = WorkerStatus.BUSY  # so the job's end, with others still running, writes no state
        if claim is not None:
            run_claims.settle(job.id, claim, replies[-1])
        self._prepared.add(job.id)

    def finish_start(self, job: Job, start: PendingStart) -> Execution | None:
        """In the job's thread: the sent start's outcome; after a connection error (it may or may not have been
        applied) the whole start again, as `execute_job` retries it. None: not started, and the job is dropped."""
        try:
            self._started(job, start.execution, start.claim, start.transaction.replies())
            return start.execution
        except TRANSIENT:
            self.executions.pop(start.execution.id, None)
        except BaseException:
            self._forget_start(job, start.execution)
            raise
        try:
            return retry_redis(
                lambda: self.prepare_execution(job, start.claim), until=time.time() + PREPARE_PATIENCE_SECONDS
            )
        except TRANSIENT as exc:
            self._forget_start(job, start.execution)
            self._not_started(job, exc)
            return None

    def _not_started(self, job: Job, exc: BaseException) -> None:
        # Left in RQ's intermediate queue: the watchdog queues it again (or answers it by its deadline).
        self._recorded_state = None
        self.log.warning("Worker %s: job %s not started, Redis unavailable (%s)", self.name, job.id, exc)

    def _forget_start(self, job: Job, execution: Execution) -> None:
        self.executions.pop(execution.id, None)
        self._prepared.discard(job.id)
        run_claims.forget(job.id)

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        if job.id in self._prepared:
            self._prepared.discard(job.id)
            return
        super().prepare_job_execution(job, remove_from_intermediate_queue)
