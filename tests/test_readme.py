"""Every code block in README.md runs in a test, the way a user runs it.

Each block is claimed by exactly one check below; a new block without a check fails
`test_every_code_block_has_a_check`. Blocks that are files of `examples/my-tools` must equal those files, and
that project is installed and tested in a fresh virtualenv that has nothing but the package.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from mcp import Client, StdioServerParameters
from redis import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import evi_toolhost
from evi_toolhost.as_code import AsCodeError
from evi_toolhost.as_code.evi_file import load_file
from evi_toolhost.embedded_redis import free_port
from evi_toolhost.simulator import SimulatorState, create_simulator_app
from evi_toolhost.simulator.script import parse_script
from evi_toolhost.testing import ToolKit
from service.queue import contract
from tests.conftest import TEST_API_KEY
from tests.support.servers import UvicornThread, wait_for_http
from workers.handlers.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
MY_TOOLS = ROOT / "examples" / "my-tools"
BIN = Path(sys.executable).parent
PARIS = {"city": "Paris", "high": 21, "unit": "celsius"}


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int


def readme_blocks() -> list[Block]:
    text = (ROOT / "README.md").read_text()
    return [
        Block(match.group(1), match.group(2), text[: match.start()].count("\n") + 1)
        for match in re.finditer(r"^```(\w*)\n(.*?)^```$", text, re.M | re.S)
    ]


def block(starting: str) -> Block:
    (found,) = [b for b in readme_blocks() if b.text.startswith(starting)]
    return found


CHECKED: dict[str, str] = {
    "python3 -m venv .venv && .venv/bin/pip install -e '.[embedded]'": "test_quick_start_demo_from_a_copy_of_the_repo",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]'": "test_quick_start_tests_are_what_ci_runs",
    "from typing import Literal": "test_the_tool_example_is_the_example_package_and_answers_through_the_kit",
    "# myco/bookings.py": "test_the_speech_and_background_example_says_what_the_table_says",
    "import httpx": "test_the_idempotency_example_sends_one_key_per_call",
    '[project.entry-points."evi_toolhost.tools"]': "test_the_example_project_passes_under_plain_pytest",
    "import myco.tools": "test_the_example_project_passes_under_plain_pytest",
    ".venv/bin/evi-toolhost simulate --call": "tests/integration/test_demo_and_dev.py",
    "name: my conversation": "tests/integration/test_demo_and_dev.py",
    "export HUME_API_KEY=": "test_the_three_commands_run_against_the_simulator",
    "web: evi-toolhost web": "test_the_procfile_block_is_the_procfile",
    "# Your tools in evi-toolhost's image": "test_the_dockerfile_block_is_the_example_dockerfile",
    "rq info --url": "test_the_rq_commands_run_against_a_real_redis",
    "# weather_server.py": "test_the_mcp_server_example_s_tools_sync_as_written",
    "export MCP_SERVERS=": "test_the_mcp_server_example_s_tools_sync_as_written",
    '{\n  "mcpServers"': "test_claude_desktop_s_config_serves_the_example_tools_over_stdio",
    "MCP_TOKEN=change-me evi-toolhost mcp --http": "test_the_http_example_serves_and_the_client_example_calls_it",
    "import asyncio": "test_the_http_example_serves_and_the_client_example_calls_it",
    "# EVI configuration as code for the example tools": "test_the_evi_yaml_block_is_the_example_file",
    "evi-toolhost pull --config-id": "test_pull_plan_apply_run_against_the_simulator",
    "evi-toolhost chats list": "test_the_chat_commands_run_against_the_simulator",
    "from evi_toolhost import tool\n\n\n@tool(redact=": "test_the_redact_example_keeps_the_card_out_of_the_record",
    "evi-toolhost calls": "test_the_calls_commands_run_against_a_real_redis",
    "export OPS_TOKEN=": "test_the_ops_page_example_serves_its_api_with_the_token",
    "# prometheus.yml": "test_the_scrape_config_scrapes_the_three_ports_and_loads_the_rules",
    "pip install 'evi-toolhost[otel]'": "test_the_tracing_lines_turn_traces_on_with_the_otlp_exporter",
}


def test_every_code_block_has_a_check() -> None:
    for found in readme_blocks():
        claims = [start for start in CHECKED if found.text.startswith(start)]
        assert len(claims) == 1, f"README.md line {found.line}: add a check for this block to {__file__}"


def test_quick_start_tests_are_what_ci_runs() -> None:
    """The second quick-start command is exactly what `.ci/run` installs and runs (CI executes it)."""
    command = block("python3 -m venv .venv && .venv/bin/pip install -e '.[test]'").text.strip()
    ci = (ROOT / ".ci" / "run").read_text()
    for step in command.split(" && "):
        assert step in ci, f"{step!r} is not in .ci/run"


def test_the_tool_example_is_the_example_package_and_answers_through_the_kit(monkeypatch: pytest.MonkeyPatch) -> None:
    code = block("from typing import Literal").text
    assert code == (MY_TOOLS / "myco" / "tools.py").read_text()
    registry = Registry()
    monkeypatch.setattr(evi_toolhost, "tool", registry.tool)
    with ToolKit(registry) as kit:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
        paris = kit.call_sync("get_forecast", city="Paris")
        assert [m.type for m in paris.messages] == ["assistant_input", "tool_response"]
        assert paris.content == '{"city":"Paris","high":21,"unit":"celsius"}'
        assert kit.call_sync("get_forecast", city="Atlantis").code == "unknown_city"
        assert kit.call_sync("get_forecast", city="Oslo", unit="kelvin").code == "invalid_arguments"


def test_the_speech_and_background_example_says_what_the_table_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """The block as written, with its sleeps and `slow_after` shortened tenfold (the same story, faster)."""
    faster = block("# myco/bookings.py").text
    for slow, fast in (("sleep(2)", "sleep(0.2)"), ("sleep(5)", "sleep(0.5)"), ("after=1.5", "after=0.15")):
        assert slow in faster
        faster = faster.replace(slow, fast)
    registry = Registry()
    monkeypatch.setattr(evi_toolhost, "tool", registry.tool)
    with ToolKit(registry) as kit:
        exec(compile(faster, "README.md", "exec"), {"__name__": "readme_bookings"})
        looked_up = kit.call_sync("check_availability", date="2026-12-12", party_size=4)
        start, slow = looked_up.said
        assert start == "One moment while I look that up."
        assert slow in ("Still checking the bookings.", "Still looking, bear with me.")
        assert [m.type for m in looked_up.messages] == ["assistant_input", "assistant_input", "tool_response"]
        assert 0.1 <= looked_up.timeline[1].at < 0.2 + 0.15
        booked = kit.call_sync("book_table", date="2026-12-12", party_size=4)
        assert booked.content == "I'm booking that now and will tell you when it's confirmed."
        told = kit.background_sync(booked)
        assert [m.type for m in told.messages] == ["session_settings", "assistant_input"]
        assert told.said[0].startswith("Your table for 4 on 2026-12-12 is booked, reference ")
        assert told.record["background_status"] == "answered"


def test_the_idempotency_example_sends_one_key_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run against a payments API that records the keys it is sent: every run of one tool call sends the same
    key (here: the call delivered to two deployments), another call another key."""
    keys: list[str] = []

    async def charges(request: Request) -> JSONResponse:
        keys.append(request.headers["Idempotency-Key"])
        return JSONResponse({"id": f"ch_{len(set(keys))}"}, status_code=201)

    payments = Starlette(routes=[Route("/charges", charges, methods=["POST"])])
    registry = Registry()
    monkeypatch.setattr(evi_toolhost, "tool", registry.tool)
    with UvicornThread(payments) as server:
        code = block("import httpx").text.replace("https://payments.example.com", server.url)
        exec(compile(code, "README.md", "exec"), {"__name__": "readme_payments"})
        for _ in range(2):
            with ToolKit(registry) as kit:
                paid = kit.call_with("pay_deposit", {"amount_eur": 50}, tool_call_id="toolu_deposit_1")
                assert paid.content == "The deposit of 50 euros is paid."
        with ToolKit(registry) as kit:
            kit.call_with("pay_deposit", {"amount_eur": 50}, tool_call_id="toolu_deposit_2")
    assert keys[0] == keys[1] != keys[2]


