"""Each worker process of a real pool on one CPU, the pool's processes spread over the CPUs (`WORKER_CPU_PINNING`).

Every thread of a worker process (the dequeuing one, job and handler threads, the runtime's loop) is on its
process's CPU, and a process the pool respawns takes the CPU its dead one left.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from rq import Worker

from evi_toolhost.embedded_redis import EmbeddedRedis
from tests.support.servers import wait_for
from tests.support.stack import Stack, running_stack
from workers.cpu_pinning import usable_cpus

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(len(usable_cpus()) < 2, reason="pinning needs two CPUs to choose from"),
]


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    with running_stack(redis_server.url, "tests.integration.tools") as stack:
        yield stack


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "\nState:\tZ" not in status.read()
    except FileNotFoundError:
        return False


def worker_pids(stack: Stack, count: int) -> list[int]:
    """The pids of the pool's `count` live worker processes, once that many are registered."""

    def live() -> list[int] | None:
        pids = sorted(w.pid for w in Worker.all(connection=stack.redis) if w.pid and _alive(w.pid))
        return pids if len(pids) == count else None

    pids = wait_for(live, timeout=15)
    assert pids is not None
    return pids


def cpus_of_threads(pid: int) -> list[set[int]]:
    """The CPUs each thread of process `pid` may run on."""
    return [os.sched_getaffinity(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")]


def test_each_worker_process_runs_on_a_cpu_of_its_own_and_a_respawned_one_takes_the_freed_cpu(stack: Stack) -> None:
    with stack.worker(2):
        pids = worker_pids(stack, 2)
        placed = {}
        for pid in pids:
            threads = cpus_of_threads(pid)
            assert len(threads) >= 2  # the runtime's loop thread runs beside the main one
            assert all(len(cpus) == 1 for cpus in threads), threads
            assert len({frozenset(cpus) for cpus in threads}) == 1, threads
            placed[pid] = next(iter(threads[0]))
        assert len(set(placed.values())) == 2, placed

        killed = pids[0]
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: not _alive(killed), timeout=10)
        respawned = [pid for pid in worker_pids(stack, 2) if pid not in placed]
        assert len(respawned) == 1
        assert all(cpus == {placed[killed]} for cpus in cpus_of_threads(respawned[0]))
        for dead in [w for w in Worker.all(connection=stack.redis) if w.pid == killed]:
            dead.register_death()  # a SIGKILLed worker cannot deregister itself; the block's end waits for none left


def test_with_pinning_off_every_worker_thread_may_run_on_any_cpu(stack: Stack) -> None:
    with stack.worker(2, WORKER_CPU_PINNING="false"):
        for pid in worker_pids(stack, 2):
            assert all(cpus == set(usable_cpus()) for cpus in cpus_of_threads(pid))
