"""WebSocket /v0/evi/chat/{chat_id}/connect on a real uvicorn: auth, refusals, replay then live stream
then close on end, publishing on the socket, and every message in its AsyncAPI (and SDK) shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hume.empathic_voice import types as sdk
from pydantic import BaseModel
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from evi_toolhost.simulator import SimulatorState
from service.evi.messages import ToolType
from tests.conftest import TEST_API_KEY
from tests.support.servers import UvicornThread, wait_for
from tests.support.spec_check import assert_socket

SHAPES: dict[str, tuple[str, type[BaseModel]]] = {
    "chat_metadata": ("ChatMetadata", sdk.ChatMetadata),
    "user_message": ("UserMessage", sdk.UserMessage),
    "assistant_message": ("AssistantMessage", sdk.AssistantMessage),
    "assistant_end": ("AssistantEnd", sdk.AssistantEnd),
    "tool_call": ("ToolCallMessage", sdk.ToolCallMessage),
    "tool_response": ("ToolResponseMessage", sdk.ToolResponseMessage),
    "tool_error": ("ToolErrorMessage", sdk.ToolErrorMessage),
    "error": ("WebSocketError", sdk.WebSocketError),
}


@contextmanager
def open_socket(
    server: UvicornThread, chat_id: str, key: str | None = TEST_API_KEY, by: str = "query"
) -> Iterator[ClientConnection]:
    url = f"{server.ws_url}/v0/evi/chat/{chat_id}/connect"
    headers = None
    if key is not None and by == "query":
        url += f"?api_key={key}"
    elif key is not None:
        headers = {"X-Hume-Api-Key": key}
    with connect(url, additional_headers=headers, proxy=None, open_timeout=5, close_timeout=2) as ws:
        yield ws


def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next message, checked against its AsyncAPI schema and parsed by Hume's SDK model."""
    message: dict[str, Any] = json.loads(ws.recv(timeout=5))
    schema_name, sdk_model = SHAPES[message["type"]]
    assert_socket(message, schema_name)
    sdk_model.model_validate(message)
    return message


def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.mark.parametrize("by", ["query", "header"])
def test_key_by_query_or_header_connects_and_chat_metadata_comes_first(
    simulator: UvicornThread, state: SimulatorState, by: str
) -> None:
    chat = state.start_chat(custom_session_id="session-9")
    with open_socket(simulator, chat.id, by=by) as ws:
        first = receive(ws)
        assert first["type"] == "chat_metadata"
        assert (first["chat_id"], first["chat_group_id"]) == (chat.id, chat.chat_group_id)
        assert first["custom_session_id"] == "session-9"
        assert state.open_sockets(chat.id) == 1


@pytest.mark.parametrize(
    ("key", "by"),
    [(None, "query"), ("wrong-key", "query"), ("wrong-key", "header")],
    ids=["missing", "query", "header"],
)
def test_wrong_or_missing_key_is_closed_with_policy_violation(
    simulator: UvicornThread, state: SimulatorState, key: str | None, by: str
) -> None:
    chat = state.start_chat()
    with open_socket(simulator, chat.id, key=key, by=by) as ws:
        assert close_code(ws) == 1008
    assert state.open_sockets(chat.id) == 0


@pytest.mark.parametrize("case", ["unknown", "ended", "no-allow-connection"])
def test_chat_that_cannot_be_joined_is_closed_with_policy_violation(
    simulator: UvicornThread, state: SimulatorState, case: str
) -> None:
    chat_id = "no-such-chat"
    if case != "unknown":
        chat_id = state.start_chat(allow_connection=case != "no-allow-connection").id
    if case == "ended":
        state.end_chat(chat_id)
    with open_socket(simulator, chat_id) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    expected = {"unknown": "not found", "ended": "ended", "no-allow-connection": "allow_connection"}[case]
    assert expected in closed.value.rcvd.reason


