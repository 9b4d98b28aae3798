"""`evi-toolhost simulate`: serve and play in-process, play against a running simulator, exit codes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evi_toolhost.cli import main
from evi_toolhost.embedded_redis import free_port
from evi_toolhost.simulator import SimulatorState
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY
from tests.evi_toolhost.simulator.webhook_receiver import WebhookReceiver
from tests.support.servers import UvicornThread


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUME_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("HUME_WEBHOOK_SIGNING_KEY", f"{TEST_SIGNING_KEY},an-older-key")
    monkeypatch.delenv("HUME_API_BASE_URL", raising=False)


@pytest.fixture
def receiver(simulator: UvicornThread) -> WebhookReceiver:
    return WebhookReceiver(simulator.url, TEST_API_KEY, TEST_SIGNING_KEY)


@pytest.fixture
def webhook_url(receiver: WebhookReceiver) -> Iterator[str]:
    with UvicornThread(receiver.app()) as server:
        yield f"{server.url}/hume-webhook"


def test_script_against_a_running_simulator_prints_the_timeline_and_exits_0(
    keys: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    simulator: UvicornThread,
    state: SimulatorState,
    receiver: WebhookReceiver,
    webhook_url: str,
) -> None:
    monkeypatch.setenv("HUME_API_BASE_URL", simulator.url)
    assert main(["simulate", "--script", "weather", "--webhook-url", webhook_url]) == 0
    out = capsys.readouterr().out
    assert "get_weather" in out and "tool_response" in out
    assert out.strip().splitlines()[-1] == "PASS: 2/2 tool calls met their expectations"
    assert receiver.refused == 0 and receiver.event_names[0] == "chat_started"
    assert len(state.chats) == 1


def test_serve_and_play_in_process_exits_0_when_every_expectation_is_met(
    keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    receiver = WebhookReceiver(f"http://127.0.0.1:{port}", TEST_API_KEY, TEST_SIGNING_KEY)
    with UvicornThread(receiver.app()) as hooks:
        argv = ["simulate", "--serve", "--port", str(port), "--script", "weather"]
        assert main([*argv, "--webhook-url", f"{hooks.url}/hume-webhook"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "PASS: 2/2 tool calls met their expectations"
    assert receiver.event_names == ["chat_started", "tool_call", "tool_call", "chat_ended"]


def test_serve_and_play_in_process_exits_1_when_an_expectation_fails(
    keys: None, capsys: pytest.CaptureFixture[str], receiver: WebhookReceiver, webhook_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "refused.yaml"
    script.write_text("turns:\n  - tool: get_weather\n    timeout: 0.2\n")
    # The receiver answers to a different simulator than the one served here, so no answer arrives.
    code = main(["simulate", "--serve", "--port", "0", "--script", str(script), "--webhook-url", webhook_url])
    assert code == 1
    out = capsys.readouterr().out
    assert "no answer before the deadline" in out
    assert out.strip().splitlines()[-1].startswith("FAIL: 0/1")
    assert receiver.event_names == ["chat_started", "tool_call", "chat_ended"]


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["simulate"], {"HUME_API_KEY": "k"}, "nothing to do"),
        (["simulate", "--call", "get_weather", "--args", "{city"], {}, "--args is not valid JSON"),
        (["simulate", "--call", "get_weather", "--args", "[1]"], {}, "--args must be a JSON object, not list"),
        (["simulate", "--script", "missing.yaml", "--serve"], {"HUME_API_KEY": "k"}, "cannot read script"),
        (
            ["simulate", "--script", "weather", "--simulator-url", "http://127.0.0.1:9"],
            {"HUME_API_KEY": "k"},
            "cannot reach the simulator",
        ),
    ],
    ids=["no-action", "args-not-json", "args-not-an-object", "no-script", "simulator-down"],
)
def test_cannot_run_is_one_clear_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name in ("HUME_API_KEY", "HUME_WEBHOOK_SIGNING_KEY", "HUME_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evi-toolhost simulate: ")
    assert message in err[0]


def test_port_in_use_is_exit_2(keys: None, capsys: pytest.CaptureFixture[str], simulator: UvicornThread) -> None:
    assert main(["simulate", "--serve", "--port", str(simulator.port), "--script", "weather"]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_call_plays_one_call_without_a_script_and_prints_the_answer(
    keys: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    simulator: UvicornThread,
    receiver: WebhookReceiver,
    webhook_url: str,
) -> None:
    monkeypatch.setenv("HUME_API_BASE_URL", simulator.url)
    argv = ["simulate", "--call", "get_weather", "--args", '{"city": "Paris"}', "--webhook-url", webhook_url]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1].startswith('get_weather {"city": "Paris"} → tool_response (by http')
    assert lines[-1] == "PASS: 1/1 tool calls met their expectations"
    assert receiver.event_names == ["chat_started", "tool_call", "chat_ended"]


def test_serve_needs_no_key_and_prints_the_made_up_one_and_a_seeded_config() -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "evi_toolhost", "simulate", "--serve", "--port", "0"]
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as served:
        assert served.stderr is not None
        try:
            banner = [served.stderr.readline() for _ in range(5)]
        finally:
            served.terminate()
    assert "API key dev-local-api-key (made up)" in banner[0]
    assert banner[1].startswith("seeded config ")
    config_id = banner[1].split()[2]
    assert f"config attach --config-id {config_id} " in banner[4]
