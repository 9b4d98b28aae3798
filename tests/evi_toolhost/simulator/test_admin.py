"""The /_sim admin API: chats, EVI's side of the conversation, ending, received messages and the
long-poll for an answer, fault injection over HTTP, auth."""

from __future__ import annotations

import threading
import time
from typing import Any, Literal

import httpx
import pytest
from starlette.testclient import TestClient

from evi_toolhost.simulator import SimulatorState
from service.evi.messages import AssistantInput, dump_message
from tests.evi_toolhost.simulator.conftest import AUTH
from tests.support.servers import UvicornThread, wait_for


def test_start_chat_with_every_option_then_read_it(client: TestClient, state: SimulatorState) -> None:
    options = {
        "chat_id": "chat-7",
        "chat_group_id": "group-7",
        "config_id": "config-7",
        "custom_session_id": "session-7",
        "caller_number": "+15550100",
        "allow_connection": False,
    }
    response = client.post("/_sim/chats", json=options)
    assert response.status_code == 201
    record = response.json()
    assert record["id"] == "chat-7"
    assert {key: record[key] for key in options if key != "chat_id"} == {
        k: v for k, v in options.items() if k != "chat_id"
    }
    assert (record["status"], record["chat_start_type"], record["end_timestamp"]) == ("ACTIVE", "new_chat_group", None)
    assert state.chats["chat-7"].allow_connection is False
    assert client.get("/_sim/chats/chat-7").json()["custom_session_id"] == "session-7"


def test_start_chat_defaults_to_new_ids_and_allows_connection(client: TestClient) -> None:
    first = client.post("/_sim/chats").json()
    second = client.post("/_sim/chats", json={}).json()
    assert first["id"] != second["id"] and first["chat_group_id"] != second["chat_group_id"]
    assert first["allow_connection"] is True


def test_start_chat_in_an_existing_group_is_a_resumed_chat(client: TestClient) -> None:
    first = client.post("/_sim/chats").json()
    resumed = client.post("/_sim/chats", json={"chat_group_id": first["chat_group_id"]}).json()
    assert resumed["chat_start_type"] == "resumed_chat_group"


@pytest.mark.parametrize(
    ("body", "status"),
    [({"chat_id": "taken"}, 409), ({"allow_connection": "perhaps"}, 422), ({"unknown": 1}, 422)],
    ids=["duplicate-id", "bad-type", "unknown-field"],
)
def test_bad_start_chat(client: TestClient, state: SimulatorState, body: dict[str, Any], status: int) -> None:
    state.start_chat(chat_id="taken")
    assert client.post("/_sim/chats", json=body).status_code == status


