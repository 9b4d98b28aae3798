"""`evi-toolhost tools sync` and `evi-toolhost config attach` end to end: environment in, the simulator
over HTTP, the printed table / diff out; every failure one line on stderr with a non-zero exit."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from evi_toolhost.cli import main
from evi_toolhost.embedded_redis import free_port
from tests.conftest import TEST_API_KEY
from tests.support.hume_api import tools_by_name, versions_of
from tests.support.servers import UvicornThread

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
