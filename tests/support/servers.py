"""Real servers for integration tests: uvicorn in a thread, and service processes as subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import uvicorn

from evi_toolhost.embedded_redis import free_port


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01) -> Any:
    """Poll `condition` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {condition}")
        time.sleep(interval)


def wait_for_http(url: str, timeout: float = 15.0, process: subprocess.Popen[bytes] | None = None) -> None:
    def answers() -> bool:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {url} answered")
        try:
            return httpx.get(url, timeout=0.5).status_code < 500
        except httpx.TransportError:
            return False

    wait_for(answers, timeout=timeout, interval=0.05)


class UvicornThread:
    """Serve an ASGI app on 127.0.0.1 over a real socket, in a background thread."""

    def __init__(self, app: Any, port: int | None = None, **config: Any) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        cfg = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", **config)
        self.server = uvicorn.Server(cfg)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> UvicornThread:
        self._thread.start()
        wait_for(lambda: self.server.started, timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)


class ServiceProcess:
    """An `evi-toolhost` subprocess (web, worker, relay, ...) with its output kept for failures."""

    def __init__(
        self, args: Sequence[str], env: Mapping[str, str], ready_url: str | None = None, url: str = ""
    ) -> None:
        self.args = [sys.executable, "-m", "evi_toolhost", *args]
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.ready_url = ready_url
        self.url = url
        self.metrics_url = ""
        """Where its metrics are served (`Stack.start_worker(metrics=True)`, ...), or "" when they are off."""
        self.process: subprocess.Popen[bytes] | None = None
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 (kept open for the process's lifetime)

    @property
    def subcommand(self) -> str:
        return self.args[3]

    def start(self) -> ServiceProcess:
        # Output goes to a file, not a pipe: a pipe nobody drains fills up and blocks the process's logging.
        self.process = subprocess.Popen(
            self.args, env=self.env, stdout=self._output, stderr=subprocess.STDOUT, start_new_session=True
        )
        if self.ready_url:
            wait_for_http(self.ready_url, process=self.process)
        return self

    def output_so_far(self) -> str:
        """What the process printed until now, while it runs (read at an offset: the file position it writes at,
        shared with this handle, is left alone)."""
        descriptor = self._output.fileno()
        return os.pread(descriptor, os.fstat(descriptor).st_size, 0).decode(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> str:
        """Signal the process (not its children: a worker pool stops its own, as under `docker stop`), wait for
        it, then SIGKILL its whole group if it is not gone in time; return everything it printed."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._output.seek(0)
        return self._output.read().decode(errors="replace")

    def output(self) -> str:
        """What it printed so far (it keeps running: read without moving the offset it writes at)."""
        fd = self._output.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        output = self.stop()
        if exc[0] is not None:
            sys.stderr.write(f"--- output of {' '.join(self.args[2:])} ---\n{output}\n")


def web_process(env: Mapping[str, str]) -> ServiceProcess:
    """`evi-toolhost web` on a free port; `.url` is its base URL once started."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return ServiceProcess(["web", "--host", "127.0.0.1", "--port", str(port)], env, f"{url}/healthz", url)


def service_env(redis_url: str, hume_url: str = "http://127.0.0.1:1", tool_modules: str = "") -> dict[str, str]:
    """The environment of a service process under test: our Redis, made-up keys, the simulator as Hume."""
    from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY

    return {
        "REDIS_URL": redis_url,
        "HUME_API_KEY": TEST_API_KEY,
        "HUME_WEBHOOK_SIGNING_KEY": TEST_SIGNING_KEY,
        "HUME_API_BASE_URL": hume_url,
        "TOOL_MODULES": tool_modules,
        "EVI_TOOLHOST_EMBEDDED_REDIS": "1",  # the session's throwaway Redis: no durability warnings
        "METRICS_PORT": "0",  # no worker or relay takes a fixed port; `Stack` gives one a free port when asked
    }
