"""The worker processes: RQ's `WorkerPool` of `PooledWorker`s, each forked from this process.

No RQ scheduler runs: nothing here is scheduled (a call's deadline is kept by the watchdog each worker
process runs, `workers.watchdog`), and a scheduler forked by a worker would outlive it when it is killed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from redis import Redis
from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerData, WorkerPool

from service.heap import freeze_startup_heap
from service.observability.prometheus import process_gone
from workers.runtime import warm_up
from workers.worker import PooledWorker


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

    def handle_dead_worker(self, worker_data: WorkerData) -> None:
        process_gone(worker_data.pid)  # its live gauges (calls in flight, loop lag) stop counting
        super().handle_dead_worker(worker_data)

    def start_workers(self, *args: Any, **kwargs: Any) -> None:
        PooledWorker.pool_pid = os.getpid()
        warm_up()
        # This process runs no call: the live gauges it made on import (zeros) must not be series of their own.
        process_gone(os.getpid())
        freeze_startup_heap()
        super().start_workers(*args, **kwargs)
