"""The deployment the benchmarks run against: one Redis, the simulator, web, worker and relay processes, and
the baseline apps, all started lazily and stopped together."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis

from bench.harness import API_KEY, HOST, REPO, SIGNING_KEY, TOOLS_MODULE, UVICORN_OPTIONS, http_answers, log, wait_until
from bench.processes import Proc, descendants, pss_kb, rss_kb
from evi_toolhost.embedded_redis import EmbeddedRedis, free_port


@dataclass
class Snapshot:
    stage: str
    process: str
    rss_kb: int
    pss_kb: int
    detail: str
    largest_kb: int = 0
    """The largest single process's RSS (a pool's parent or one of its children)."""


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
        keep: dict[bytes | str, tuple[bytes | str, int]] = {}
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

    def start_worker(
        self, pool_size: int | None = None, *, wait_registered: bool = True, env: Mapping[str, str] | None = None
    ) -> Proc:
        """`evi-toolhost worker [--pool-size N]` (None: the default from settings, as in the Procfile); `env`:
        variables set for it on top of the deployment's (`WORKER_CONCURRENCY`, say)."""
        self.stop_worker()
        args = ["worker"] if pool_size is None else ["worker", "--pool-size", str(pool_size)]
        expected = pool_size if pool_size is not None else default_pool_size()
        log(f"starting the worker ({'default pool size, ' if pool_size is None else ''}{expected} process(es))")
        self.worker = self.cli("worker", *args, env=self.env(**(env or {})))
        self.worker_pool_size = expected
        if wait_registered:
            self.wait_workers_registered(expected)
        return self.worker

    def start_rq_worker(self) -> Proc:
        """RQ's own stock worker (`rq worker`, the `rq.SimpleWorker` class, JSON serializer) on the tools queue."""
        self.stop_worker()
        log("starting RQ's own worker (rq worker --worker-class rq.SimpleWorker)")
        rq = str(Path(sys.executable).parent / "rq")
        args = [rq, "worker", "--worker-class", "rq.SimpleWorker", "--serializer", "rq.serializers.JSONSerializer"]
        args += ["--url", self.redis_url, "evi-tools"]
        self.worker = self.spawn("rq-worker", args)
        self.worker_pool_size = 1
        self.wait_workers_registered(1)
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
            self.snapshots.append(Snapshot(stage, name, sum(rss), sum(pss), detail, max(rss)))

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
