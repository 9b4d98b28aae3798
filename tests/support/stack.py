"""The whole service as deployed, for integration tests: the EVI simulator as Hume (on a real socket, in this
process, so a test can drive and inspect it), `evi-toolhost web`, workers and relays as real processes, on a
real Redis the session started.

Every accessor waits for the state it returns, never for a fixed time: `answer` for the first answer at the
simulator, `record` for the call record's final status (written after the answer is sent), and `only_answer`
for both, then a short quiet period in which a late duplicate would show.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
from redis import Redis
from rq import Worker

from evi_toolhost.embedded_redis import free_port
from evi_toolhost.simulator import ReceivedMessage, SimulatorState, create_simulator_app
from service.queue import contract
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY
from tests.support.servers import ServiceProcess, UvicornThread, service_env, wait_for, web_process
from tests.support.webhooks import chat_started_payload, signed, tool_call_payload
from workers.records import read_call

FINAL_STATUSES = ("answered", "failed", "timeout", "undeliverable", "not_required", "cancelled", "chat_ended")
QUIET_SECONDS = 0.3
"""After a call's record is final, how long a second answer would have to show up (it never should)."""


class Stack:
    def __init__(self, redis_url: str, tool_modules: str, *, log_level: str = "INFO", **env: str) -> None:
        self.redis_url = redis_url
        self.redis = Redis.from_url(redis_url)
        self.app = create_simulator_app(TEST_API_KEY)
        self.tool_modules = tool_modules
        self.env: dict[str, str] = {"LOG_LEVEL": log_level, **env}
        self.http = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=64))
        self.processes: list[ServiceProcess] = []
        self._exit = ExitStack()
        self.web_url = ""

    @property
    def sim(self) -> SimulatorState:
        state: SimulatorState = self.app.state.simulator
        return state

    # --- processes ---------------------------------------------------------------------------------------

    def start(self) -> Stack:
        self.redis.flushall()
        simulator = self._exit.enter_context(UvicornThread(self.app))
        self.env = {**service_env(self.redis_url, simulator.url, self.tool_modules), **self.env}
        self.web_url = self.start_process(web_process(self.env)).url
        return self

    def process(self, subcommand: str) -> ServiceProcess:
        """The first running process of this subcommand (`web`, `worker`, `relay`)."""
        return next(process for process in self.processes if process.subcommand == subcommand)

    def start_process(self, process: ServiceProcess) -> ServiceProcess:
        self.processes.append(process.start())
        return process

    def start_worker(self, pool_size: int = 2, *, metrics: bool = False, **env: str) -> ServiceProcess:
        """`evi-toolhost worker --pool-size N`, once every one of its workers is registered with RQ; `metrics`: served
        on a free port (`.metrics_url`), else off."""
        before = Worker.count(connection=self.redis)
        args = ["worker", "--pool-size", str(pool_size), *self._metrics_port(metrics)]
        worker = ServiceProcess(args, {**self.env, **env})
        worker.metrics_url = self._metrics_url(args)
        self.start_process(worker)
        wait_for(lambda: Worker.count(connection=self.redis) >= before + pool_size, timeout=20)
        return worker

    @contextmanager
    def worker(self, pool_size: int = 1, **env: str) -> Iterator[ServiceProcess]:
        """A worker for the block only: stopped, and gone from RQ's registry, when it ends."""
        worker = self.start_worker(pool_size, **env)
        try:
            yield worker
        finally:
            self.stop(worker)
            wait_for(lambda: Worker.count(connection=self.redis) == 0, timeout=10)

    def start_relay(self, lease_ms: int = 1500, *, metrics: bool = False) -> ServiceProcess:
        """`evi-toolhost relay`, once it says it is alive; `metrics`: served on a free port (`.metrics_url`), else
        off."""
        args = ["relay", "--lease-ms", str(lease_ms), *self._metrics_port(metrics)]
        relay = ServiceProcess(args, self.env)
        relay.metrics_url = self._metrics_url(args)
        before = len(self.redis.keys(contract.RELAY_ALIVE_PATTERN))
        self.start_process(relay)
        wait_for(lambda: len(self.redis.keys(contract.RELAY_ALIVE_PATTERN)) > before, timeout=10)
        return relay

    @staticmethod
    def _metrics_port(metrics: bool) -> list[str]:
        return ["--metrics-port", str(free_port() if metrics else 0)]

    @staticmethod
    def _metrics_url(args: list[str]) -> str:
        port = int(args[args.index("--metrics-port") + 1])
        return f"http://127.0.0.1:{port}/metrics" if port else ""

    def stop(self, process: ServiceProcess, sig: int | None = None) -> str:
        """Stop the process (if it still runs) and return what it printed."""
        if process in self.processes:
            self.processes.remove(process)
        return process.stop() if sig is None else process.stop(sig)

    def close(self) -> list[str]:
        """Stop everything; every process's output, for checks over all of it."""
        outputs = [process.stop() for process in reversed(self.processes)]
        self.processes.clear()
        self._exit.close()
        self.http.close()
        self.redis.flushall()
        self.redis.close()
        return outputs

    def cli(self, *argv: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
        """`evi-toolhost ARGV...` as a user runs it beside this deployment (same REDIS_URL and settings)."""
        return subprocess.run(
            [sys.executable, "-m", "evi_toolhost", *argv],
            env={**os.environ, **self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # --- EVI's side -------------------------------------------------------------------------------------------

    def chat(self, *, allow_connection: bool = True, announce: bool = False) -> str:
        """A new chat at the simulator; `announce` posts its chat_started webhook too."""
        chat_id = self.sim.start_chat(caller_number="+15550100", allow_connection=allow_connection).id
        if announce:
            self.post(chat_started_payload(chat_id))
        return chat_id

    def post(self, payload: dict[str, Any]) -> httpx.Response:
        """POST a signed webhook; it must be accepted (202 queued, or 200 duplicate)."""
        body, headers = signed(payload, TEST_SIGNING_KEY)
        response = self.http.post(f"{self.web_url}/hume-webhook", content=body, headers=headers)
        assert response.status_code in (200, 202), response.text
        return response

    def call(self, name: str, arguments: dict[str, Any], chat_id: str, **kwargs: Any) -> tuple[str, float]:
        """Post a signed tool_call webhook; its tool_call_id and the wall-clock time it was sent."""
        payload = tool_call_payload(name, arguments, chat_id=chat_id, **kwargs)
        sent_at = time.time()
        self.post(payload)
        return payload["tool_call_message"]["tool_call_id"], sent_at

    # --- waiting accessors ------------------------------------------------------------------------------------

    def answer(self, tool_call_id: str, timeout: float = 10.0) -> ReceivedMessage:
        """The first answer the simulator received for this call."""
        answers = wait_for(lambda: self.sim.answers_for(tool_call_id), timeout=timeout)
        first: ReceivedMessage = answers[0]
        return first

    def record(self, tool_call_id: str, *statuses: str, timeout: float = 10.0) -> dict[str, str]:
        """The call record once its status is final (one of `statuses`, by default any final one)."""
        wanted = statuses or FINAL_STATUSES

        def final() -> dict[str, str] | None:
            record = read_call(self.redis, tool_call_id)
            return record if record.get("status") in wanted else None

        found: dict[str, str] = wait_for(final, timeout=timeout)
        return found

    def only_answers(self, tool_call_ids: list[str], timeout: float = 10.0) -> list[ReceivedMessage]:
        """`only_answer` for many calls, with one quiet period for all of them."""
        for tool_call_id in tool_call_ids:
            self.answer(tool_call_id, timeout)
            self.record(tool_call_id, timeout=timeout)
        time.sleep(QUIET_SECONDS)
        doubled = {call: n for call in tool_call_ids if (n := len(self.sim.answers_for(call))) != 1}
        assert not doubled, f"calls without exactly one answer: {doubled}"
        return [self.sim.answers_for(tool_call_id)[0] for tool_call_id in tool_call_ids]

    def only_answer(self, tool_call_id: str, timeout: float = 10.0) -> ReceivedMessage:
        """The one answer for this call: its record is final, and no second answer came in the quiet period."""
        first = self.answer(tool_call_id, timeout)
        self.record(tool_call_id, timeout=timeout)
        time.sleep(QUIET_SECONDS)
        answers = self.sim.answers_for(tool_call_id)
        assert len(answers) == 1, f"{len(answers)} answers for {tool_call_id}: {[a.message for a in answers]}"
        return first


@contextmanager
def running_stack(redis_url: str, tool_modules: str, **options: Any) -> Iterator[Stack]:
    stack = Stack(redis_url, tool_modules, **options).start()
    try:
        yield stack
    finally:
        stack.close()