def test_replays_the_chat_then_streams_live_then_closes_normally_on_end(
    simulator: UvicornThread, state: SimulatorState
) -> None:
    chat = state.start_chat()
    state.add_user_message(chat.id, "Weather in Paris?")
    call = state.add_tool_call(chat.id, name="get_weather", parameters='{"city": "Paris"}')
    state.add_tool_call(chat.id, name="hidden", parameters="{}", broadcast=False)
    state.add_assistant_message(chat.id, "Sunny.")
    state.add_assistant_end(chat.id)
    with open_socket(simulator, chat.id) as ws:
        replay = [receive(ws) for _ in range(5)]
        assert [m["type"] for m in replay] == [
            "chat_metadata",
            "user_message",
            "tool_call",
            "assistant_message",
            "assistant_end",
        ]
        assert replay[1]["message"] == {"role": "user", "content": "Weather in Paris?"}
        assert replay[2]["tool_call_id"] == call.tool_call_id
        assert replay[2]["parameters"] == '{"city": "Paris"}'
        assert replay[3]["message"] == {"role": "assistant", "content": "Sunny."}

        builtin = state.add_tool_call(chat.id, name="web_search", parameters="{}", tool_type=ToolType.BUILTIN)
        live = receive(ws)
        assert live["tool_call_id"] == builtin.tool_call_id
        assert (live["tool_type"], live["response_required"]) == ("builtin", False)

        state.end_chat(chat.id)
        assert close_code(ws) == 1000
    wait_for(lambda: state.open_sockets(chat.id) == 0, timeout=5)


def test_every_open_socket_gets_live_events_and_all_close_on_end(
    simulator: UvicornThread, state: SimulatorState
) -> None:
    chat = state.start_chat()
    with open_socket(simulator, chat.id) as first, open_socket(simulator, chat.id) as second:
        for ws in (first, second):
            assert receive(ws)["type"] == "chat_metadata"
        wait_for(lambda: state.open_sockets(chat.id) == 2, timeout=5)
        state.add_user_message(chat.id, "hello")
        assert receive(first)["message"]["content"] == receive(second)["message"]["content"] == "hello"
        state.end_chat(chat.id)
        assert close_code(first) == close_code(second) == 1000


def test_answer_on_the_socket_is_recorded_as_socket_and_echoed_to_every_socket(
    simulator: UvicornThread, state: SimulatorState
) -> None:
    chat = state.start_chat()
    call = state.add_tool_call(chat.id, name="get_weather", parameters="{}")
    answer = {"type": "tool_response", "tool_call_id": call.tool_call_id, "content": "18 C"}
    with open_socket(simulator, chat.id) as sender, open_socket(simulator, chat.id) as watcher:
        for ws in (sender, watcher):
            assert [receive(ws)["type"] for _ in range(2)] == ["chat_metadata", "tool_call"]
        sender.send(json.dumps(answer))
        assert receive(watcher) == answer
        assert receive(sender) == answer
    [received] = chat.received
    assert (received.message, received.transport) == (answer, "socket")
    assert state.answers_for(call.tool_call_id) == [received]
    assert [event.type for event in chat.events][-1] == "FUNCTION_CALL_RESPONSE"


def test_user_input_on_the_socket_becomes_a_user_message_from_text(
    simulator: UvicornThread, state: SimulatorState
) -> None:
    chat = state.start_chat()
    with open_socket(simulator, chat.id) as ws:
        receive(ws)
        ws.send(json.dumps({"type": "user_input", "text": "typed, not spoken"}))
        said = receive(ws)
    assert (said["type"], said["from_text"], said["message"]["content"]) == ("user_message", True, "typed, not spoken")
    assert chat.received[0].transport == "socket"


@pytest.mark.parametrize(
    ("frame", "code", "mentions"),
    [
        ("this is not json", "E0100", "JSON"),
        (json.dumps({"type": "tool_response", "tool_call_id": "t"}), "E0101", "content"),
        (json.dumps({"type": "audio_input", "data": "AAAA"}), "E0101", "audio_input"),
    ],
    ids=["not-json", "missing-field", "audio-input"],
)
def test_invalid_message_gets_an_error_message_and_the_socket_stays_open(
    simulator: UvicornThread, state: SimulatorState, frame: str, code: str, mentions: str
) -> None:
    chat = state.start_chat()
    with open_socket(simulator, chat.id) as ws:
        receive(ws)
        ws.send(frame)
        error = receive(ws)
        assert (error["type"], error["code"]) == ("error", code)
        assert mentions in error["message"]
        ws.send(json.dumps({"type": "pause_assistant_message"}))
        wait_for(lambda: len(chat.received) == 1, timeout=5)
    assert chat.received[0].message == {"type": "pause_assistant_message"}


def test_client_disconnect_closes_its_subscription(simulator: UvicornThread, state: SimulatorState) -> None:
    chat = state.start_chat()
    with open_socket(simulator, chat.id) as ws:
        receive(ws)
        assert state.open_sockets(chat.id) == 1
    wait_for(lambda: state.open_sockets(chat.id) == 0, timeout=5)
    state.add_user_message(chat.id, "nobody listens")
    assert chat.active
