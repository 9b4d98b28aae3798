"""Prometheus exposition, the same for every process: the histogram buckets, the registry a scrape reads, the
multiprocess directory of a process whose children record metrics (the worker pool, several uvicorn workers),
and the metrics port of the worker and the relay.

prometheus_client picks its multiprocess mode when it is first imported, from `PROMETHEUS_MULTIPROC_DIR`: a
process whose children share one endpoint sets a private directory (`shared_between_processes`) before anything
imports it, so this module imports it only inside its functions.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds, suited to a voice call: a millisecond of intake up to a tool's half-minute deadline."""
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
WORKER_METRICS_PORT = 9100
RELAY_METRICS_PORT = 9101


def metrics_port(flag: int | None, setting: int | None, default: int) -> int:
    """The metrics port of a worker or relay: its `--metrics-port`, else METRICS_PORT, else `default` (0: off)."""
    return flag if flag is not None else setting if setting is not None else default


class MetricsPortInUse(Exception):
    """The metrics port is taken: said in one line, never a traceback."""


@contextmanager
def shared_between_processes() -> Iterator[str]:
    """A private `PROMETHEUS_MULTIPROC_DIR` for this process and every child it forks or spawns from now on,
    removed when the block ends. Must come before prometheus_client is imported in this process."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError(f"prometheus_client was imported before {MULTIPROC_DIR} was set: no metrics would be shared")
    previous = os.environ.get(MULTIPROC_DIR)
    path = tempfile.mkdtemp(prefix="evi-toolhost-metrics-")
    os.environ[MULTIPROC_DIR] = path
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if previous is None:
            os.environ.pop(MULTIPROC_DIR, None)
        else:
            os.environ[MULTIPROC_DIR] = previous


def shared() -> bool:
    """Whether this process records its metrics into a directory shared with its siblings."""
    return MULTIPROC_DIR in os.environ


def scrape_registry() -> CollectorRegistry:
    """What a scrape of this process reads: every sibling's metrics summed from the shared directory, or this
    process's own."""
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    if not shared():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def process_gone(pid: int) -> None:
    """A child that recorded into the shared directory has exited: its live gauges stop counting."""
    if shared():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def serve(port: int, registry: CollectorRegistry, what: str) -> None:
    """Serve `/metrics` on `port` (all interfaces) from a daemon thread; `MetricsPortInUse` if it is taken."""
    from prometheus_client import start_http_server

    try:
        server, _ = start_http_server(port, registry=registry)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise MetricsPortInUse(
            f"{what}: METRICS_PORT {port} is already in use; set METRICS_PORT to a free port, or 0 to turn the "
            "metrics endpoint off"
        ) from None
    # A forked child (a pool's worker) must not keep the port open after this process is gone.
    os.register_at_fork(after_in_child=server.socket.close)
