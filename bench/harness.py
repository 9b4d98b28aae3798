"""What every benchmark shares: the made-up keys and options, waiting for a condition, statistics, the report's
sections. Processes are in `bench.processes`, the deployment in `bench.deployment`, profiles in `bench.profiling`.

Every process is started as `subprocess.Popen([sys.executable, ...])` in its own session (so Ctrl-C in
the terminal reaches only the bench, which then stops them in order) and asked to die with the bench
(Linux PR_SET_PDEATHSIG), so even a killed bench leaves nothing behind. Output goes to a log file in a
temporary directory, shown when a process fails to start. Readiness is always a polled condition
(an HTTP answer, a Redis key), bounded in time; there are no fixed sleeps.
"""

from __future__ import annotations

import contextlib
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Made-up keys: the simulator and the service only have to agree with each other.
API_KEY = "bench-api-key-0000"
SIGNING_KEY = "bench-signing-key-0000"
HOST = "127.0.0.1"
TOOLS_MODULE = "bench.tools"

# The uvicorn options `evi-toolhost web` runs with (service/commands/web.py), for the baseline apps.
UVICORN_OPTIONS = ["--workers", "1", "--log-level", "info", "--proxy-headers", "--no-access-log"]


if TYPE_CHECKING:
    from bench.processes import Proc


class BenchError(RuntimeError):
    """A benchmark could not run (a process did not start, a condition never came true)."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    *,
    interval: float = 0.02,
    procs: Sequence[Proc] = (),
) -> Any:
    """Poll `condition` until it returns something truthy; BenchError after `timeout` s or if a process dies."""
    deadline = time.monotonic() + timeout
    while True:
        for proc in procs:
            proc.check_alive()
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"{what} did not happen within {timeout:g} s")
        time.sleep(interval)


def http_answers(url: str, headers: Mapping[str, str] | None = None) -> bool:
    try:
        return httpx.get(url, headers=dict(headers or {}), timeout=0.5).status_code < 500
    except httpx.TransportError:
        return False


# --- statistics ------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank on the sorted values; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
        "mean": statistics.fmean(ms) if ms else float("nan"),
    }


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so `kill` of the bench cleans up like Ctrl-C."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- results -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """One figure beside the goal it is held to: `measured` meets it when `met`."""

    what: str
    measured: str
    goal: str
    met: bool

    def row(self) -> str:
        return f"| {self.what} | {self.measured} | {self.goal} | {'yes' if self.met else '**no**'} |"


GOALS_HEADER = "| figure | measured | goal | met |\n|---|---|---|---|"


@dataclass
class Section:
    """One benchmark's part of the report: its goals, a markdown table and notes under it."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    """Raw figures, written to bench/results/latest.json."""

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        if self.goals:
            lines += [GOALS_HEADER, *(goal.row() for goal in self.goals), ""]
        lines += ["| " + " | ".join(self.headers) + " |"]
        lines.append("|" + "|".join("---" for _ in self.headers) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines)


def fmt(value: float, digits: int = 1) -> str:
    if value != value:  # nan
        return "n/a"
    return f"{value:,.{digits}f}"
