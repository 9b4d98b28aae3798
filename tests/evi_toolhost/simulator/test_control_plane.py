"""POST /v0/evi/chat/{chat_id}/send against the spec: each of the 7 publish messages, auth, unknown and
ended chats, fault injection, and connection accounting on a real socket."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from evi_toolhost.simulator import SimulatorState
from tests.conftest import TEST_API_KEY
from tests.evi_toolhost.simulator.conftest import AUTH
from tests.support.servers import UvicornThread
from tests.support.spec_check import assert_rest

VALID: dict[str, dict[str, Any]] = {
    "session_settings": {
        "type": "session_settings",
        "system_prompt": "Be brief.",
        "variables": {"name": "Ada"},
        "context": {"text": "The user is in Paris.", "type": "persistent"},
    },
    "user_input": {"type": "user_input", "text": "What's the weather?"},
    "assistant_input": {"type": "assistant_input", "text": "Let me check."},
    "tool_response": {"type": "tool_response", "tool_call_id": "toolu_1", "content": '{"temp": 18}'},
    "tool_error": {
        "type": "tool_error",
        "tool_call_id": "toolu_1",
        "error": "upstream timed out",
        "code": "weather_unavailable",
        "content": "The weather service is down.",
        "level": "warn",
    },
    "pause_assistant_message": {"type": "pause_assistant_message"},
    "resume_assistant_message": {"type": "resume_assistant_message", "custom_session_id": "s-1"},
}
INVALID: dict[str, tuple[dict[str, Any], list[str | int]]] = {
    "session_settings": (
        {"type": "session_settings", "context": {"type": "persistent"}},
        ["body", "session_settings", "context", "text"],
    ),
    "user_input": ({"type": "user_input"}, ["body", "user_input", "text"]),
    "assistant_input": ({"type": "assistant_input", "text": 5}, ["body", "assistant_input", "text"]),
    "tool_response": ({"type": "tool_response", "tool_call_id": "t"}, ["body", "tool_response", "content"]),
    "tool_error": (
        {"type": "tool_error", "tool_call_id": "t", "error": "x", "level": "fatal"},
        ["body", "tool_error", "level"],
    ),
    "pause_assistant_message": (
        {"type": "pause_assistant_message", "custom_session_id": 7},
        ["body", "pause_assistant_message", "custom_session_id"],
    ),
    "resume_assistant_message": (
        {"type": "resume_assistant_message", "custom_session_id": []},
        ["body", "resume_assistant_message", "custom_session_id"],
    ),
}


def send(client: TestClient, chat_id: str, body: Any, **kwargs: Any) -> httpx.Response:
    response: httpx.Response = client.post(f"/v0/evi/chat/{chat_id}/send", json=body, **kwargs)
    return response


def test_the_seven_spec_messages_are_covered() -> None:
    assert (
        set(VALID)
        == set(INVALID)
        == {
            "session_settings",
            "user_input",
            "assistant_input",
            "tool_response",
            "tool_error",
            "pause_assistant_message",
            "resume_assistant_message",
        }
    )


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_message_is_accepted_and_recorded(client: TestClient, state: SimulatorState, kind: str) -> None:
    chat = state.start_chat()
    before_wall, before_mono = time.time(), time.monotonic()
    response = send(client, chat.id, VALID[kind])
    assert response.status_code == 200
    assert response.json() == {}
    [received] = chat.received
    assert received.message == VALID[kind]
    assert received.transport == "http"
    assert before_wall <= received.received_at <= time.time()
    assert before_mono <= received.received_monotonic <= time.monotonic()


@pytest.mark.parametrize("kind", sorted(INVALID))
def test_invalid_message_is_422_naming_the_field(client: TestClient, state: SimulatorState, kind: str) -> None:
    chat = state.start_chat()
    body, loc = INVALID[kind]
    response = send(client, chat.id, body)
    assert response.status_code == 422
    assert_rest(response.json(), "HTTPValidationError")
    assert loc in [error["loc"] for error in response.json()["detail"]]
    assert chat.received == []


@pytest.mark.parametrize(
    ("body", "loc_prefix", "error_type"),
    [
        (b'{"type": "tool_response",', ["body"], "json_invalid"),
        (b"", ["body"], "json_invalid"),
        (b'{"type": "audio_input", "data": "AAAA"}', ["body"], "union_tag_invalid"),
        (b"[1, 2]", ["body"], "model_attributes_type"),
        (b'{"content": "no type"}', ["body"], "union_tag_not_found"),
    ],
    ids=["truncated-json", "empty", "audio-input-not-allowed", "not-an-object", "no-type"],
)
def test_bad_body_is_422_in_http_validation_error_shape(
    client: TestClient, state: SimulatorState, body: bytes, loc_prefix: list[str], error_type: str
) -> None:
    chat = state.start_chat()
    response = client.post(f"/v0/evi/chat/{chat.id}/send", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert_rest(response.json(), "HTTPValidationError")
    [error] = response.json()["detail"]
    assert error["loc"][:1] == loc_prefix
    assert error["type"] == error_type
    assert chat.received == []


@pytest.mark.parametrize("headers", [{}, {"X-Hume-Api-Key": "not-the-key"}], ids=["missing", "wrong"])
def test_send_without_the_api_key_is_401(client: TestClient, state: SimulatorState, headers: dict[str, str]) -> None:
    chat = state.start_chat()
    client.headers.pop("X-Hume-Api-Key")
    response = send(client, chat.id, VALID["tool_response"], headers=headers)
    assert response.status_code == 401
    assert "fault" in response.json()
    assert TEST_API_KEY not in response.text
    assert chat.received == []


def test_unknown_chat_is_404(client: TestClient) -> None:
    response = send(client, "no-such-chat", VALID["tool_response"])
    assert response.status_code == 404
    assert "no-such-chat" in response.json()["detail"]


def test_ended_chat_is_404_and_nothing_is_recorded(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat()
    state.end_chat(chat.id)
    response = send(client, chat.id, VALID["tool_response"])
    assert response.status_code == 404
    assert "ended" in response.json()["detail"]
    assert chat.received == []


def test_injected_failures_answer_in_order_then_normal_behaviour_resumes(
    client: TestClient, state: SimulatorState
) -> None:
    chat = state.start_chat()
    state.fail_next_sends(chat.id, [503, 429])
    statuses = [send(client, chat.id, VALID["tool_response"]).status_code for _ in range(3)]
    assert statuses == [503, 429, 200]
    assert state.http_send_attempts[chat.id] == 3
    assert len(chat.received) == 1


def test_injected_failure_can_be_queued_before_the_chat_exists(client: TestClient, state: SimulatorState) -> None:
    state.fail_next_sends("later", [500])
    state.start_chat(chat_id="later")
    assert send(client, "later", VALID["tool_response"]).status_code == 500
    assert send(client, "later", VALID["tool_response"]).status_code == 200


def test_injected_status_must_be_an_http_status(state: SimulatorState) -> None:
    with pytest.raises(Exception, match="HTTP status codes"):
        state.fail_next_sends("c", [42])


def test_keep_alive_client_is_one_connection_and_fresh_clients_are_many(
    simulator: UvicornThread, state: SimulatorState
) -> None:
    reused, fresh = state.start_chat(), state.start_chat()
    with httpx.Client(base_url=simulator.url, headers=AUTH) as http:
        for _ in range(3):
            assert http.post(f"/v0/evi/chat/{reused.id}/send", json=VALID["tool_response"]).status_code == 200
    for _ in range(3):
        with httpx.Client(base_url=simulator.url, headers=AUTH) as http:
            assert http.post(f"/v0/evi/chat/{fresh.id}/send", json=VALID["tool_response"]).status_code == 200
    assert state.distinct_http_clients(reused.id) == 1
    assert state.distinct_http_clients(fresh.id) == 3
    assert state.distinct_http_clients() == 4
    assert state.connections_opened == 4
    assert state.http_send_attempts[reused.id] == state.http_send_attempts[fresh.id] == 3
