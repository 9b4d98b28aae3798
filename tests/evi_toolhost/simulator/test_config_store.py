"""A posted config as Hume takes it, over a real socket: references resolved (prompt by id or by text, voice by
name or id under its provider, tools), settings in Hume's returned shape with defaults for what was left out,
and a 422 naming the field for a reference or value Hume would refuse."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hume.empathic_voice import types as sdk

from evi_toolhost.simulator import SimulatorState
from tests.support.spec_check import assert_rest


def post(http: httpx.Client, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = http.post(path, json=body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def config(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = post(http, "/v0/evi/configs", {"name": "bot", "evi_version": "3", **fields})
    assert_rest(body, "return_config_public", strict=False)
    sdk.ReturnConfig.model_validate(body)
    return body


def test_a_bare_config_comes_back_with_hume_s_defaults(http: httpx.Client) -> None:
    made = config(http)
    assert made["timeouts"] == {
        "inactivity": {"enabled": True, "duration_secs": 120},
        "max_duration": {"enabled": True, "duration_secs": 1800},
    }
    assert made["event_messages"]["on_new_chat"] == {"enabled": False, "text": None}
    assert made["ellm_model"] == {"allow_short_responses": False}
    assert (made["tools"], made["builtin_tools"], made["webhooks"]) == ([], [], [])
    assert "prompt" not in made and "voice" not in made
    assert made["created_on"] == made["modified_on"] > 0


def test_partial_settings_are_filled_in(http: httpx.Client) -> None:
    made = config(http, timeouts={"inactivity": {"enabled": False}}, language_model={"temperature": 0.2})
    assert made["timeouts"]["inactivity"] == {"enabled": False, "duration_secs": 120}
    assert made["timeouts"]["max_duration"] == {"enabled": True, "duration_secs": 1800}
    assert made["language_model"]["temperature"] == 0.2


def test_a_prompt_by_id_is_fixed_at_its_version_or_follows_the_latest(http: httpx.Client) -> None:
    prompt = post(http, "/v0/evi/prompts", {"name": "p", "text": "One."})
    fixed = config(http, prompt={"id": prompt["id"], "version": 0})
    latest = post(http, "/v0/evi/configs", {"name": "bot2", "evi_version": "3", "prompt": {"id": prompt["id"]}})
    post(http, f"/v0/evi/prompts/{prompt['id']}", {"text": "Two."})
    again = http.get(f"/v0/evi/configs/{fixed['id']}/version/0").json()
    assert (again["prompt"]["text"], again["prompt"]["version_type"]) == ("One.", "FIXED")
    followed = http.get(f"/v0/evi/configs/{latest['id']}/version/0").json()
    assert (followed["prompt"]["text"], followed["prompt"]["version"], followed["prompt"]["version_type"]) == (
        "Two.",
        1,
        "LATEST",
    )


def test_a_prompt_text_becomes_a_version_of_the_config_s_own_prompt(http: httpx.Client, state: SimulatorState) -> None:
    made = config(http, prompt={"text": "Be brief."})
    assert (made["prompt"]["name"], made["prompt"]["version"], made["prompt"]["text"]) == ("bot prompt", 0, "Be brief.")
    second = post(http, f"/v0/evi/configs/{made['id']}", {"evi_version": "3", "prompt": {"text": "Be briefer."}})
    assert (second["prompt"]["id"], second["prompt"]["version"]) == (made["prompt"]["id"], 1)
    assert [p.name for p in state.prompts.listing()] == ["bot prompt"]


def test_a_voice_is_found_by_name_or_id_under_its_provider(http: httpx.Client, state: SimulatorState) -> None:
    by_name = config(http, voice={"name": "Kora", "provider": "HUME_AI"})
    assert (by_name["voice"]["name"], by_name["voice"]["provider"]) == ("Kora", "HUME_AI") and by_name["voice"]["id"]
    custom = state.voices.add_custom("My voice")
    by_id = post(http, "/v0/evi/configs", {"name": "b2", "evi_version": "3", "voice": {"id": custom.id}})
    assert (by_id["voice"]["id"], by_id["voice"]["name"], by_id["voice"]["provider"]) == (
        custom.id,
        "My voice",
        "CUSTOM_VOICE",
    )


def test_a_new_version_inherits_ellm_model_and_nothing_else(http: httpx.Client) -> None:
    made = config(http, ellm_model={"allow_short_responses": True}, nudges={"enabled": False})
    second = post(http, f"/v0/evi/configs/{made['id']}", {"evi_version": "3"})
    assert second["ellm_model"] == {"allow_short_responses": True}
    assert second["nudges"] == {"enabled": True, "interval_secs": None}


def test_a_deleted_reference_is_left_out_of_the_answer(http: httpx.Client) -> None:
    prompt = post(http, "/v0/evi/prompts", {"name": "p", "text": "One."})
    tool = post(http, "/v0/evi/tools", {"name": "t", "parameters": "{}"})
    made = config(http, prompt={"id": prompt["id"]}, tools=[{"id": tool["id"]}])
    http.delete(f"/v0/evi/prompts/{prompt['id']}")
    http.delete(f"/v0/evi/tools/{tool['id']}")
    again = http.get(f"/v0/evi/configs/{made['id']}/version/0").json()
    assert "prompt" not in again and again["tools"] == []
    sdk.ReturnConfig.model_validate(again)


def case(fields: dict[str, Any], loc: str, says: str, name: str) -> Any:
    return pytest.param(fields, loc, says, id=name)


@pytest.mark.parametrize(
    ("fields", "loc", "says"),
    [
        case({"prompt": {"id": "no-such-prompt"}}, "prompt.id", "does not exist", "unknown-prompt"),
        case({"prompt": {"id": "x", "text": "y"}}, "prompt", "not both", "prompt-id-and-text"),
        case({"voice": {"name": "Kora"}}, "voice.name", "provider HUME_AI", "library-voice-without-provider"),
        case({"voice": {"name": "Kora", "provider": "NOPE"}}, "voice.provider", "HUME_AI", "unknown-provider"),
        case({"voice": {"name": "Nobody", "provider": "HUME_AI"}}, "voice.name", "no HUME_AI voice", "unknown-voice"),
        case(
            {"timeouts": {"inactivity": {"enabled": True, "duration_secs": 0.5}}},
            "timeouts.inactivity.duration_secs",
            "integer",
            "half-a-second",
        ),
        case(
            {"timeouts": {"max_duration": {"enabled": True, "duration_secs": 5}}},
            "timeouts.max_duration.duration_secs",
            "30",
            "max-duration-too-short",
        ),
        case(
            {"turn_detection": {"end_of_turn_silence_ms": 100}},
            "turn_detection.end_of_turn_silence_ms",
            "500",
            "turn-silence-too-short",
        ),
        case(
            {"interruption": {"min_interruption_ms": 5000}},
            "interruption.min_interruption_ms",
            "2000",
            "interruption-too-long",
        ),
        case(
            {"language_model": {"model_provider": "ACME"}},
            "language_model.model_provider",
            "ModelProviderEnum",
            "unknown-model-provider",
        ),
        case({"language_model": {"temperature": 2}}, "language_model.temperature", "1", "temperature-above-1"),
        case({"evi_version": "2"}, "evi_version", "not available", "retired-evi-version"),
        case(
            {"event_messages": {"on_new_chat": {"text": "Hi"}}},
            "event_messages.on_new_chat.enabled",
            "required",
            "event-message-without-enabled",
        ),
    ],
)
def test_what_hume_refuses_is_422_naming_the_field(
    http: httpx.Client, fields: dict[str, Any], loc: str, says: str
) -> None:
    response = http.post("/v0/evi/configs", json={"name": "bot", "evi_version": "3", **fields})
    assert response.status_code == 422, response.text
    assert_rest(response.json(), "HTTPValidationError")
    [error] = [error for error in response.json()["detail"] if error["loc"] == ["body", *loc.split(".")]]
    assert says in error["msg"]
    assert http.get("/v0/evi/configs").json()["configs_page"] == []
