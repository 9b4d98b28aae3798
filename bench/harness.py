"""Shared process handling for the benchmarks: start, wait for, measure and always stop processes.

Every process is started as `subprocess.Popen([sys.executable, ...])` in its own session (so Ctrl-C in
the terminal reaches only the bench, which then stops them in order) and asked to die with the bench
(Linux PR_SET_PDEATHSIG), so even a killed bench leaves nothing behind. Output goes to a log file in a
temporary directory, shown when a process fails to start. Readiness is always a polled condition
(an HTTP answer, a Redis key), bounded in time; there are no fixed sleeps.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

from evi_toolhost.embedded_redis import EmbeddedRedis, free_port
from service.child_processes import die_with_parent

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Made-up keys: the simulator and the service only have to agree with each other.
API_KEY = "bench-api-key-0000"
SIGNING_KEY = "bench-signing-key-0000"
HOST = "127.0.0.1"
TOOLS_MODULE = "bench.tools"

# The uvicorn options `evi-toolhost web` runs with (service/commands/web.py), for the baseline apps.
UVICORN_OPTIONS = ["--workers", "1", "--log-level", "info", "--proxy-headers", "--no-access-log"]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


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


class Proc:
    """One child process (and its descendants), in its own session, with its output in a log file."""

    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = list(args)
        self.env = dict(env)
        self.log_path = log_dir / f"{name}-{int(time.time() * 1000)}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> Proc:
        with open(self.log_path, "wb") as out:
            self.popen = subprocess.Popen(
                self.args,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        return self

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            raise BenchError(
                f"{self.name} exited with code {self.popen.returncode}; its last output:\n{self.output_tail()}"
            )

    def stop(self, grace: float = 8.0) -> None:
        """SIGTERM to the whole process group, then SIGKILL after `grace` seconds."""
        if self.popen is None or self.popen.poll() is not None:
            self._reap_group()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not stop within {grace:g} s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        self._reap_group()

    def _reap_group(self) -> None:
        """Kill whatever is left in the process group (a pool's children, say)."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)


# --- /proc readings ------------------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc/PID/task/*/children, else a scan of /proc)."""
    found: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        for task in task_dir.iterdir():
            text = (task / "children").read_text()
            found.extend(int(part) for part in text.split())
        return sorted(set(found))
    except OSError:
        pass
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return sorted(found)


def descendants(pid: int) -> list[int]:
    result: list[int] = []
    stack = [pid]
    while stack:
        for child in children_of(stack.pop()):
            result.append(child)
            stack.append(child)
    return result


def rss_kb(pid: int) -> int:
    """VmRSS of one process, in kB (0 if it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pss_kb(pid: int) -> int:
    """Proportional set size (shared pages split between the processes sharing them), in kB."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of one process so far ((0, 0) if it is gone)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS
    return 0.0, 0.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process so far, in seconds (0 if it is gone)."""
    return sum(cpu_split(pid))


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its descendants so far."""
    return sum(cpu_seconds(p) for p in [pid, *descendants(pid)])


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


# --- the processes ---------------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    stage: str
    process: str
    rss_kb: int
    pss_kb: int
    detail: str


@dataclass
class Deployment:
    """Everything the benchmarks run against, started lazily and stopped together.

    One Redis and one simulator for the whole run; the web and relay processes live as long as the
    deployment (so their memory is followed across every benchmark); worker processes and baseline
    apps are started and stopped by the benchmark that needs them.
    """

    profile: bool = False
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="evi-bench-")))
    procs: list[Proc] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    _redis_server: EmbeddedRedis | None = None
    _redis: Redis | None = None
    sim_url: str | None = None
    web: Proc | None = None
    web_url: str | None = None
    relay: Proc | None = None
    worker: Proc | None = None
    worker_pool_size: int | None = None

    # -- environment ---------------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUME_", "REDIS_", "TOOL_", "WORKER_"))}
        env.update(
            {
                "HUME_API_KEY": API_KEY,
                "HUME_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
                "REDIS_URL": self.redis_url,
                "HUME_API_BASE_URL": self.sim_url or "http://127.0.0.1:9",
                "TOOL_MODULES": TOOLS_MODULE,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")])),
                "PYTHONUNBUFFERED": "1",
                "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
            }
        )
        env.update(extra)
        return env

    # -- Redis --------------------------------------------------------------------------------------------------

    def ensure_redis(self) -> str:
        """Start the embedded Redis on first use; its URL."""
        if self._redis_server is None:
            log("starting Redis (embedded)")
            self._redis_server = EmbeddedRedis().start()
        return self._redis_server.url

    @property
    def redis_url(self) -> str:
        return self.ensure_redis()

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(self.redis_url)
        return self._redis

    def redis_pid(self) -> int | None:
        info = self.redis.info("server")
        return int(info["process_id"]) if "process_id" in info else None

    def flush_redis(self) -> None:
        """Empty Redis, keeping the relay's own liveness and lease keys if a relay is running."""
        keep: dict[bytes, tuple[bytes, int]] = {}
        if self.relay is not None:
            for pattern in ("evi:relay:alive:*",):
                for key in self.redis.scan_iter(match=pattern, count=1000):
                    value = self.redis.get(key)
                    if value is not None:
                        keep[key] = (value, max(int(self.redis.pttl(key)), 1000))
        self.redis.flushall()
        for key, (value, ttl) in keep.items():
            self.redis.set(key, value, px=ttl)

    # -- processes ----------------------------------------------------------------------------------------------

    def spawn(self, name: str, args: Sequence[str], env: Mapping[str, str] | None = None) -> Proc:
        proc = Proc(name, args, env if env is not None else self.env(), self.log_dir).start()
        self.procs.append(proc)
        return proc

    def cli(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> Proc:
        """`evi-toolhost ARGS...` as a child."""
        self.ensure_redis()  # every service process needs it
        return self.spawn(name, [sys.executable, "-m", "evi_toolhost", *args], env)

    def stop_proc(self, proc: Proc | None) -> None:
        if proc is None:
            return
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def simulator(self) -> str:
        if self.sim_url is None:
            port = free_port()
            url = f"http://{HOST}:{port}"
            self.ensure_redis()
            log(f"starting the EVI simulator on {url}")
            sim = self.cli(
                "sim", "simulate", "--serve", "--host", HOST, "--port", str(port), env=self.env(LOG_LEVEL="WARNING")
            )
            wait_until(lambda: http_answers(f"{url}/_sim/stats"), 30, "the simulator answering", procs=[sim])
            self.sim_url = url
        return self.sim_url

    def start_web(self) -> str:
        """`evi-toolhost web` (one uvicorn process), kept for the whole deployment."""
        if self.web is None:
            port = free_port()
            url = f"http://{HOST}:{port}"
            self.ensure_redis()
            log(f"starting the web process on {url}")
            self.web = self.cli("web", "web", "--host", HOST, "--port", str(port))
            wait_until(lambda: http_answers(f"{url}/healthz"), 30, "the web process answering", procs=[self.web])
            self.web_url = url
        assert self.web_url is not None
        return self.web_url

    def start_relay(self) -> Proc:
        if self.relay is None:
            log("starting the relay")
            self.relay = self.cli("relay", "relay")
            wait_until(
                lambda: next(self.redis.scan_iter(match="evi:relay:alive:*", count=1000), None),
                30,
                "the relay reporting alive",
                procs=[self.relay],
            )
        return self.relay

    def start_worker(self, pool_size: int | None = None, *, wait_registered: bool = True) -> Proc:
        """`evi-toolhost worker [--pool-size N]` (None: the default from settings, as in the Procfile)."""
        self.stop_worker()
        args = ["worker"] if pool_size is None else ["worker", "--pool-size", str(pool_size)]
        expected = pool_size if pool_size is not None else default_pool_size()
        log(f"starting the worker ({'default pool size, ' if pool_size is None else ''}{expected} process(es))")
        self.worker = self.cli("worker", *args)
        self.worker_pool_size = expected
        if wait_registered:
            self.wait_workers_registered(expected)
        return self.worker

    def wait_workers_registered(self, count: int, timeout: float = 60) -> None:
        assert self.worker is not None
        wait_until(
            lambda: self.redis.scard("rq:workers:evi-tools") >= count,
            timeout,
            f"{count} worker(s) registering with RQ",
            interval=0.005,
            procs=[self.worker],
        )

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.stop_proc(self.worker)
            self.worker = None
            self.worker_pool_size = None
            # A worker stopped warm unregisters itself; a killed one may not.
            for key in [*self.redis.smembers("rq:workers"), *self.redis.smembers("rq:workers:evi-tools")]:
                with contextlib.suppress(Exception):
                    self.redis.srem("rq:workers", key)
                    self.redis.srem("rq:workers:evi-tools", key)
                    self.redis.srem("rq:workers:evi-events", key)

    def uvicorn_app(self, name: str, app: str, env: Mapping[str, str] | None = None) -> tuple[Proc, str]:
        """A baseline ASGI app (`module:factory`) under uvicorn with the web process's options."""
        port = free_port()
        url = f"http://{HOST}:{port}"
        args = [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--host",
            HOST,
            "--port",
            str(port),
            *UVICORN_OPTIONS,
        ]
        proc = self.spawn(name, args, env)
        wait_until(lambda: http_answers(f"{url}/"), 30, f"{name} answering", procs=[proc])
        return proc, url

    # -- memory --------------------------------------------------------------------------------------------------

    def snapshot(self, stage: str) -> None:
        """RSS (and PSS) of web, worker (pool parent + children) and relay, as they are now."""
        for name, proc in (("web", self.web), ("worker", self.worker), ("relay", self.relay)):
            if proc is None or not proc.running():
                continue
            pids = [proc.pid, *descendants(proc.pid)]
            rss = [rss_kb(p) for p in pids]
            pss = [pss_kb(p) for p in pids]
            if name == "worker":
                children = ", ".join(str(round(r / 1024)) for r in rss[1:])
                detail = f"pool size {self.worker_pool_size}, {rss[0] / 1024:.0f} + [{children}]"
            else:
                detail = f"{len(pids)} process(es)"
            self.snapshots.append(Snapshot(stage, name, sum(rss), sum(pss), detail))

    # -- teardown ------------------------------------------------------------------------------------------------

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                proc.stop()
        self.procs.clear()
        self.web = self.relay = self.worker = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                self._redis.close()
        if self._redis_server is not None:
            self._redis_server.stop()
            self._redis_server = None
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_pool_size() -> int:
    """WORKER_POOL_SIZE's default, as `evi-toolhost worker` would use it with the variable unset."""
    from service.settings import Settings

    return int(Settings.model_fields["worker_pool_size"].default)


def default_worker_concurrency() -> int:
    """WORKER_CONCURRENCY's default (jobs one worker process runs at once); 1 where the setting does not exist."""
    from service.settings import Settings

    field_info = Settings.model_fields.get("worker_concurrency")
    return int(field_info.default) if field_info is not None else 1


def rq_worker_pids(redis: Redis, queue: str = "evi-tools") -> list[int]:
    """PIDs of the RQ worker processes registered for `queue` (the pool's job-running children)."""
    pids = []
    for name in redis.smembers(f"rq:workers:{queue}"):
        key = name.decode() if isinstance(name, bytes) else str(name)
        pid = redis.hget(key if key.startswith("rq:worker:") else f"rq:worker:{key}", "pid")
        if pid:
            pids.append(int(pid))
    return sorted(pids)


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


# --- profiling (optional: py-spy) ------------------------------------------------------------------------------


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def start_profile(
    pid: int, seconds: float, out: Path, *, subprocesses: bool = False, gil: bool = False, idle: bool = False
) -> subprocess.Popen[bytes] | None:
    """`py-spy record --format raw` (collapsed stacks) of `pid` for `seconds`; None if py-spy is missing.

    `gil`: only samples of the thread holding the GIL (where the Python CPU goes); `idle`: also samples of
    waiting threads (where the wall-clock time goes).
    """
    binary = py_spy()
    if binary is None:
        return None
    args = [binary, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", "250"]
    args += ["--format", "raw", "--output", str(out), "--nonblocking", "--function"]
    args += ["--subprocesses"] if subprocesses else []
    args += ["--gil"] if gil else []
    args += ["--idle"] if idle else []
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stacks(path: Path, only: str | None) -> list[tuple[list[str], int]]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    stacks = []
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit() or (only is not None and only not in stack):
            continue
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if frames:
            stacks.append((frames, int(count_text)))
    return stacks


def profile_shares(
    path: Path, needles: Sequence[str], *, only: str | None = None, top: int = 8
) -> tuple[int, dict[str, float], list[tuple[str, float]]]:
    """From collapsed stacks (restricted to stacks containing `only`): the number of samples, the share of
    samples whose stack contains each needle (inclusive), and the frames with the most own samples."""
    stacks = _stacks(path, only)
    total = sum(count for _, count in stacks)
    if not total:
        return 0, {}, []
    hits = dict.fromkeys(needles, 0)
    own: dict[str, int] = {}
    for frames, count in stacks:
        joined = ";".join(frames)
        for needle in needles:
            if needle in joined:
                hits[needle] += count
        leaf = re.sub(r":\d+\)$", ")", frames[-1])
        own[leaf] = own.get(leaf, 0) + count
    busiest = sorted(own, key=own.__getitem__, reverse=True)[:top]
    return total, {n: hits[n] / total for n in needles}, [(frame, own[frame] / total) for frame in busiest]


def profile_notes(path: Path, what: str, needles: Mapping[str, str], *, only: str | None = None) -> list[str]:
    total, shares, top = profile_shares(path, list(needles), only=only)
    if not total:
        return [f"profile of the {what}: no samples (py-spy needs ptrace permission)"]
    parts = [f"{label} {shares[needle] * 100:.0f}%" for needle, label in needles.items()]
    return [
        f"Profile of the {what} ({total} samples, share of samples whose stack is in): " + "; ".join(parts) + ".",
        f"Frames of the {what} with the most own samples: "
        + "; ".join(f"`{frame}` {share * 100:.0f}%" for frame, share in top)
        + f". Raw collapsed stacks: `bench/results/{path.name}`.",
    ]


# --- results -------------------------------------------------------------------------------------------------------


@dataclass
class Section:
    """One benchmark's part of the report: a markdown table and notes under it."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    """Raw figures, written to bench/results/latest.json."""

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.headers) + " |"]
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
