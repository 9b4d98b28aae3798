"""Each worker process on one CPU (`WORKER_CPU_PINNING`, on by default), the pool's processes spread over the CPUs.

A worker process runs a job's steps in several threads (the one that dequeues, the job's, a handler's, the runtime's
loop), and only the one holding the GIL runs. Left to the kernel, those threads sit on different CPUs, so every hand-
over of the GIL wakes another CPU and moves the interpreter's state between caches. On the 2-core bench machine a
worker draining no-op calls spent 1.56-2.09 ms of CPU per call spread that way, 1.21-1.23 ms on one CPU. A
process that holds the GIL can use one core at a time anyway; the pool puts its processes on the CPUs it may use,
the fewest on each.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

log = logging.getLogger("evi_toolhost.worker")


def usable_cpus() -> list[int]:
    """The CPUs this process may run on, or none where they cannot be chosen (not Linux)."""
    if not hasattr(os, "sched_getaffinity"):
        return []
    return sorted(os.sched_getaffinity(0))


def next_cpu(cpus: list[int], taken: Iterable[int]) -> int | None:
    """The CPU with the fewest of the pool's live worker processes (`taken`: one entry per process), the lowest
    first; None with fewer than two CPUs, where there is nothing to choose."""
    if len(cpus) < 2:
        return None
    load = dict.fromkeys(cpus, 0)
    for cpu in taken:
        if cpu in load:
            load[cpu] += 1
    return min(cpus, key=lambda cpu: (load[cpu], cpu))


def pin_to(cpu: int) -> None:
    """Run this thread, and every thread it starts from now on, on `cpu` only."""
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:
        log.warning("worker process %d not pinned to CPU %d (%s): it runs on any CPU", os.getpid(), cpu, exc)
    else:
        log.info("worker process %d runs on CPU %d (WORKER_CPU_PINNING)", os.getpid(), cpu)
