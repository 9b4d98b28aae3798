"""The worker processes: RQ's `WorkerPool` of `PooledWorker`s, with RQ's scheduler owned by the pool.

RQ normally lets one of its workers fork the scheduler. Tool calls depend on that scheduler (the guard
job that answers `timeout` for a call whose worker died), and a scheduler forked by a worker outlives
that worker when it is killed: an orphan that still holds the scheduler lock and the pool's output. Here
the pool process starts the scheduler instead, restarts it if it dies, keeps trying while another
machine's pool holds the lock, and stops it with the workers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Sequence
from typing import Any

from redis import Redis
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerPool

from service.child_processes import die_with_parent
from workers.runtime import warm_up
from workers.worker import PooledWorker

log = logging.getLogger("evi_toolhost.pool")

SCHEDULER_RETRY_SECONDS = 5.0


class PoolScheduler(RQScheduler):
    def work(self) -> None:
        die_with_parent()
        super().work()  # type: ignore[no-untyped-call]


class ToolhostPool(WorkerPool):
    def __init__(self, queues: Sequence[str], connection: Redis, num_workers: int, **kwargs: Any) -> None:
        super().__init__(
            queues,
            connection=connection,
            num_workers=num_workers,
            worker_class=PooledWorker,
            serializer=JSONSerializer,
            **kwargs,
        )
        self.scheduler = PoolScheduler(list(queues), connection=connection, serializer=JSONSerializer)
        self._scheduler_tried_at = 0.0

    def check_workers(self, respawn: bool = True) -> None:
        super().check_workers(respawn=respawn)
        if self.status != self.Status.STOPPED:
            self.ensure_scheduler()

    def ensure_scheduler(self) -> None:
        process = self.scheduler._process
        if process is not None and process.is_alive():
            return
        if time.monotonic() - self._scheduler_tried_at < SCHEDULER_RETRY_SECONDS:
            return
        self._scheduler_tried_at = time.monotonic()
        if process is not None:
            log.warning("the RQ scheduler (pid %s) exited with %s; restarting it", process.pid, process.exitcode)
            process.join(0)
            self.scheduler._process = None
        self.scheduler.acquire_locks(auto_start=True)  # type: ignore[no-untyped-call]

    def start_workers(self, *args: Any, **kwargs: Any) -> None:
        warm_up()
        self.ensure_scheduler()
        super().start_workers(*args, **kwargs)

    def request_stop(self, signum: int | None = None, frame: object = None) -> None:
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]
        self.stop_scheduler()

    def stop_scheduler(self) -> None:
        process = self.scheduler._process
        if process is None or process.pid is None:
            return
        if process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
        process.join(timeout=5)
