"""`evi-toolhost demo` and `dev` as a user runs them: real subprocesses, nothing left behind."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from evi_toolhost.embedded_redis import free_port
from evi_toolhost.local_setup import SIMULATOR_PORT, WEB_PORT
from service.observability.prometheus import RELAY_METRICS_PORT, WORKER_METRICS_PORT
from tests.support.servers import wait_for, wait_for_http
from tests.test_readme import ROOT, readme_blocks

pytestmark = pytest.mark.integration


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "evi_toolhost", *args]


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc: each process names its parent)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUME_", "REDIS_URL", "TOOL_MODULES"))}
    return {**env, "PYTHONUNBUFFERED": "1"}


def test_demo_plays_the_scripted_call_and_exits_zero() -> None:
    result = subprocess.run(cli("demo"), env=clean_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    tools = ("get_weather", "loyalty_points", "lookup_order", "previous_conversation", "check_availability")
    for tool in (*tools, "book_table", "web_search"):
        assert tool in out
    for code in ("tool_failed", "invalid_arguments", "order_not_found"):
        assert code in out
    assert ", resumed)" in out.splitlines()[2], "the demo's chat resumes an earlier one of its group"
    assert "said +0.0" in out and "One moment while I look that up." in out
    assert "said +0." in out.split("One moment while I look that up.", 1)[1], "the slow phrase, under a second in"
    assert "told +" in out and "is booked. The reference is B-" in out
    assert "transcript stored when the chat ended" in out
    assert "user: Hi! What's the weather like in Paris?" in out
    assert out.strip().splitlines()[-1].startswith("PASS: 8/8 tool calls met their expectations")


@dataclass
class Dev:
    process: subprocess.Popen[bytes]
    web_port: int
    sim_port: int
    output: Path

    def flags(self) -> list[str]:
        """What `simulate` needs to be told when dev does not run on the default ports."""
        flags = []
        if self.sim_port != SIMULATOR_PORT:
            flags += ["--simulator-url", f"http://127.0.0.1:{self.sim_port}"]
        if self.web_port != WEB_PORT:
            flags += ["--webhook-url", f"http://127.0.0.1:{self.web_port}/hume-webhook"]
        return flags

    def printed_call(self) -> list[str]:
        """The `simulate --call` command dev printed for the user to run from another terminal."""
        lines = wait_for(lambda: "simulate --call" in self.output.read_text() and self.output.read_text(), timeout=30)
        (line,) = [line for line in lines.splitlines() if "simulate --call" in line]
        return shlex.split(line.split("|", 1)[1])


def port_or_free(port: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


@contextmanager
def running_dev(tmp_path: Path, *args: str, web_port: int | None = None, sim_port: int | None = None) -> Iterator[Dev]:
    web_port, sim_port = web_port or free_port(), sim_port or free_port()
    output = tmp_path / "dev.log"
    with output.open("wb") as log:
        process = subprocess.Popen(
            cli("dev", "--sim", "--port", str(web_port), "--sim-port", str(sim_port), *args),
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{web_port}/healthz", timeout=30, process=process)
        wait_for_http(f"http://127.0.0.1:{sim_port}/_sim/stats", timeout=30, process=process)
        yield Dev(process, web_port, sim_port, output)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    with running_dev(tmp_path) as running:
        yield running


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    """`evi-toolhost simulate ...` from another terminal: no keys in its environment."""
    return subprocess.run(cli("simulate", *args), env=clean_env(), capture_output=True, text=True, timeout=60)


def test_the_readme_call_and_script_play_against_dev(tmp_path: Path) -> None:
    """README's `simulate --call` verbatim (on dev's default ports when they are free), and its script skeleton."""
    with running_dev(tmp_path, web_port=port_or_free(WEB_PORT), sim_port=port_or_free(SIMULATOR_PORT)) as dev:
        (line,) = [b for b in readme_blocks() if b.text.startswith(".venv/bin/evi-toolhost simulate --call")]
        argv = shlex.split(line.text)
        assert argv[:2] == [".venv/bin/evi-toolhost", "simulate"]
        called = simulate(*argv[2:], *dev.flags())
        assert called.returncode == 0, called.stdout + called.stderr
        assert "→ tool_response" in called.stdout and '"city":"Paris"' in called.stdout
        (skeleton,) = [b for b in readme_blocks() if b.text.startswith("name: my conversation")]
        script = tmp_path / "conversation.yaml"
        script.write_text(skeleton.text)
        played = simulate("--script", str(script), *dev.flags())
        assert played.returncode == 0, played.stdout + played.stderr
        assert played.stdout.strip().splitlines()[-1] == "PASS: 2/2 tool calls met their expectations"


def test_dev_prints_a_call_that_works_for_the_tools_it_runs(tmp_path: Path) -> None:
    with running_dev(tmp_path, "--tools", "tests.integration.relay_tools") as dev:
        argv = dev.printed_call()
        assert argv[argv.index("--call") + 1] == "ping"
        assert Path(argv[0]).name == "evi-toolhost"
        # Verbatim, from the folder dev runs in: the program path it printed must work as typed.
        played = subprocess.run(argv, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60)
        assert played.returncode == 0, played.stdout + played.stderr
        assert "→ tool_response" in played.stdout


def take(holder: socket.socket, port: int) -> bool:
    try:
        holder.bind(("0.0.0.0", port))
    except OSError:
        return False
    holder.listen()
    return True


def test_dev_serves_metrics_on_free_ports_when_9100_and_9101_are_taken(tmp_path: Path) -> None:
    with contextlib.ExitStack() as held:
        for port in (WORKER_METRICS_PORT, RELAY_METRICS_PORT):
            holder = held.enter_context(socket.socket())
            # Held by this test for its whole run; a process of an earlier test may still be letting it go.
            with contextlib.suppress(AssertionError):  # held by another program for good: taken all the same
                wait_for(lambda holder=holder, port=port: take(holder, port), timeout=20, interval=0.1)
        with running_dev(tmp_path) as dev:
            text = wait_for(lambda: "metrics: web" in (out := dev.output.read_text()) and out, timeout=30)
            (line,) = [line for line in text.splitlines() if "metrics: web" in line]
            urls = dict(part.split(" ") for part in line.split("metrics: ", 1)[1].split(", "))
            assert urls["web"] == f"http://127.0.0.1:{dev.web_port}/metrics"
            for name in ("worker", "relay"):
                assert not urls[name].endswith((f":{WORKER_METRICS_PORT}/metrics", f":{RELAY_METRICS_PORT}/metrics"))
                wait_for_http(urls[name], timeout=30, process=dev.process)
                url = urls[name]  # served at once; the lag's first sample comes once the process has started
                wait_for(lambda url=url: "evi_event_loop_lag_seconds" in httpx.get(url, timeout=5).text, timeout=30)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_dev_leaves_no_process_behind(dev: Dev, stop_signal: signal.Signals) -> None:
    process, web_port = dev.process, dev.web_port
    children = wait_for(lambda: (found := descendants(process.pid)) and len(found) >= 5 and found, timeout=20)
    process.send_signal(stop_signal)
    assert process.wait(timeout=20) == 0
    wait_for(lambda: not any(alive(pid) for pid in children), timeout=10)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{web_port}/healthz", timeout=1)
