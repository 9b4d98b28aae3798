"""The player end to end: a simulator and a small webhook receiver on real sockets; the report lists
each call with its answer and timings, and judges expectations (type, code, content, exactly one)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from evi_toolhost.simulator import PlayerError, PlayReport, SimulatorState, load_script, parse_script, play_sync
from service.evi.webhooks import WebhookEventChatEnded, WebhookEventChatStarted, WebhookEventToolCall
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY
from tests.evi_toolhost.simulator.webhook_receiver import WebhookReceiver, hume_signature
from tests.support.servers import UvicornThread, wait_for


@pytest.fixture
def receiver(simulator: UvicornThread) -> WebhookReceiver:
    return WebhookReceiver(simulator.url, TEST_API_KEY, TEST_SIGNING_KEY)


@pytest.fixture
def webhook_url(receiver: WebhookReceiver) -> Iterator[str]:
    with UvicornThread(receiver.app()) as server:
        yield f"{server.url}/hume-webhook"


def run(script: Any, simulator: UvicornThread, webhook_url: str, **kwargs: Any) -> PlayReport:
    options: dict[str, Any] = {"api_key": TEST_API_KEY, "signing_key": TEST_SIGNING_KEY, "answer_timeout": 5.0}
    options.update(kwargs)
    parsed = script if not isinstance(script, dict) else parse_script(script)
    return play_sync(parsed, webhook_url=webhook_url, simulator_url=simulator.url, **options)


def test_weather_script_end_to_end(
    simulator: UvicornThread, state: SimulatorState, receiver: WebhookReceiver, webhook_url: str
) -> None:
    report = run(load_script("weather"), simulator, webhook_url)

    assert report.ok, report.format_timeline()
    weather, search = report.calls
    assert (weather.tool, weather.arguments) == ("get_weather", {"city": "Paris", "unit": "celsius"})
    assert (weather.answer_type, weather.transport, weather.answers) == ("tool_response", "http", 1)
    assert json.loads(weather.content or "") == {"city": "Paris", "temperature": 18, "unit": "celsius"}
    assert weather.player_ms is not None and 0 < weather.player_ms < 5000
    assert weather.server_ms is not None and 0 <= weather.server_ms < 5000
    assert (search.tool, search.tool_type, search.response_required) == ("web_search", "builtin", False)
    assert (search.answer_type, search.player_ms, search.met) == (None, None, True)

    assert receiver.event_names == ["chat_started", "tool_call", "tool_call", "chat_ended"]
    started = WebhookEventChatStarted.model_validate(receiver.deliveries[0].event)
    calls = [WebhookEventToolCall.model_validate(d.event) for d in receiver.deliveries[1:3]]
    ended = WebhookEventChatEnded.model_validate(receiver.deliveries[3].event)
    assert started.chat_id == calls[0].chat_id == ended.chat_id == report.chat_id
    assert (started.chat_start_type, ended.end_reason) == ("new_chat_group", "USER_ENDED")
    assert json.loads(calls[0].tool_call_message.parameters) == {"city": "Paris", "unit": "celsius"}
    assert calls[0].tool_call_message.tool_call_id == weather.tool_call_id
    assert (calls[1].tool_call_message.tool_type, calls[1].tool_call_message.response_required) == ("builtin", False)
    assert all(len(str(ms)) == 13 for ms in (started.start_time, calls[0].timestamp, ended.end_time))
    assert receiver.deliveries[1].event["config_id"] is None

    chat = state.chats[report.chat_id]
    assert not chat.active
    assert [event.type for event in chat.events] == [
        "USER_MESSAGE",
        "FUNCTION_CALL",
        "FUNCTION_CALL_RESPONSE",
        "AGENT_MESSAGE",
        "USER_MESSAGE",
        "FUNCTION_CALL",
        "AGENT_MESSAGE",
    ]
    timeline = report.format_timeline()
    assert "get_weather" in timeline and "web_search" in timeline
    assert f"{weather.player_ms:.1f}" in timeline and f"{weather.server_ms:.1f}" in timeline
    assert timeline.splitlines()[-1] == "PASS: 2/2 tool calls met their expectations"


def test_every_webhook_signature_recomputes_independently(
    simulator: UvicornThread, receiver: WebhookReceiver, webhook_url: str
) -> None:
    sent_after = int(time.time())
    run({"turns": [{"tool": "get_weather", "arguments": {"city": "Oslo"}}]}, simulator, webhook_url)
    assert receiver.refused == 0 and len(receiver.deliveries) == 3
    for delivery in receiver.deliveries:
        assert delivery.signature == hume_signature(delivery.body, delivery.timestamp, TEST_SIGNING_KEY)
        assert delivery.signature != hume_signature(delivery.body, delivery.timestamp, TEST_API_KEY)
        assert len(delivery.timestamp) == 10 and sent_after <= int(delivery.timestamp) <= time.time()


def test_expectations_on_type_code_and_content(
    simulator: UvicornThread, receiver: WebhookReceiver, webhook_url: str
) -> None:
    def fail_weather(call: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "type": "tool_error",
                "tool_call_id": call["tool_call_id"],
                "error": "upstream 503",
                "code": "weather_unavailable",
                "content": "The weather service is down.",
            }
        ]

    receiver.answer = fail_weather
    report = run(
        {
            "turns": [
                {"tool": "get_weather", "expect": {"type": "tool_response"}},
                {"tool": "get_weather", "expect": {"type": "tool_error", "code": "weather_unavailable"}},
                {"tool": "get_weather", "expect": {"type": "tool_error", "content_contains": "sunny"}},
                {"tool": "get_weather", "expect": {"type": "tool_error", "code": "other"}},
            ]
        },
        simulator,
        webhook_url,
    )
    assert [call.met for call in report.calls] == [False, True, False, False]
    assert [call.problem for call in report.calls] == [
        "expected tool_response, got tool_error",
        None,
        "content does not contain 'sunny'",
        "expected code 'other', got 'weather_unavailable'",
    ]
    assert report.calls[1].code == "weather_unavailable"
    assert not report.ok
    assert report.format_timeline().splitlines()[-1] == "FAIL: 1/4 tool calls met their expectations"


def test_two_answers_to_one_call_fail_it(simulator: UvicornThread, receiver: WebhookReceiver, webhook_url: str) -> None:
    receiver.answer = lambda call: [
        {"type": "tool_response", "tool_call_id": call["tool_call_id"], "content": content} for content in ("a", "b")
    ]
    [call] = run({"turns": [{"tool": "get_weather"}]}, simulator, webhook_url).calls
    assert (call.answers, call.content, call.met) == (2, "a", False)
    assert call.problem == "2 answers for one call; EVI takes exactly one"


def test_no_answer_before_the_deadline(simulator: UvicornThread, receiver: WebhookReceiver, webhook_url: str) -> None:
    receiver.answer = lambda call: []
    started = time.monotonic()
    [call] = run({"turns": [{"tool": "get_weather", "timeout": 0.3}]}, simulator, webhook_url).calls
    assert time.monotonic() - started >= 0.3
    assert (call.answer_type, call.player_ms, call.met) == (None, None, False)
    assert call.problem == "no answer before the deadline"


def test_answer_after_the_deadline_fails_the_call(
    simulator: UvicornThread, receiver: WebhookReceiver, webhook_url: str
) -> None:
    first_call: list[str] = []

    def answer_the_first_call_late(call: dict[str, Any]) -> list[dict[str, Any]]:
        if not first_call:
            first_call.append(call["tool_call_id"])
            return []
        return [{"type": "tool_response", "tool_call_id": first_call[0], "content": "late"}]

    receiver.answer = answer_the_first_call_late
    script = {"turns": [{"tool": "get_weather", "timeout": 0.2}, {"tool": "get_time", "timeout": 0.2}]}
    late, _ = run(script, simulator, webhook_url).calls
    assert (late.answer_type, late.content, late.player_ms, late.met) == ("tool_response", "late", None, False)
    assert late.problem == "the answer arrived after the deadline"


def test_unwanted_answer_to_a_builtin_call_fails_it(
    simulator: UvicornThread, receiver: WebhookReceiver, webhook_url: str
) -> None:
    receiver.answer_unrequired = True
    [call] = run({"turns": [{"tool": "web_search", "tool_type": "builtin"}]}, simulator, webhook_url).calls
    assert (call.response_required, call.answer_type, call.met) == (False, "tool_response", False)
    assert call.problem == "expected no answer, got tool_response"


def test_call_via_socket_is_answered_on_the_socket(
    simulator: UvicornThread, state: SimulatorState, receiver: WebhookReceiver, webhook_url: str
) -> None:
    receiver.answer = lambda call: []
    seen: list[dict[str, Any]] = []

    def relay() -> None:
        wait_for(lambda: "chat-socket" in state.chats, timeout=5)
        url = f"{simulator.ws_url}/v0/evi/chat/chat-socket/connect?api_key={TEST_API_KEY}"
        with connect(url, proxy=None) as ws:
            try:
                while True:
                    message = json.loads(ws.recv(timeout=10))
                    seen.append(message)
                    if message["type"] == "tool_call" and message["response_required"]:
                        answer = {"type": "tool_response", "tool_call_id": message["tool_call_id"], "content": "19"}
                        ws.send(json.dumps(answer))
            except ConnectionClosed:
                return

    socket_client = threading.Thread(target=relay)
    socket_client.start()
    report = run(
        {
            "chat": {"chat_id": "chat-socket"},
            "turns": [
                {"tool": "get_weather", "via": "socket", "expect": {"type": "tool_response"}},
                {"tool": "get_weather", "via": "both", "expect": {"content_contains": "19"}},
                {"tool": "get_weather", "via": "webhook", "timeout": 0.2, "expect": {"type": "none"}},
            ],
        },
        simulator,
        webhook_url,
    )
    socket_client.join(timeout=10)
    by_socket, by_both, by_webhook = report.calls
    assert report.ok, report.format_timeline()
    assert (by_socket.transport, by_socket.webhook) == ("socket", None)
    assert by_both.transport == "socket" and by_both.webhook is not None and by_both.webhook.status == 202
    assert (by_webhook.answer_type, by_webhook.webhook is not None, by_webhook.met) == (None, True, True)
    assert receiver.event_names.count("tool_call") == 2
    tool_calls_on_socket = [m["tool_call_id"] for m in seen if m["type"] == "tool_call"]
    assert tool_calls_on_socket == [by_socket.tool_call_id, by_both.tool_call_id]


def test_webhook_refused_fails_the_report(
    simulator: UvicornThread, receiver: WebhookReceiver, webhook_url: str
) -> None:
    report = run({"turns": [{"user": "hi"}]}, simulator, webhook_url, signing_key="some-other-key")
    assert receiver.refused == 2
    assert [hook.status for hook in report.lifecycle] == [401, 401]
    assert not report.ok
    assert "webhook not accepted: chat_started, chat_ended" in report.verdict()


def test_unreachable_webhook_is_reported_not_raised(simulator: UvicornThread) -> None:
    report = run({"turns": [{"tool": "get_weather", "timeout": 0.1}]}, simulator, "http://127.0.0.1:9/hume-webhook")
    [call] = report.calls
    assert call.webhook is not None and call.webhook.status is None and call.webhook.error
    assert call.problem is not None and call.problem.startswith("webhook tool_call failed (ConnectError")
    assert call.problem.endswith("no answer before the deadline")
    assert not report.ok


def test_simulator_unreachable_or_wrong_key_is_a_player_error(simulator: UvicornThread, webhook_url: str) -> None:
    script = parse_script({"turns": [{"user": "hi"}]})
    with pytest.raises(PlayerError, match="cannot reach"):
        play_sync(script, webhook_url=webhook_url, simulator_url="http://127.0.0.1:9", api_key="k", signing_key="k")
    with pytest.raises(PlayerError, match="401"):
        play_sync(script, webhook_url=webhook_url, simulator_url=simulator.url, api_key="wrong", signing_key="k")


def test_what_is_said_while_evi_waits_and_after_the_answer_is_reported_and_judged(
    simulator: UvicornThread, receiver: WebhookReceiver, webhook_url: str
) -> None:
    def speak_around(call: dict[str, Any]) -> list[dict[str, Any]]:
        said = [{"type": "assistant_input", "text": "One moment."}, {"type": "assistant_input", "text": "Still here."}]
        answer = {"type": "tool_response", "tool_call_id": call["tool_call_id"], "content": "Booking."}
        told = [
            {"type": "session_settings", "context": {"text": "Booked."}},
            {"type": "assistant_input", "text": "Booked!"},
        ]
        return [*said, answer, *told]

    receiver.answer = speak_around
    report = run(
        {
            "turns": [
                {"tool": "book", "expect": {"said": ["One moment", "Still"], "announced": "Booked"}},
                {"tool": "book", "expect": {"said": ["Still", "One moment"]}},
                {"tool": "book", "expect": {"announced": "Cancelled"}, "timeout": 0.5},
            ]
        },
        simulator,
        webhook_url,
    )
    first, wrong_order, not_told = report.calls
    assert first.met, first.problem
    assert [text for _, text in first.said] == ["One moment.", "Still here."]
    assert first.announced is not None and first.announced[1] == "Booked!"
    assert all(0 <= at < 5 for at, _ in first.said)
    said = "['One moment.', 'Still here.']"
    assert wrong_order.problem == f"nothing said while waiting contained 'One moment' (said: {said})"
    assert not_told.problem == "no announcement after the answer contained 'Cancelled'"
    timeline = report.format_timeline()
    assert "said +" in timeline and "told +" in timeline and "Booked!" in timeline


def test_a_script_that_resumes_plays_the_earlier_chat_into_the_group_first(
    simulator: UvicornThread, state: SimulatorState, receiver: WebhookReceiver, webhook_url: str
) -> None:
    report = run(
        {
            "resumes": [{"user": "A table on Friday."}, {"assistant": "For how many?"}],
            "turns": [{"user": "I'm back."}, {"tool": "get_weather", "interrupt_after": 0.05}],
        },
        simulator,
        webhook_url,
    )
    assert report.ok and report.resumed
    earlier, resumed = state.group_chats(report.chat_group_id)
    assert [event.message_text for event in earlier.events] == ["A table on Friday.", "For how many?"]
    assert not earlier.active and resumed.id == report.chat_id
    assert receiver.deliveries[0].event["chat_start_type"] == "resumed_chat_group"
    assert receiver.event_names == ["chat_started", "tool_call", "chat_ended"], "no webhooks for the earlier chat"
    assert "USER_INTERRUPTION" in [event.type for event in resumed.events]
    assert ", resumed)" in report.format_timeline().splitlines()[0]
