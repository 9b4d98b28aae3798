"""`MCP_SERVERS` and `MCP_SERVER_TIMEOUTS`: each entry understood, each bad one refused in one line that names
it without echoing it (a URL may carry a token)."""

from __future__ import annotations

import pytest

from service.mcp_config import McpServerSpec, parse_mcp_servers, parse_timeouts
from service.settings import load_settings
from tests.conftest import TEST_API_KEY, make_settings


def test_http_and_stdio_entries() -> None:
    specs = parse_mcp_servers(" weather=https://mcp.example.test/mcp , files=stdio:npx -y 'server fs' /tmp ,")
    assert specs == [
        McpServerSpec(name="weather", url="https://mcp.example.test/mcp"),
        McpServerSpec(name="files", command=("npx", "-y", "server fs", "/tmp")),
    ]
    assert [spec.transport for spec in specs] == ["http", "stdio"]


def test_where_a_server_is_never_shows_its_credentials() -> None:
    (spec,) = parse_mcp_servers("crm=https://user:made-up-token@crm.example.test:8443/mcp?key=made-up-key")
    assert spec.where == "https://crm.example.test:8443/mcp"
    assert "made-up" not in repr(spec)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("weather", "entry 1 must be NAME=URL (http:// or https://) or NAME=stdio:COMMAND ARGS"),
        ("a=http://x.test,weather=", "entry 2 must be NAME=URL"),
        ("weather=ftp://x.test/mcp", "server 'weather' (entry 1) must be NAME=URL"),
        ("weather=localhost:9000", "server 'weather' (entry 1) must be NAME=URL"),
        ("the weather=http://x.test", "server name 'the weather' must be 1-32 letters, digits, '_' or '-'"),
        ("files=stdio:", "server 'files': stdio: needs a command, e.g. files=stdio:python server.py"),
        ("files=stdio:run 'unclosed", "server 'files': its command cannot be split into arguments"),
        ("a=http://x.test,a=stdio:run", "the server name 'a' is listed twice"),
    ],
)
def test_a_bad_entry_is_one_line_naming_it(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_mcp_servers(text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_bad_entry_never_echoes_the_url() -> None:
    with pytest.raises(ValueError) as caught:
        parse_mcp_servers("crm=ftp://user:made-up-token@crm.example.test")
    assert "made-up-token" not in str(caught.value)


def test_timeouts_per_server_override_the_default() -> None:
    settings = make_settings(
        mcp_servers="weather=http://x.test/mcp,files=stdio:run",
        mcp_server_timeouts="weather=2.5",
        mcp_timeout_seconds=7,
    )
    assert (settings.mcp_timeout("weather"), settings.mcp_timeout("files")) == (2.5, 7.0)
    assert parse_timeouts("a=1, b=0.5,") == {"a": 1.0, "b": 0.5}


@pytest.mark.parametrize("text", ["weather", "weather=", "weather=soon", "weather=0", "weather=-1", "weather=nan"])
def test_a_bad_timeout_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="must be NAME=SECONDS with a positive number of seconds"):
        parse_timeouts(text)


def test_settings_name_the_variable_and_the_server_it_does_not_know(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("HUME_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("MCP_SERVERS", "weather=http://127.0.0.1:9000/mcp")
    monkeypatch.setenv("MCP_SERVER_TIMEOUTS", "wether=3")
    with pytest.raises(SystemExit):
        load_settings()
    assert capsys.readouterr().err.strip() == (
        "evi-toolhost: environment variable MCP_SERVER_TIMEOUTS is invalid: wether not in MCP_SERVERS"
    )


def test_a_command_that_never_talks_to_hume_needs_no_api_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.delenv("HUME_API_KEY", raising=False)
    monkeypatch.setenv("MCP_TOKEN", "made-up-mcp-token")
    settings = load_settings(needs_hume_api_key=False)
    assert settings.mcp_token is not None and settings.mcp_token.get_secret_value() == "made-up-mcp-token"
    monkeypatch.setenv("MCP_SERVERS", "nope")
    with pytest.raises(SystemExit):
        load_settings(needs_hume_api_key=False)
    assert capsys.readouterr().err.strip().splitlines() == [
        "evi-toolhost: environment variable MCP_SERVERS is invalid: entry 1 must be NAME=URL (http:// or https://) "
        "or NAME=stdio:COMMAND ARGS"
    ]
