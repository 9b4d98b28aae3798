"""`evi-toolhost tools sync` and `evi-toolhost config attach` end to end: environment in, the simulator
over HTTP, the printed table / diff out; every failure one line on stderr with a non-zero exit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from evi_toolhost.cli import main
from evi_toolhost.embedded_redis import free_port
from tests.conftest import TEST_API_KEY
from tests.support.hume_api import tools_by_name, versions_of
from tests.support.servers import UvicornThread
from workers.handlers.registry import default_registry

OUR_TOOLS = ("toolsync_forecast", "toolsync_order_status")
WRONG_KEY = "wrong-key-also-made-up"
WEBHOOK = "https://toolhost.example.test/hume-webhook"
UUID = r"[0-9a-f-]{36}"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, simulator: UvicornThread) -> None:
    monkeypatch.setenv("HUME_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("HUME_API_BASE_URL", simulator.url)
    monkeypatch.setenv("TOOL_MODULES", "tests.evi_toolhost.sync.cli_tools")


def run(*argv: str) -> int:
    return main(list(argv))


def table(out: str) -> dict[str, list[str]]:
    """Rows of the printed table by tool name: [id, version, action]."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^tool +id +version +action$", line))
    return {
        cells[0]: cells[1:]
        for cells in (re.split(r" {2,}", line.strip()) for line in lines[start + 1 :])
        if cells and not line_is_note(cells[0])
    }


def line_is_note(cell: str) -> bool:
    return cell.startswith("dry run:")


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_sync_prints_a_table_then_a_second_sync_changes_nothing(
    env: None, capsys: pytest.CaptureFixture[str], api: httpx.Client
) -> None:
    assert run("tools", "sync") == 0
    out, err = capsys.readouterr()
    rows = table(out)
    for name in OUR_TOOLS:
        tool_id, version, action = rows[name]
        assert re.fullmatch(UUID, tool_id) and (version, action) == ("0", "created")
    assert f"{OUR_TOOLS[0]}: new tool" in out
    at_hume = tools_by_name(api)
    assert {name: [v["version"] for v in at_hume[name]] for name in OUR_TOOLS} == {name: [0] for name in OUR_TOOLS}
    assert TEST_API_KEY not in out + err

    assert run("tools", "sync") == 0
    again = table(capsys.readouterr().out)
    assert {name: cells[2] for name, cells in again.items()} == {name: "unchanged" for name in again}
    assert {name: again[name][:2] for name in OUR_TOOLS} == {name: rows[name][:2] for name in OUR_TOOLS}
    assert tools_by_name(api) == at_hume


def test_sync_dry_run_prints_fields_and_creates_nothing(
    env: None, capsys: pytest.CaptureFixture[str], api: httpx.Client
) -> None:
    assert run("tools", "sync", "--dry-run") == 0
    out = capsys.readouterr().out

    assert table(out)[OUR_TOOLS[1]] == ["-", "-", "would create"]
    assert f'{OUR_TOOLS[1]}: new tool\n  description: (none) → "Where an order is."\n' in out
    assert 'fallback_content: (none) → "The forecast is unavailable."' in out
    assert out.rstrip().endswith("dry run: nothing was changed at Hume")
    assert tools_by_name(api) == {}


def test_sync_dry_run_shows_old_and_new_value_of_a_changed_field(
    env: None, capsys: pytest.CaptureFixture[str], api: httpx.Client
) -> None:
    assert run("tools", "sync") == 0
    [forecast] = tools_by_name(api)[OUR_TOOLS[0]]
    edited = api.post(
        f"/v0/evi/tools/{forecast['id']}",
        json={"parameters": forecast["parameters"], "description": "Old words.", "fallback_content": "Sorry."},
    )
    assert edited.status_code == 201
    capsys.readouterr()

    assert run("tools", "sync", "--dry-run") == 0
    out = capsys.readouterr().out

    assert f"{OUR_TOOLS[0]}: changed since version 1\n" in out
    assert '  description: "Old words." → "Weather forecast for a city."\n' in out
    assert '  fallback_content: "Sorry." → "The forecast is unavailable."\n' in out
    assert table(out)[OUR_TOOLS[0]] == [forecast["id"], "1", "would update"]
    assert [v["version"] for v in tools_by_name(api)[OUR_TOOLS[0]]] == [0, 1]


