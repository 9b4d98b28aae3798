"""An SDK-built MCP server's tools answering EVI: signed `tool_call` webhooks into the real web process, a real
worker whose process keeps a session to the `weather` MCP server (stdio), and the simulator as Hume. Each call
takes the path of any tool (run claim, deadline, one answer), so the server's text is the `tool_response`, its
`isError` a `tool_error`, and its slowness a `timeout` by the deadline (`MCP_SERVER_TIMEOUTS`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evi_toolhost.embedded_redis import EmbeddedRedis
from tests.support.mcp_servers import WEATHER, stdio
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration

TIMEOUT = 2.0
LATE = 0.5
"""How far past its deadline a timeout answer may arrive (the promise is "at most ~0.5 s late")."""


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    with running_stack(redis_server.url, "") as stack:
        stack.start_worker(1, MCP_SERVERS=f"weather={stdio(WEATHER)}", MCP_SERVER_TIMEOUTS=f"weather={TIMEOUT:g}")
        yield stack


def test_the_mcp_tool_s_text_is_the_tool_response(stack: Stack) -> None:
    tool_call_id, _ = stack.call("weather_get_forecast", {"city": "Paris"}, stack.chat())
    answer = stack.only_answer(tool_call_id).message
    assert (answer["type"], answer["tool_name"]) == ("tool_response", "weather_get_forecast")
    assert answer["content"] == "Sunny in Paris tomorrow, 21 °C."
    assert stack.record(tool_call_id)["status"] == "answered"


def test_the_failing_mcp_tool_gives_tool_error_with_its_text(stack: Stack) -> None:
    tool_call_id, _ = stack.call("weather_get_alerts", {"city": "Paris"}, stack.chat())
    answer = stack.only_answer(tool_call_id).message
    assert (answer["type"], answer["code"]) == ("tool_error", "tool_error")
    assert answer["content"].endswith("The alert service has no station near Paris.")


def test_the_slow_mcp_tool_gives_timeout_by_its_deadline(stack: Stack) -> None:
    tool_call_id, sent_at = stack.call("weather_get_radar", {"city": "Paris"}, stack.chat())
    answer = stack.only_answer(tool_call_id, timeout=TIMEOUT + 5)
    assert (answer.message["type"], answer.message["code"]) == ("tool_error", "timeout")
    assert answer.message["content"].startswith("The weather service is not available right now.")
    assert TIMEOUT <= answer.received_at - sent_at < TIMEOUT + LATE
    assert stack.record(tool_call_id)["status"] == "timeout"
