"""`evi-toolhost calls ...` as a user runs it, on fakeredis: what each action prints and its exit code."""

from __future__ import annotations

import json
import time

import fakeredis
import pytest

from evi_toolhost.cli import main
from evi_toolhost.embedded_redis import free_port
from tests.service.call_log.seeding import seed


@pytest.fixture
def redis(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, fake_server: fakeredis.FakeServer
) -> fakeredis.FakeRedis:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.delenv("HUME_API_KEY", raising=False)  # the call log needs no Hume
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(
        "evi_toolhost.commands.calls.connect_async", lambda url: fakeredis.FakeAsyncRedis(server=fake_server)
    )
    return fakeredis.FakeRedis(server=fake_server)


def test_calls_lists_filters_and_shows(redis: fakeredis.FakeRedis, capsys: pytest.CaptureFixture[str]) -> None:
    now = int(time.time() * 1000)
    seed(redis, "old", now - 3 * 3_600_000, status="failed", error_code="unknown_order")
    seed(redis, "new", now - 1000, name="pay", arguments='{"amount": 3}')
    assert main(["calls"]) == 0
    assert [line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:]] == ["new", "old"]
    assert main(["calls", "--json", "--since", "2h"]) == 0
    assert [json.loads(line)["tool_call_id"] for line in capsys.readouterr().out.splitlines()] == ["new"]
    assert main(["calls", "--status", "failed", "--limit", "1"]) == 0
    assert "unknown_order" in capsys.readouterr().out
    assert main(["calls", "show", "new"]) == 0
    assert '  arguments    {"amount": 3}' in capsys.readouterr().out
    assert main(["calls", "show", "new", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["arguments"] == {"amount": 3}


def test_what_cannot_be_done_says_why_with_its_exit_code(
    redis: fakeredis.FakeRedis, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calls", "show", "nothing"]) == 1
    assert "no record of tool call nothing" in capsys.readouterr().err
    assert main(["calls", "--since", "last week"]) == 2
    assert "since 'last week' is neither an age" in capsys.readouterr().err
    assert main(["calls", "replay", "nothing"]) == 2
    assert main(["calls", "tail", "--seconds", "0.2", "--interval", "0.05"]) == 0


def test_redis_not_answering_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["calls"]) == 1
    assert capsys.readouterr().err.strip() == "evi-toolhost calls: Redis does not answer (ConnectionError)"
