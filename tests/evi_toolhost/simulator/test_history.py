"""GET /v0/evi/chats/{id} and /v0/evi/chat_groups/{id}/events: spec shapes, paging edge cases, order,
bad parameters, and what each control-plane message adds to the history."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hume.empathic_voice import types as sdk
from starlette.testclient import TestClient

from evi_toolhost.simulator import SimulatorState
from service.evi.webhooks import ChatStatus
from tests.support.spec_check import assert_rest


def chat_with_messages(state: SimulatorState, count: int) -> str:
    chat = state.start_chat()
    for number in range(count):
        state.add_user_message(chat.id, f"message {number}")
    return chat.id


def events_page(client: TestClient, chat_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/v0/evi/chats/{chat_id}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_rest(body, "return_chat_paged_events")
    sdk.ReturnChatPagedEvents.model_validate(body)
    return body


def texts(body: dict[str, Any]) -> list[str]:
    return [event["message_text"] for event in body["events_page"]]


def test_empty_chat_has_no_pages(client: TestClient, state: SimulatorState) -> None:
    body = events_page(client, chat_with_messages(state, 0))
    assert (body["events_page"], body["total_pages"]) == ([], 0)
    assert (body["page_number"], body["page_size"], body["pagination_direction"]) == (0, 10, "ASC")
    assert body["status"] == "ACTIVE"


def test_exactly_one_page(client: TestClient, state: SimulatorState) -> None:
    body = events_page(client, chat_with_messages(state, 10))
    assert body["total_pages"] == 1
    assert texts(body) == [f"message {n}" for n in range(10)]
    assert events_page(client, body["id"], page_number=1)["events_page"] == []


def test_last_page_is_partial_and_beyond_the_end_is_empty(client: TestClient, state: SimulatorState) -> None:
    chat_id = chat_with_messages(state, 12)
    last = events_page(client, chat_id, page_size=5, page_number=2)
    assert (last["total_pages"], texts(last)) == (3, ["message 10", "message 11"])
    beyond = events_page(client, chat_id, page_size=5, page_number=7)
    assert (beyond["total_pages"], beyond["events_page"], beyond["page_number"]) == (3, [], 7)


def test_descending_order_pages_from_the_newest(client: TestClient, state: SimulatorState) -> None:
    chat_id = chat_with_messages(state, 12)
    first = events_page(client, chat_id, page_size=5, ascending_order="false")
    assert first["pagination_direction"] == "DESC"
    assert texts(first) == [f"message {n}" for n in (11, 10, 9, 8, 7)]
    assert texts(events_page(client, chat_id, page_size=5, page_number=2, ascending_order="false")) == [
        "message 1",
        "message 0",
    ]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 101}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page_number": -1}, "page_number"),
        ({"ascending_order": "sideways"}, "ascending_order"),
    ],
)
def test_bad_paging_parameter_is_422_naming_it(
    client: TestClient, state: SimulatorState, params: dict[str, Any], name: str
) -> None:
    chat_id = chat_with_messages(state, 1)
    for path in (f"/v0/evi/chats/{chat_id}", f"/v0/evi/chat_groups/{state.chats[chat_id].chat_group_id}/events"):
        response = client.get(path, params=params)
        assert response.status_code == 422
        assert_rest(response.json(), "HTTPValidationError")
        assert response.json()["detail"][0]["loc"] == ["query", name]


def test_page_size_limits_are_inclusive(client: TestClient, state: SimulatorState) -> None:
    chat_id = chat_with_messages(state, 3)
    assert events_page(client, chat_id, page_size=1)["total_pages"] == 3
    assert events_page(client, chat_id, page_size=100)["total_pages"] == 1


def test_events_carry_roles_types_and_millisecond_timestamps(client: TestClient, state: SimulatorState) -> None:
    chat = state.start_chat(chat_id="chat-roles")
    state.add_user_message(chat.id, "Weather?")
    call = state.add_tool_call(chat.id, name="get_weather", parameters='{"city": "Paris"}')
    answer = {"type": "tool_response", "tool_call_id": call.tool_call_id, "content": "18 C"}
    assert client.post(f"/v0/evi/chat/{chat.id}/send", json=answer).status_code == 200
    state.add_assistant_message(chat.id, "It is 18 degrees.")
    events = events_page(client, chat.id)["events_page"]
    assert [(e["type"], e["role"]) for e in events] == [
        ("USER_MESSAGE", "USER"),
        ("FUNCTION_CALL", "AGENT"),
        ("FUNCTION_CALL_RESPONSE", "TOOL"),
        ("AGENT_MESSAGE", "AGENT"),
    ]
    assert json.loads(events[1]["message_text"])["tool_call_id"] == call.tool_call_id
    assert json.loads(events[2]["message_text"]) == answer
    assert all(e["chat_id"] == chat.id and e["timestamp"] >= chat.start_ms for e in events)
    assert all(len(str(e["timestamp"])) == 13 for e in events)
    assert len({e["id"] for e in events}) == 4


@pytest.mark.parametrize(
    ("message", "event_type", "role", "text"),
    [
        ({"type": "user_input", "text": "typed"}, "USER_MESSAGE", "USER", "typed"),
        ({"type": "assistant_input", "text": "said"}, "AGENT_MESSAGE", "AGENT", "said"),
        ({"type": "tool_error", "tool_call_id": "t", "error": "boom"}, "FUNCTION_CALL_RESPONSE", "TOOL", None),
        ({"type": "session_settings", "system_prompt": "Be brief."}, "SESSION_SETTINGS", "SYSTEM", None),
        ({"type": "pause_assistant_message"}, "PAUSE_ONSET", "SYSTEM", None),
        ({"type": "resume_assistant_message"}, "RESUME_ONSET", "SYSTEM", None),
    ],
)
def test_each_control_plane_message_is_added_to_history(
    client: TestClient, state: SimulatorState, message: dict[str, Any], event_type: str, role: str, text: str | None
) -> None:
    chat = state.start_chat()
    assert client.post(f"/v0/evi/chat/{chat.id}/send", json=message).status_code == 200
    [event] = events_page(client, chat.id)["events_page"]
    assert (event["type"], event["role"]) == (event_type, role)
    if text is not None:
        assert event["message_text"] == text


def test_session_settings_in_history_leave_out_the_language_model_key(
    client: TestClient, state: SimulatorState
) -> None:
    chat = state.start_chat()
    settings = {"type": "session_settings", "language_model_api_key": "sk-secret", "system_prompt": "Hi"}
    assert client.post(f"/v0/evi/chat/{chat.id}/send", json=settings).status_code == 200
    [event] = events_page(client, chat.id)["events_page"]
    assert "sk-secret" not in event["message_text"]
    assert json.loads(event["message_text"])["system_prompt"] == "Hi"


def test_ended_chat_shows_its_status_and_end_time(client: TestClient, state: SimulatorState) -> None:
    chat_id = chat_with_messages(state, 1)
    state.end_chat(chat_id, ChatStatus.USER_TIMEOUT)
    body = events_page(client, chat_id)
    assert body["status"] == "USER_TIMEOUT"
    assert body["end_timestamp"] >= body["start_timestamp"]


def test_chat_group_events_span_its_chats_in_order(client: TestClient, state: SimulatorState) -> None:
    first = state.start_chat()
    state.add_user_message(first.id, "first chat")
    state.end_chat(first.id)
    resumed = state.start_chat(chat_group_id=first.chat_group_id)
    assert resumed.chat_start_type == "resumed_chat_group"
    state.add_user_message(resumed.id, "resumed chat")
    state.add_user_message(state.start_chat().id, "another group")
    response = client.get(f"/v0/evi/chat_groups/{first.chat_group_id}/events", params={"ascending_order": "false"})
    assert response.status_code == 200
    body = response.json()
    assert_rest(body, "return_chat_group_paged_events")
    sdk.ReturnChatGroupPagedEvents.model_validate(body)
    assert (body["id"], body["total_pages"], body["pagination_direction"]) == (first.chat_group_id, 1, "DESC")
    assert [(e["chat_id"], e["message_text"]) for e in body["events_page"]] == [
        (resumed.id, "resumed chat"),
        (first.id, "first chat"),
    ]


def test_unknown_chat_and_group_are_404(client: TestClient) -> None:
    assert client.get("/v0/evi/chats/nope").status_code == 404
    assert client.get("/v0/evi/chat_groups/nope/events").status_code == 404


@pytest.mark.parametrize("path", ["/v0/evi/chats/{chat}", "/v0/evi/chat_groups/{group}/events"])
def test_history_needs_the_api_key(client: TestClient, state: SimulatorState, path: str) -> None:
    chat = state.start_chat()
    url = path.format(chat=chat.id, group=chat.chat_group_id)
    assert client.get(url, headers={"X-Hume-Api-Key": "wrong"}).status_code == 401