def test_events_are_recorded_and_a_tool_call_gets_an_id(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat()
    said = client.post(f"/_sim/chats/{chat.id}/events", json={"type": "user_message", "text": "hi"})
    assert (said.status_code, said.json()["event"]["type"]) == (201, "USER_MESSAGE")
    assert client.post(f"/_sim/chats/{chat.id}/events", json={"type": "assistant_message", "text": "hello"}).is_success
    assert client.post(f"/_sim/chats/{chat.id}/events", json={"type": "assistant_end"}).is_success
    call = client.post(
        f"/_sim/chats/{chat.id}/events", json={"type": "tool_call", "name": "get_weather", "parameters": "{}"}
    ).json()["tool_call"]
    assert call["tool_call_id"].startswith("toolu_")
    assert (call["response_required"], call["tool_type"]) == (True, "function")
    builtin = client.post(
        f"/_sim/chats/{chat.id}/events",
        json={"type": "tool_call", "name": "web_search", "parameters": "{}", "tool_type": "builtin"},
    ).json()["tool_call"]
    assert builtin["response_required"] is False
    assert [e.type for e in chat.events] == ["USER_MESSAGE", "AGENT_MESSAGE", "FUNCTION_CALL", "FUNCTION_CALL"]
    assert [m["type"] for m in chat.stream] == [
        "user_message",
        "assistant_message",
        "assistant_end",
        "tool_call",
        "tool_call",
    ]


def test_builtin_tool_call_never_requires_a_response(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat()
    body = {
        "type": "tool_call",
        "name": "hang_up",
        "parameters": "{}",
        "tool_type": "builtin",
        "response_required": True,
    }
    response = client.post(f"/_sim/chats/{chat.id}/events", json=body)
    assert (response.status_code, chat.events) == (400, [])
    assert "builtin" in response.json()["detail"]


def test_tool_call_without_broadcast_stays_off_the_sockets(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat()
    body = {"type": "tool_call", "name": "get_weather", "parameters": "{}", "tool_call_id": "t1", "broadcast": False}
    assert client.post(f"/_sim/chats/{chat.id}/events", json=body).json()["tool_call"]["tool_call_id"] == "t1"
    assert [e.type for e in chat.events] == ["FUNCTION_CALL"]
    assert chat.stream == []


@pytest.mark.parametrize(
    "body",
    [{"type": "user_message"}, {"type": "shout", "text": "x"}, {"type": "tool_call", "parameters": "{}"}],
    ids=["no-text", "unknown-type", "tool-without-name"],
)
def test_bad_event_is_422(client: TestClient, state: SimulatorState, body: dict[str, Any]) -> None:
    chat = state.start_chat()
    response = client.post(f"/_sim/chats/{chat.id}/events", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"
    assert chat.events == []


def test_end_then_events_and_second_end_are_409(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat()
    ended = client.post(f"/_sim/chats/{chat.id}/end", json={"status": "INACTIVITY_TIMEOUT"})
    assert (ended.status_code, ended.json()["status"]) == (200, "INACTIVITY_TIMEOUT")
    assert ended.json()["end_timestamp"] >= ended.json()["start_timestamp"]
    assert client.post(f"/_sim/chats/{chat.id}/events", json={"type": "assistant_end"}).status_code == 409
    assert client.post(f"/_sim/chats/{chat.id}/end").status_code == 409


def test_end_defaults_to_user_ended_and_refuses_active(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat()
    assert client.post(f"/_sim/chats/{chat.id}/end", json={"status": "ACTIVE"}).status_code == 400
    assert client.post(f"/_sim/chats/{chat.id}/end").json()["status"] == "USER_ENDED"


def test_unknown_chat_is_404_on_every_admin_route(client: TestClient) -> None:
    assert client.get("/_sim/chats/nope").status_code == 404
    assert client.post("/_sim/chats/nope/events", json={"type": "assistant_end"}).status_code == 404
    assert client.post("/_sim/chats/nope/end").status_code == 404
    assert client.get("/_sim/chats/nope/received").status_code == 404


def test_received_lists_messages_and_filters_answers_by_tool_call(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat()
    for message in (
        {"type": "user_input", "text": "hi"},
        {"type": "tool_response", "tool_call_id": "a", "content": "A"},
        {"type": "tool_error", "tool_call_id": "b", "error": "B"},
    ):
        assert client.post(f"/v0/evi/chat/{chat.id}/send", json=message).status_code == 200
    everything = client.get(f"/_sim/chats/{chat.id}/received").json()["received"]
    assert [r["message"]["type"] for r in everything] == ["user_input", "tool_response", "tool_error"]
    assert {r["transport"] for r in everything} == {"http"}
    only_b = client.get(f"/_sim/chats/{chat.id}/received", params={"tool_call_id": "b"}).json()["received"]
    assert [r["message"]["error"] for r in only_b] == ["B"]
    assert only_b[0]["received_at"] == chat.received[2].received_at


def test_long_poll_times_out_empty(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat()
    started = time.monotonic()
    response = client.get(f"/_sim/chats/{chat.id}/received", params={"tool_call_id": "never", "timeout": "0.2"})
    assert response.json() == {"received": []}
    assert time.monotonic() - started >= 0.2
    assert state.waiting_for("never") == 0


@pytest.mark.parametrize("timeout", ["-1", "301", "soon"])
def test_long_poll_timeout_must_be_0_to_300_seconds(client: TestClient, state: SimulatorState, timeout: str) -> None:
    chat = state.start_chat()
    response = client.get(f"/_sim/chats/{chat.id}/received", params={"tool_call_id": "x", "timeout": timeout})
    assert (response.status_code, response.json()["detail"][0]["loc"]) == (422, ["query", "timeout"])


def test_long_poll_returns_as_soon_as_the_answer_arrives(simulator: UvicornThread, state: SimulatorState) -> None:
    chat = state.start_chat()
    polled: dict[str, Any] = {}

    def long_poll() -> None:
        with httpx.Client(base_url=simulator.url, headers=AUTH, timeout=30) as http:
            started = time.monotonic()
            response = http.get(f"/_sim/chats/{chat.id}/received", params={"tool_call_id": "t9", "timeout": "20"})
            polled.update(response.json(), seconds=time.monotonic() - started)

    poller = threading.Thread(target=long_poll)
    poller.start()
    wait_for(lambda: state.waiting_for("t9") == 1, timeout=5)
    with httpx.Client(base_url=simulator.url, headers=AUTH) as http:
        answer = {"type": "tool_response", "tool_call_id": "t9", "content": "done"}
        assert http.post(f"/v0/evi/chat/{chat.id}/send", json=answer).status_code == 200
    poller.join(timeout=10)
    assert [r["message"] for r in polled["received"]] == [answer]
    assert polled["seconds"] < 10


def test_fail_next_sends_over_http(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat()
    assert client.post(f"/_sim/chats/{chat.id}/fail_next_sends", json={"statuses": [502]}).status_code == 200
    assert client.post(f"/_sim/chats/{chat.id}/fail_next_sends", json={"statuses": []}).status_code == 422
    answer = {"type": "tool_response", "tool_call_id": "t", "content": "x"}
    assert [client.post(f"/v0/evi/chat/{chat.id}/send", json=answer).status_code for _ in range(2)] == [502, 200]
    record = client.get(f"/_sim/chats/{chat.id}").json()
    assert (record["http_send_attempts"], record["received_count"]) == (2, 1)


def test_stats_count_connections(client: TestClient) -> None:
    assert client.get("/_sim/stats").json()["connections_opened"] >= 1


@pytest.mark.parametrize("headers", [{"X-Hume-Api-Key": "wrong"}, {"X-Hume-Api-Key": ""}])
def test_admin_needs_the_api_key(client: TestClient, state: SimulatorState, headers: dict[str, str]) -> None:
    chat = state.start_chat()
    assert client.post("/_sim/chats", headers=headers).status_code == 401
    assert client.get(f"/_sim/chats/{chat.id}/received", headers=headers).status_code == 401
    assert client.post(f"/_sim/chats/{chat.id}/end", headers=headers).status_code == 401
    assert chat.active


def test_a_user_interruption_is_recorded_and_sent_on_the_sockets_with_its_time(
    client: TestClient, state: SimulatorState
) -> None:
    chat = state.start_chat()
    before = int(time.time() * 1000)
    response = client.post(f"/_sim/chats/{chat.id}/events", json={"type": "user_interruption"})
    assert response.status_code == 201
    assert response.json()["event"]["type"] == "USER_INTERRUPTION"
    sent = chat.stream[-1]
    assert sent["type"] == "user_interruption" and before <= sent["time"] <= int(time.time() * 1000)


def test_session_settings_are_kept_as_evi_keeps_them(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat()
    for settings in (
        {"type": "session_settings", "variables": {"ref": "B-1", "guests": 4}, "context": {"text": "VIP."}},
        {"type": "session_settings", "variables": {"table": "terrace"}},
    ):
        assert client.post(f"/v0/evi/chat/{chat.id}/send", json=settings).status_code == 200
    session = client.get(f"/_sim/chats/{chat.id}").json()["session"]
    assert session == {"variables": {"ref": "B-1", "guests": "4", "table": "terrace"}, "context": {"text": "VIP."}}
    cleared = {"type": "session_settings", "context": None}
    assert client.post(f"/v0/evi/chat/{chat.id}/send", json=cleared).status_code == 200
    assert client.get(f"/_sim/chats/{chat.id}").json()["session"]["context"] is None


def test_received_after_n_waits_for_more_than_n_messages(simulator: UvicornThread, state: SimulatorState) -> None:
    chat = state.start_chat()
    state.receive(chat.id, *said("first"))
    polled: dict[str, Any] = {}

    def long_poll() -> None:
        with httpx.Client(base_url=simulator.url, headers=AUTH, timeout=30) as http:
            response = http.get(f"/_sim/chats/{chat.id}/received", params={"after": "1", "timeout": "20"})
            polled.update(response.json())

    poller = threading.Thread(target=long_poll)
    poller.start()
    wait_for(lambda: state.waiting_for(f"chat:{chat.id}") == 1, timeout=5)
    state.receive(chat.id, *said("second"))
    poller.join(timeout=10)
    assert [r["message"]["text"] for r in polled["received"]] == ["first", "second"]


def said(text: str) -> tuple[AssistantInput, dict[str, Any], Literal["http"]]:
    message = AssistantInput(text=text)
    return message, dump_message(message), "http"
