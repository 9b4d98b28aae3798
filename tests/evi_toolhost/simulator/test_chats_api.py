"""Chat and chat-group listings made from the chats the simulator ran, over a real socket; prosody scores on
spoken messages; and the API key checked before anything else on every HTTP route."""

from __future__ import annotations

import json

import httpx
import pytest
from hume.empathic_voice import types as sdk

from evi_toolhost.simulator import SimulatorState
from evi_toolhost.simulator.emotions import EXPRESSIONS
from service.evi.webhooks import ChatStatus
from tests.support.spec_check import assert_rest


def test_chats_are_listed_oldest_first_and_filtered(http: httpx.Client, state: SimulatorState) -> None:
    config = state.configs.create("bot", {"evi_version": "3"})
    first = state.start_chat(config_id=config.id)
    state.end_chat(first.id, ChatStatus.SILENCE_TIMEOUT)
    second = state.start_chat()

    page = http.get("/v0/evi/chats").json()
    assert_rest(page, "return_paged_chats")
    sdk.ReturnPagedChats.model_validate(page)
    assert [chat["id"] for chat in page["chats_page"]] == [first.id, second.id]
    assert page["chats_page"][0]["config"] == {"id": config.id, "version": 0}
    assert page["chats_page"][0]["status"] == "USER_TIMEOUT", "REST has no SILENCE_TIMEOUT"
    newest = http.get("/v0/evi/chats", params={"ascending_order": "false"}).json()
    assert ([c["id"] for c in newest["chats_page"]], newest["pagination_direction"]) == ([second.id, first.id], "DESC")
    assert [c["id"] for c in http.get("/v0/evi/chats", params={"status": "ACTIVE"}).json()["chats_page"]] == [
        second.id
    ]
    by_config = http.get("/v0/evi/chats", params={"config_id": config.id}).json()["chats_page"]
    assert [c["id"] for c in by_config] == [first.id]


def test_chat_groups_gather_a_group_s_chats(http: httpx.Client, state: SimulatorState) -> None:
    config = state.configs.create("bot", {"evi_version": "3"})
    first = state.start_chat()
    state.end_chat(first.id)
    resumed = state.start_chat(chat_group_id=first.chat_group_id, config_id=config.id)
    lone = state.start_chat()
    state.end_chat(lone.id)

    groups = http.get("/v0/evi/chat_groups").json()
    assert_rest(groups, "return_paged_chat_groups")
    [group, other] = groups["chat_groups_page"]
    assert (group["id"], group["num_chats"], group["most_recent_chat_id"], group["active"]) == (
        first.chat_group_id,
        2,
        resumed.id,
        True,
    )
    assert group["most_recent_config"] == {"id": config.id, "version": 0}
    assert (other["id"], other["active"]) == (lone.chat_group_id, False)
    filtered = http.get("/v0/evi/chat_groups", params={"config_id": config.id}).json()["chat_groups_page"]
    assert [g["id"] for g in filtered] == [first.chat_group_id]

    one = http.get(f"/v0/evi/chat_groups/{first.chat_group_id}").json()
    assert_rest(one, "return_chat_group_paged_chats")
    sdk.ReturnChatGroupPagedChats.model_validate(one)
    assert [chat["id"] for chat in one["chats_page"]] == [first.id, resumed.id]
    ended = http.get(f"/v0/evi/chat_groups/{first.chat_group_id}", params={"status": "USER_ENDED"}).json()
    assert [chat["id"] for chat in ended["chats_page"]] == [first.id]
    assert http.get("/v0/evi/chat_groups/no-such-group").status_code == 404


def test_audio_is_queued_while_a_chat_runs_and_complete_after(http: httpx.Client, state: SimulatorState) -> None:
    chat = state.start_chat()
    assert http.get(f"/v0/evi/chats/{chat.id}/audio").json()["status"] == "QUEUED"
    state.end_chat(chat.id)
    audio = http.get(f"/v0/evi/chats/{chat.id}/audio").json()
    assert_rest(audio, "ReturnChatAudioReconstruction")
    assert (audio["status"], audio["user_id"]) == ("COMPLETE", state.user_id)
    group = http.get(f"/v0/evi/chat_groups/{chat.chat_group_id}/audio").json()
    assert_rest(group, "return_chat_group_paged_audio_reconstructions")
    assert [item["id"] for item in group["audio_reconstructions_page"]] == [chat.id]
    assert http.get("/v0/evi/chats/no-such-chat/audio").status_code == 404


def test_spoken_messages_carry_prosody_scores_typed_ones_none(http: httpx.Client, state: SimulatorState) -> None:
    chat = state.start_chat()
    state.add_user_message(chat.id, "I am so happy", emotions={"Joy": 0.9, "Excitement": 0.6})
    state.add_assistant_message(chat.id, "Glad to hear it")
    state.add_user_message(chat.id, "typed", from_text=True)
    events = http.get(f"/v0/evi/chats/{chat.id}").json()["events_page"]
    given, made_up, typed = (event["emotion_features"] for event in events)
    assert json.loads(given)["Joy"] == 0.9 and set(json.loads(given)) == set(EXPRESSIONS)
    assert json.loads(made_up) == json.loads(state.chats[chat.id].events[1].emotion_features or "")
    assert typed is None


def test_admin_events_take_prosody_scores_and_refuse_unknown_expressions(
    http: httpx.Client, state: SimulatorState
) -> None:
    chat = state.start_chat()
    good = http.post(
        f"/_sim/chats/{chat.id}/events", json={"type": "user_message", "text": "hi", "emotions": {"Calmness": 0.7}}
    )
    assert good.status_code == 201
    assert json.loads(good.json()["event"]["emotion_features"])["Calmness"] == 0.7
    glee = {"type": "user_message", "text": "hi", "emotions": {"Glee": 1}}
    bad = http.post(f"/_sim/chats/{chat.id}/events", json=glee)
    assert bad.status_code == 422 and "Glee" in bad.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v0/evi/no-such-route"), ("DELETE", "/v0/evi/chats"), ("GET", "/v0/evi/prompts"), ("GET", "/nowhere")],
)
def test_the_key_is_checked_before_the_route(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path, headers={"X-Hume-Api-Key": ""})
    assert response.status_code == 401
    assert response.json()["fault"]["faultstring"] == "Invalid ApiKey"
    missing = httpx.request(method, f"{http.base_url}{path}")
    assert (missing.status_code, missing.json()["fault"]["detail"]["errorcode"]) == (
        401,
        "steps.oauth.v2.FailedToResolveAPIKey",
    )


def test_with_the_key_an_unknown_route_is_404_and_a_wrong_method_405(http: httpx.Client) -> None:
    assert http.get("/v0/evi/no-such-route").status_code == 404
    assert http.delete("/v0/evi/chats").status_code == 405