def test_the_procfile_block_is_the_procfile() -> None:
    assert block("web: evi-toolhost web").text == (ROOT / "Procfile").read_text()


def test_the_dockerfile_block_is_the_example_dockerfile() -> None:
    assert block("# Your tools in evi-toolhost's image").text == (MY_TOOLS / "Dockerfile").read_text()


def test_the_script_skeleton_is_a_valid_script() -> None:
    script = parse_script(yaml.safe_load(block("name: my conversation").text))
    assert [turn.tool for turn in script.tool_turns] == ["get_weather", "web_search"]


@pytest.fixture
def simulator() -> Iterator[tuple[UvicornThread, SimulatorState]]:
    state = SimulatorState()
    with UvicornThread(create_simulator_app(TEST_API_KEY, state)) as server:
        yield server, state


def shell_lines(text: str) -> list[list[str]]:
    """Each command of a shell block as argv (comments and blank lines dropped)."""
    return [shlex.split(line, comments=True) for line in text.splitlines() if line.split("#")[0].strip()]


def test_the_three_commands_run_against_the_simulator(simulator: tuple[UvicornThread, SimulatorState]) -> None:
    server, state = simulator
    export, sync, attach = shell_lines(block("export HUME_API_KEY=").text)
    assert export == ["export", "HUME_API_KEY=..."]
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(MY_TOOLS),
        "HUME_API_KEY": TEST_API_KEY,
        "HUME_API_BASE_URL": server.url,
        "TOOL_MODULES": "myco.tools",
    }
    program = str(Path(sys.executable).parent / "evi-toolhost")

    def run(*argv: str) -> str:
        done = subprocess.run([program, *argv], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    for argv in (sync, attach):
        assert argv[0] == "evi-toolhost"
        assert "usage: evi-toolhost" in run(*argv[1:3], "--help")
    assert "get_forecast: new tool" in run(*sync[1:], "--dry-run")
    assert state.tools.listing() == []
    run(*sync[1:])
    config = state.configs.create("readme", {"evi_version": "3"})
    out = run(*(config.id if arg == "YOUR-CONFIG-ID" else arg for arg in attach[1:]), "--dry-run")
    assert "tools: (none) → get_forecast@0" in out and "https://YOUR-HOST/hume-webhook" in out


def test_the_evi_yaml_block_is_the_example_file(tmp_path: Path) -> None:
    assert (
        block("# EVI configuration as code for the example tools").text == (ROOT / "examples" / "evi.yaml").read_text()
    )
    quoted = re.search(r"\(`(evi\.yaml:\d+: [^`]+)`\)", " ".join((ROOT / "README.md").read_text().split()))
    assert quoted is not None
    broken = tmp_path / "evi.yaml"
    example = (ROOT / "examples" / "evi.yaml").read_text()
    broken.write_text(example.replace("duration_secs: 180}", "duration_secs: 1801}"))
    with pytest.raises(AsCodeError) as caught:
        load_file(broken)
    assert str(caught.value) == quoted.group(1).replace("evi.yaml", str(broken), 1)


def evi_toolhost_in(cwd: Path, env: dict[str, str]) -> Callable[..., str]:
    program = str(Path(sys.executable).parent / "evi-toolhost")

    def run(*argv: str) -> str:
        done = subprocess.run([program, *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    return run


def test_pull_plan_apply_run_against_the_simulator(
    simulator: tuple[UvicornThread, SimulatorState], tmp_path: Path
) -> None:
    server, state = simulator
    made = httpx.post(
        f"{server.url}/v0/evi/configs",
        headers={"X-Hume-Api-Key": TEST_API_KEY},
        json={"name": "clicked", "evi_version": "3", "prompt": {"text": "Be kind."}, "nudges": {"enabled": False}},
    )
    assert made.status_code == 201, made.text
    env = {"PATH": os.environ["PATH"], "HUME_API_KEY": TEST_API_KEY, "HUME_API_BASE_URL": server.url}
    run = evi_toolhost_in(tmp_path, env)
    pull, plan, apply = shell_lines(block("evi-toolhost pull --config-id").text)
    assert run(*(made.json()["id"] if arg == "YOUR-CONFIG-ID" else arg for arg in pull[1:])).startswith(
        "wrote evi.yaml"
    )
    assert run(*plan[1:]).splitlines()[-1] == "plan: 0 to create, 0 to version, 2 unchanged"
    (tmp_path / "evi.yaml").write_text((tmp_path / "evi.yaml").read_text().replace("Be kind.", "Be very kind."))
    assert "config clicked: new version (Hume has version 0)" in run(*apply[1:])
    assert run(*apply[1:]).splitlines()[-1] == "nothing to do: Hume already matches the file"
    [prompt] = state.prompts.listing()
    assert [version.fields["text"] for version in state.prompts.versions(prompt.id)] == ["Be kind.", "Be very kind."]


def test_the_chat_commands_run_against_the_simulator(
    simulator: tuple[UvicornThread, SimulatorState], tmp_path: Path, redis_url: str
) -> None:
    server, state = simulator
    chat = state.start_chat()
    state.add_user_message(chat.id, "Hello")
    state.add_tool_call(chat.id, name="get_weather", parameters='{"city": "Oslo"}')
    env = {"PATH": os.environ["PATH"], "HUME_API_KEY": TEST_API_KEY, "HUME_API_BASE_URL": server.url}
    run = evi_toolhost_in(tmp_path, {**env, "REDIS_URL": redis_url})
    ids = {"CHAT-ID": chat.id, "GROUP-ID": chat.chat_group_id}
    outputs = [
        run(*(ids.get(arg, arg) for arg in argv[1:])) for argv in shell_lines(block("evi-toolhost chats list").text)
    ]
    listed, shown, exported, group = outputs
    assert chat.id in listed.splitlines()[1]
    assert "get_weather" in shown and "get_weather" in (tmp_path / "chat.md").read_text() and exported == ""
    assert group.startswith(f"chat group {chat.chat_group_id}: 1 chat\n")


def test_the_redact_example_keeps_the_card_out_of_the_record(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry()
    monkeypatch.setattr(evi_toolhost, "tool", registry.tool)
    exec(compile(block("from evi_toolhost import tool").text, "README.md", "exec"), {"__name__": "readme_redact"})
    with ToolKit(registry) as kit:
        paid = kit.call_sync("pay", card_number="4929000011114321", amount_cents=1250)
    assert paid.content == "Charged 12.50 to the card ending 4321."
    assert json.loads(paid.record["arguments"]) == {"card_number": "[redacted]", "amount_cents": 1250}
    assert "4929000011114321" not in json.dumps(paid.record)


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_the_calls_commands_run_against_a_real_redis(redis_url: str, tmp_path: Path) -> None:
    """Records as the worker's own code writes them (through the test kit), put in a real Redis; each command of
    the block against it, as a user types it (`tail` until Ctrl-C)."""
    from examples import weather

    registry = Registry()
    registry.tool(weather.get_weather)
    with ToolKit(registry) as kit:
        calls = [kit.call_sync("get_weather", city="Paris"), kit.call_sync("get_weather", city="Oslo", unit="kelvin")]
    redis = Redis.from_url(redis_url)
    for call in calls:
        redis.hset(contract.call_record(call.tool_call_id), mapping=call.record)  # type: ignore[arg-type]
        redis.zadd(contract.CALL_LOG, {call.tool_call_id: int(call.record["received_ms"])})
    answered, failed = (call.tool_call_id for call in calls)
    env = {"PATH": os.environ["PATH"], "REDIS_URL": redis_url, "TOOL_MODULES": "examples.weather"}
    program = str(BIN / "evi-toolhost")
    outputs = []
    for argv in shell_lines(block("evi-toolhost calls").text):
        assert argv[0] == "evi-toolhost"
        command = [program, *(answered if arg == "TOOL-CALL-ID" else arg for arg in argv[1:])]
        if argv[-1] == "tail":
            # As in a terminal: Ctrl-C's SIGINT handled, even when this run inherited it ignored (a background job)
            follower = subprocess.Popen(
                command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint
            )
            assert follower.stderr is not None and "following new calls" in follower.stderr.readline()
            follower.send_signal(signal.SIGINT)  # Ctrl-C
            assert follower.wait(timeout=30) == 0
            continue
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout)
    listed, filtered, as_json, shown, replayed = outputs
    assert answered in listed and failed in listed
    assert failed in filtered and answered not in filtered
    assert [json.loads(line)["tool_call_id"] for line in as_json.splitlines()] == [failed, answered]
    assert "\ntiming\n" in shown and '"city": "Paris"' in shown
    assert replayed.rstrip().endswith("same answer")


def test_the_ops_page_example_serves_its_api_with_the_token(redis_url: str, tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("no curl on this machine to run the README's request with")
    export, serve, fetch = block("export OPS_TOKEN=").text.splitlines()
    shell = ["sh", "-c"]
    token = subprocess.run([*shell, f'{export}; printf %s "$OPS_TOKEN"'], capture_output=True, text=True).stdout
    assert len(token) >= 16
    port = str(free_port())
    env = {"PATH": os.environ["PATH"], "HUME_API_KEY": TEST_API_KEY, "REDIS_URL": redis_url, "OPS_TOKEN": token}
    env.update(HOST="127.0.0.1", PORT=port, EVI_TOOLHOST_EMBEDDED_REDIS="1")
    (program, command), = [shlex.split(serve)]
    web = subprocess.Popen([str(BIN / program), command], cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=web)
        local = fetch.replace("localhost:8000", f"127.0.0.1:{port}")
        done = subprocess.run([*shell, local], env=env, capture_output=True, text=True, timeout=60)
        refused = subprocess.run([*shell, local], env={**env, "OPS_TOKEN": "not-it"}, capture_output=True, text=True)
    finally:
        web.terminate()
        web.wait(timeout=10)
    assert done.returncode == 0 and json.loads(done.stdout) == {"calls": [], "scanned": 0, "complete": True}
    assert json.loads(refused.stdout)["error"] == "unauthorized"


def test_the_rq_commands_run_against_a_real_redis(redis_url: str) -> None:
    rq = Path(sys.executable).parent / "rq"
    for argv in shell_lines(block("rq info --url").text):
        assert argv[0] == "rq"
        command = [str(rq), *(redis_url if arg == "$REDIS_URL" else arg for arg in argv[1:])]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


def test_the_mcp_server_example_s_tools_sync_as_written(
    simulator: tuple[UvicornThread, SimulatorState], tmp_path: Path
) -> None:
    server, state = simulator
    (tmp_path / "weather_server.py").write_text(block("# weather_server.py").text)
    export, sync = shell_lines(block("export MCP_SERVERS=").text)
    assert export[0] == "export" and sync[0] == "evi-toolhost"
    name, value = export[1].split("=", 1)
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HUME_API_KEY": TEST_API_KEY, "HUME_API_BASE_URL": server.url, name: value}
    done = subprocess.run(sync, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    new_tool = "weather_get_forecast: new tool\n  description: (none) → \"Tomorrow's forecast for a city.\"\n"
    schema = '{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}'
    assert new_tool in done.stdout and f"  parameters: (none) → {schema}\n" in done.stdout
    assert state.tools.listing() == []


async def test_claude_desktop_s_config_serves_the_example_tools_over_stdio(tmp_path: Path) -> None:
    (entry,) = json.loads(block('{\n  "mcpServers"').text)["mcpServers"].values()
    assert entry["command"] == "evi-toolhost"
    command = StdioServerParameters(
        command=str(BIN / entry["command"]), args=entry["args"], env={"PYTHONPATH": str(MY_TOOLS)}, cwd=tmp_path
    )
    async with Client(command) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("get_forecast", {"city": "Paris"})
    assert names == ["get_forecast"]
    assert json.loads(getattr(result.content[0], "text", "")) == PARIS


def test_the_http_example_serves_and_the_client_example_calls_it(tmp_path: Path) -> None:
    (command,) = shell_lines(block("MCP_TOKEN=change-me evi-toolhost mcp --http").text)
    assignment, program, *argv = command
    name, token = assignment.split("=", 1)
    port = str(free_port())
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(MY_TOOLS), name: token}
    argv = [port if arg == "8765" else arg for arg in argv]
    server = subprocess.Popen([str(BIN / program), *argv], cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/mcp", process=server)
        client = block("import asyncio").text.replace("8765", port)
        done = subprocess.run([sys.executable, "-c", client], capture_output=True, text=True, timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert done.returncode == 0, done.stderr
    listed, forecast = done.stdout.splitlines()
    assert (listed, json.loads(forecast)) == ("['get_forecast']", PARIS)


def test_the_scrape_config_scrapes_the_three_ports_and_loads_the_rules(tmp_path: Path) -> None:
    from service.observability.prometheus import RELAY_METRICS_PORT, WORKER_METRICS_PORT

    text = block("# prometheus.yml").text
    config = yaml.safe_load(text)
    (job,) = config["scrape_configs"]
    (targets,) = [group["targets"] for group in job["static_configs"]]
    assert targets == ["web:8000", f"worker:{WORKER_METRICS_PORT}", f"relay:{RELAY_METRICS_PORT}"]
    assert config["rule_files"] == [(ROOT / "deploy" / "prometheus-rules.yml").name]
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus): the config is not checked")
    shutil.copy(ROOT / "deploy" / "prometheus-rules.yml", tmp_path / "prometheus-rules.yml")
    (tmp_path / "prometheus.yml").write_text(text)
    config_file = tmp_path / "prometheus.yml"
    done = subprocess.run([promtool, "check", "config", str(config_file)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tracing_lines_turn_traces_on_with_the_otlp_exporter() -> None:
    install, export = shell_lines(block("pip install 'evi-toolhost[otel]'").text)
    assert install[:2] == ["pip", "install"] and install[2] == "evi-toolhost[otel]"
    assert "otel" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert export[0] == "export"
    variables = dict(assignment.split("=", 1) for assignment in export[1:])
    code = (
        "from service.observability import tracing, otel_sdk; from opentelemetry import trace;"
        "print(tracing.configure('web'), trace.get_tracer_provider().resource.attributes['service.name'],"
        "[type(p.span_exporter).__name__ for p in otel_sdk._provider._active_span_processor._span_processors])"
    )
    env = {"PATH": os.environ["PATH"], **variables}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", variables["OTEL_SERVICE_NAME"], "['OTLPSpanExporter']"]


# --- the slow ones: a fresh virtualenv, as a user's machine has -------------------------------------------


def fresh_venv(where: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)

    def run(*command: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        env = {"PATH": f"{where / 'bin'}:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(where))}
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done

    return run


@pytest.mark.integration
def test_the_example_project_passes_under_plain_pytest(tmp_path: Path) -> None:
    """README's test snippet, in a new project that only pip-installed the package (and pytest)."""
    assert block("import myco.tools").text == (MY_TOOLS / "tests" / "test_tools.py").read_text()
    entry_point = tomllib.loads(block('[project.entry-points."evi_toolhost.tools"]').text)["project"]["entry-points"]
    assert tomllib.loads((MY_TOOLS / "pyproject.toml").read_text())["project"]["entry-points"] == entry_point
    project = tmp_path / "my-tools"
    shutil.copytree(MY_TOOLS, project)
    run = fresh_venv(tmp_path / "venv")
    run("pip", "install", "--quiet", str(ROOT), "pytest")
    run("pip", "install", "--quiet", "--no-deps", "--editable", str(project))
    tested = run("pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert "2 passed" in tested.stdout
    found = run("python", "-c", "from workers.handlers.discovery import discover; print(discover([]))", cwd=tmp_path)
    assert found.stdout.strip() == "['myco.tools']"
    listing = "import importlib.metadata as m, json; print(json.dumps([f.parts[0] for f in m.files('evi-toolhost')]))"
    installed = json.loads(run("python", "-c", listing, cwd=tmp_path).stdout)
    top_level = {name for name in installed if not name.endswith(".dist-info") and name not in ("..", "bin")}
    assert top_level == {"evi_toolhost", "service", "workers"}


@pytest.mark.integration
def test_quick_start_demo_from_a_copy_of_the_repo(tmp_path: Path) -> None:
    """The first quick-start command, verbatim, in a copy of the repository made as a clone would be."""
    command = block("python3 -m venv .venv && .venv/bin/pip install -e '.[embedded]'").text.strip()
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    clone = tmp_path / "clone"
    for name in files.splitlines():
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)), "PIP_QUIET": "1"}
    done = subprocess.run(["sh", "-c", command], cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("PASS: ")