def test_a_wrong_api_key_is_one_line_and_exit_1(
    env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUME_API_KEY", WRONG_KEY)

    assert run("tools", "sync") == 1
    out, err = capsys.readouterr()

    assert one_error_line(err) == "evi-toolhost: Hume API error 401 on GET /v0/evi/tools: Invalid ApiKey"
    assert WRONG_KEY not in out + err


def test_hume_unreachable_is_one_line_and_exit_1(
    env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUME_API_BASE_URL", f"http://127.0.0.1:{free_port()}")

    assert run("tools", "sync") == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("evi-toolhost: cannot reach the Hume API on GET /v0/evi/tools: ConnectError")


def test_a_module_that_cannot_be_imported_is_one_line_and_exit_2(env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("tools", "sync", "--tools", "tests.evi_toolhost.sync.no_such_module") == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("evi-toolhost: cannot import tool module 'tests.evi_toolhost.sync.no_such_module'")


def make_config(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = api.post("/v0/evi/configs", json={"name": "support-bot", "evi_version": "3", **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_attach_prints_the_diff_creates_a_version_then_changes_nothing(
    env: None, capsys: pytest.CaptureFixture[str], api: httpx.Client
) -> None:
    config = make_config(api, prompt={"text": "Be brief."}, nudges={"enabled": False})
    assert run("tools", "sync") == 0
    capsys.readouterr()

    assert run("config", "attach", "--config-id", config["id"], "--webhook-url", WEBHOOK) == 0
    out = capsys.readouterr().out

    lines = out.splitlines()
    assert lines[0] == f"config {config['id']} (support-bot), version 0"
    assert re.fullmatch(r"  tools: \(none\) → .*toolsync_forecast@0, toolsync_order_status@0", lines[1])
    assert lines[2] == f"  webhooks: (none) → {WEBHOOK} (chat_started, chat_ended, tool_call)"
    assert lines[3] == f"created version 1 of config {config['id']}"
    [_, latest] = versions_of(api, "configs", config["id"])
    assert (latest["prompt"]["id"], latest["prompt"]["version"]) == (config["prompt"]["id"], 0)
    assert (latest["prompt"]["text"], latest["nudges"]) == ("Be brief.", {"enabled": False, "interval_secs": None})

    assert run("config", "attach", "--config-id", config["id"], "--webhook-url", WEBHOOK) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["unchanged: it already lists these tools and the webhook"]
    assert len(versions_of(api, "configs", config["id"])) == 2


def test_attach_dry_run_prints_the_diff_and_changes_nothing(
    env: None, capsys: pytest.CaptureFixture[str], api: httpx.Client
) -> None:
    config = make_config(api)
    assert run("tools", "sync") == 0
    capsys.readouterr()

    assert run("config", "attach", "--config-id", config["id"], "--webhook-url", WEBHOOK, "--dry-run") == 0
    out = capsys.readouterr().out

    assert f"  webhooks: (none) → {WEBHOOK} (chat_started, chat_ended, tool_call)\n" in out
    assert out.rstrip().endswith("dry run: would create a new version; nothing was changed at Hume")
    assert len(versions_of(api, "configs", config["id"])) == 1


def test_attach_dry_run_names_the_old_and_the_new_version_of_a_resynced_tool(
    env: None, capsys: pytest.CaptureFixture[str], api: httpx.Client
) -> None:
    config = make_config(api)
    assert run("tools", "sync") == 0
    assert run("config", "attach", "--config-id", config["id"], "--webhook-url", WEBHOOK) == 0
    [forecast] = tools_by_name(api)[OUR_TOOLS[0]]
    edited = api.post(f"/v0/evi/tools/{forecast['id']}", json={"parameters": forecast["parameters"]})
    assert edited.status_code == 201
    assert run("tools", "sync") == 0  # restores our version: number 2
    capsys.readouterr()

    assert run("config", "attach", "--config-id", config["id"], "--webhook-url", WEBHOOK, "--dry-run") == 0
    out = capsys.readouterr().out

    tools_line = next(line for line in out.splitlines() if line.startswith("  tools: "))
    assert f"{OUR_TOOLS[0]}@0" in tools_line.split(" → ")[0]
    assert f"{OUR_TOOLS[0]}@2" in tools_line.split(" → ")[1]


def test_attach_before_sync_names_the_tools_and_exits_1(
    env: None, capsys: pytest.CaptureFixture[str], api: httpx.Client
) -> None:
    config = make_config(api)

    assert run("config", "attach", "--config-id", config["id"], "--webhook-url", WEBHOOK) == 1
    line = one_error_line(capsys.readouterr().err)

    assert re.fullmatch(
        r"evi-toolhost: not synced to Hume yet: .*toolsync_forecast, toolsync_order_status; "
        r"run `evi-toolhost tools sync` first",
        line,
    )
    assert len(versions_of(api, "configs", config["id"])) == 1


def test_attach_to_an_unknown_config_is_one_line_and_exit_1(env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("tools", "sync") == 0
    capsys.readouterr()

    assert run("config", "attach", "--config-id", "no-such-config", "--webhook-url", WEBHOOK) == 1
    line = one_error_line(capsys.readouterr().err)
    assert (
        line
        == "evi-toolhost: Hume API error 404 on GET /v0/evi/configs/no-such-config: config no-such-config not found"
    )


def test_a_body_hume_rejects_is_one_line_with_each_problem_and_exit_1(
    env: None, capsys: pytest.CaptureFixture[str], api: httpx.Client
) -> None:
    config = make_config(api)
    assert run("tools", "sync") == 0
    capsys.readouterr()

    assert run("config", "attach", "--config-id", config["id"], "--webhook-url", "") == 1
    line = one_error_line(capsys.readouterr().err)

    assert line == (
        f"evi-toolhost: Hume API error 422 on POST /v0/evi/configs/{config['id']}: "
        "body.webhooks.0.url: String should have at least 1 character"
    )
    assert len(versions_of(api, "configs", config["id"])) == 1


# --- MCP servers' tools (MCP_SERVERS) ---------------------------------------------------------------------


@pytest.fixture
def mcp_env(env: None, monkeypatch: pytest.MonkeyPatch, mcp_weather_url: str) -> Iterator[None]:
    """The weather MCP server in MCP_SERVERS; what a test adds to the default registry goes after it."""
    monkeypatch.setenv("MCP_SERVERS", f"weather={mcp_weather_url}")
    before = set(default_registry.names())
    yield
    for name in set(default_registry.names()) - before:
        default_registry.remove(name)


def test_sync_dry_run_lists_the_mcp_tools_with_their_schemas(mcp_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("tools", "sync", "--dry-run") == 0
    out = capsys.readouterr().out

    assert table(out)["weather_get_forecast"] == ["-", "-", "would create"]
    assert 'weather_get_forecast: new tool\n  description: (none) → "Tomorrow\'s forecast for a city."\n' in out
    schema = {"properties": {"city": {"type": "string"}}, "required": ["city"], "type": "object"}
    assert f"  parameters: (none) → {json.dumps(schema, separators=(',', ':'))}\n" in out
    assert '  fallback_content: (none) → "The weather service is not available right now.' in out
    assert set(table(out)) >= {*OUR_TOOLS, "weather_get_alerts", "weather_get_radar"}


def test_attach_lists_the_synced_mcp_tools(
    mcp_env: None, capsys: pytest.CaptureFixture[str], api: httpx.Client
) -> None:
    assert run("tools", "sync") == 0
    config_id = api.post("/v0/evi/configs", json={"name": "mcp", "evi_version": "3"}).json()["id"]
    capsys.readouterr()

    assert run("config", "attach", "--config-id", config_id, "--webhook-url", WEBHOOK, "--dry-run") == 0
    tools_line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  tools: "))
    assert "weather_get_forecast@0" in tools_line and "weather_get_radar@0" in tools_line


def test_an_unreachable_mcp_server_is_a_warning_and_the_other_tools_sync(
    mcp_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MCP_SERVERS", f"weather=http://127.0.0.1:{free_port()}/mcp")
    assert run("tools", "sync", "--dry-run") == 0
    out, err = capsys.readouterr()
    assert one_error_line(err).startswith("evi-toolhost: warning: MCP server weather (http://127.0.0.1:")
    assert err.rstrip().endswith("it cannot be reached (All connection attempts failed); its tools are left out")
    rows = set(table(out))
    assert set(OUR_TOOLS) <= rows and not [name for name in rows if name.startswith("weather_")]


def test_an_mcp_tool_named_like_another_tool_is_one_line_and_exit_2(
    mcp_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOOL_MODULES", "tests.evi_toolhost.sync.clashing_tools")
    assert run("tools", "sync", "--dry-run") == 2
    assert one_error_line(capsys.readouterr().err) == (
        "evi-toolhost: MCP tools clash with other tools: duplicate tool name 'weather_get_forecast': "
        "MCP server weather, tool get_forecast and tests.evi_toolhost.sync.clashing_tools.weather_get_forecast; "
        "rename a server in MCP_SERVERS"
    )
