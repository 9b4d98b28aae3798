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
from service.settings import load_settings
from workers.cpu_pinning import next_cpu, usable_cpus
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
        self._cpus = usable_cpus() if load_settings().worker_cpu_pinning else []
        self._pinned: dict[str, int] = {}
        """The CPU of each live worker process (by worker name) that was pinned to one."""

    def handle_dead_worker(self, worker_data: WorkerData) -> None:
        process_gone(worker_data.pid)  # its live gauges (calls in flight, loop lag) stop counting
        self._pinned.pop(worker_data.name, None)
        super().handle_dead_worker(worker_data)

    def start_worker(self, *args: Any, **kwargs: Any) -> None:
        cpu = next_cpu(self._cpus, self._pinned.values())
        PooledWorker.cpu = cpu
        before = set(self.worker_dict)
        super().start_worker(*args, **kwargs)
        if cpu is not None:
            for name in set(self.worker_dict) - before:
                self._pinned[name] = cpu

    def start_workers(self, *args: Any, **kwargs: Any) -> None:
        PooledWorker.pool_pid = os.getpid()
        warm_up()
        # This process runs no call: the live gauges it made on import (zeros) must not be series of their own.
        process_gone(os.getpid())
        freeze_startup_heap()
        super().start_workers(*args, **kwargs)
