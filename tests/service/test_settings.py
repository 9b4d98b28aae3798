"""Settings: read from the environment, validated at start-up, secrets never printed."""

from __future__ import annotations

import pytest

from service.settings import load_settings
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY, make_settings


def test_a_missing_variable_stops_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.delenv("HUME_API_KEY", raising=False)
    with pytest.raises(SystemExit) as exited:
        load_settings()
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip() == "evi-toolhost: environment variable HUME_API_KEY is missing"


def test_an_invalid_variable_is_named_without_echoing_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("HUME_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("WEBHOOK_MAX_BODY_BYTES", "lots")
    with pytest.raises(SystemExit):
        load_settings()
    err = capsys.readouterr().err
    assert "WEBHOOK_MAX_BODY_BYTES is invalid" in err
    assert TEST_API_KEY not in err


def test_signing_keys_are_comma_separated_and_the_api_key_comes_last() -> None:
    settings = make_settings(hume_webhook_signing_key=" new-key , old-key ,")
    assert settings.webhook_keys == ("new-key", "old-key", TEST_API_KEY)
    assert make_settings(hume_webhook_accept_api_key=False).webhook_keys == (TEST_SIGNING_KEY,)


def test_secrets_do_not_print() -> None:
    settings = make_settings()
    assert TEST_API_KEY not in repr(settings)
    assert TEST_SIGNING_KEY not in str(settings)


def test_tool_modules_and_websocket_base_derive_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUME_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("TOOL_MODULES", "examples.weather, myco.tools")
    monkeypatch.setenv("HUME_API_BASE_URL", "http://127.0.0.1:8100/")
    settings = load_settings()
    assert settings.tool_modules == ["examples.weather", "myco.tools"]
    assert settings.hume_api_base_url == "http://127.0.0.1:8100"
    assert settings.ws_base_url == "ws://127.0.0.1:8100"
    assert make_settings(hume_api_base_url="https://api.hume.ai").ws_base_url == "wss://api.hume.ai"


def test_ops_token_is_off_when_empty_and_refused_when_short(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    assert make_settings(ops_token="  ").ops_token is None
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("HUME_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("OPS_TOKEN", "short-secret")
    with pytest.raises(SystemExit):
        load_settings()
    err = capsys.readouterr().err
    assert "OPS_TOKEN is invalid: it is shorter than 16 characters" in err and "short-secret" not in err


@pytest.mark.parametrize(("value", "phrases"), [("One phrase.", ["One phrase."]), ("A, a.| B.|", ["A, a.", "B."])])
def test_tool_say_if_slow_is_phrases_separated_by_bars(
    monkeypatch: pytest.MonkeyPatch, value: str, phrases: list[str]
) -> None:
    assert make_settings().tool_say_if_slow == [], "off by default"
    monkeypatch.setenv("HUME_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("TOOL_SAY_IF_SLOW", value)
    monkeypatch.setenv("TOOL_SLOW_AFTER_SECONDS", "1.5")
    settings = load_settings()
    assert (settings.tool_say_if_slow, settings.tool_slow_after_seconds) == (phrases, 1.5)
