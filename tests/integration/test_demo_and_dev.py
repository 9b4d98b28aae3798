"""`evi-toolhost demo` and `dev` as a user runs them: real subprocesses, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evi_toolhost.embedded_redis import free_port
from tests.support.servers import wait_for, wait_for_http

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
    for tool in ("get_weather", "loyalty_points", "lookup_order", "check_availability", "web_search"):
        assert tool in out
    for code in ("tool_failed", "invalid_arguments", "order_not_found"):
        assert code in out
    assert "transcript stored when the chat ended" in out
    assert "user: Hi! What's the weather like in Paris?" in out
    assert out.strip().splitlines()[-1].startswith("PASS: 6/6 tool calls met their expectations")


@pytest.fixture
def dev() -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    web_port, sim_port = free_port(), free_port()
    process = subprocess.Popen(
        cli("dev", "--sim", "--port", str(web_port), "--sim-port", str(sim_port)),
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{web_port}/healthz", timeout=30, process=process)
        wait_for_http(f"http://127.0.0.1:{sim_port}/_sim/stats", timeout=30, process=process)
        yield process, web_port, sim_port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_dev_with_the_simulator_answers_a_script_played_from_another_terminal(
    dev: tuple[subprocess.Popen[bytes], int, int],
) -> None:
    _, web_port, sim_port = dev
    env = {**clean_env(), "HUME_API_KEY": "dev-local-api-key", "HUME_WEBHOOK_SIGNING_KEY": "dev-local-signing-key"}
    args = ("--script", "weather", "--simulator-url", f"http://127.0.0.1:{sim_port}")
    webhook = ("--webhook-url", f"http://127.0.0.1:{web_port}/hume-webhook")
    played = subprocess.run(cli("simulate", *args, *webhook), env=env, capture_output=True, text=True, timeout=60)
    assert played.returncode == 0, played.stdout + played.stderr
    assert "get_weather" in played.stdout and "tool_response" in played.stdout
    assert played.stdout.strip().splitlines()[-1].startswith("PASS")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_dev_leaves_no_process_behind(
    dev: tuple[subprocess.Popen[bytes], int, int], stop_signal: signal.Signals
) -> None:
    process, web_port, _ = dev
    children = wait_for(lambda: (found := descendants(process.pid)) and len(found) >= 5 and found, timeout=20)
    process.send_signal(stop_signal)
    assert process.wait(timeout=20) == 0
    wait_for(lambda: not any(alive(pid) for pid in children), timeout=10)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{web_port}/healthz", timeout=1)
