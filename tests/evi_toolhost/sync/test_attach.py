"""`plan_attach` / `apply_attach`: a new config version with every other setting kept, our tools at their
synced versions, our webhook on every event; and the returned → posted conversion on Hume's own shapes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from evi_toolhost.sync import SyncError
from evi_toolhost.sync.attach import WEBHOOK_EVENTS, apply_attach, format_attach_change, latest_config, plan_attach
from evi_toolhost.sync.config_shape import posted_config_version
from evi_toolhost.sync.tools import sync_tools
from service.evi.management import HumeApiError, HumeManagementClient
from tests.support.hume_api import Sent, assert_posted_bodies_match_spec, posts, versions_of
from tests.support.spec_check import assert_rest
from workers.handlers.registry import RegisteredTool, Registry

OUR_URL = "https://toolhost.example.test/hume-webhook"
OTHER_HOOK = {"url": "https://crm.example.test/evi", "events": ["chat_ended"]}
RECORD_FIELDS = {"version", "modified_on", "version_description"}


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return city


def lookup_order(order_id: str) -> str:
    """Where an order is."""
    return order_id


def get_weather_reworded(city: str) -> str:
    """Current weather in a city, in one sentence."""
    return city


def our_tools(weather: Any = get_weather) -> list[RegisteredTool]:
    registry = Registry()
    registry.tool(name="get_weather")(weather)
    registry.tool(lookup_order)
    return registry.tools()


def post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
def foreign_tools(api: httpx.Client) -> dict[str, dict[str, Any]]:
    """Two tools someone else made: `crm_pinned` (config pins version 0) and `crm_latest` (follows latest)."""
    pinned = post(api, "/v0/evi/tools", {"name": "crm_pinned", "parameters": '{"type":"object"}'})
    post(api, f"/v0/evi/tools/{pinned['id']}", {"parameters": '{"type":"object","properties":{}}'})
    latest = post(api, "/v0/evi/tools", {"name": "crm_latest", "parameters": '{"type":"object"}'})
    return {"pinned": pinned, "latest": latest}


@pytest.fixture
def config(api: httpx.Client, foreign_tools: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A config with many non-default settings, foreign tools and webhooks; its latest version is 1."""
    first = post(
        api,
        "/v0/evi/configs",
        {"name": "support-bot", "evi_version": "3", "prompt": {"text": "An old prompt."}},
    )
    return post(
        api,
        f"/v0/evi/configs/{first['id']}",
        {
            "evi_version": "3",
            "version_description": "hand-made",
            "prompt": {"text": "You are a friendly support agent."},
            "voice": {"name": "Kora", "provider": "HUME_AI"},
            "language_model": {"model_provider": "ANTHROPIC", "model_resource": "claude-sonnet-4-20250514"},
            "ellm_model": {"allow_short_responses": True},
            "event_messages": {
                "on_new_chat": {"enabled": True, "text": "Hello, how can I help?"},
                "on_inactivity_timeout": {"enabled": False, "text": None},
            },
            "timeouts": {
                "inactivity": {"enabled": True, "duration_secs": 120},
                "max_duration": {"enabled": True, "duration_secs": 900},
            },
            "nudges": {"enabled": True, "interval_secs": 6},
            "interruption": {"min_interruption_ms": 300},
            "turn_detection": {"end_of_turn_silence_ms": 800, "speech_detection_threshold": 0.6},
            "builtin_tools": [{"name": "hang_up", "fallback_content": "Goodbye."}],
            "tools": [{"id": foreign_tools["pinned"]["id"], "version": 0}, {"id": foreign_tools["latest"]["id"]}],
            "webhooks": [OTHER_HOOK, {"url": OUR_URL, "events": ["tool_call"]}],
        },
    )


def settings_of(config: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if key not in {*RECORD_FIELDS, "tools", "webhooks"}}


def test_attach_keeps_every_other_setting_and_lists_our_tools_and_webhook(
    hume: HumeManagementClient,
    api: httpx.Client,
    sent: list[Sent],
    config: dict[str, Any],
    foreign_tools: dict[str, dict[str, Any]],
) -> None:
    _, synced = sync_tools(hume, our_tools())

    plan = plan_attach(hume, config["id"], our_tools(), OUR_URL)
    created = apply_attach(hume, plan)

    assert created is not None and created["version"] == 2
    stored = api.get(f"/v0/evi/configs/{config['id']}/version/2").json()
    assert settings_of(stored) == settings_of(config)
    assert [(t["name"], t["version"], t["version_type"]) for t in stored["tools"]] == [
        ("crm_pinned", 0, "FIXED"),
        ("crm_latest", 0, "LATEST"),
        ("get_weather", 0, "FIXED"),
        ("lookup_order", 0, "FIXED"),
    ]
    assert [t["id"] for t in stored["tools"][2:]] == [outcome.id for outcome in synced]
    assert stored["webhooks"] == [OTHER_HOOK, {"url": OUR_URL, "events": list(WEBHOOK_EVENTS)}]
    assert plan.warnings == ()
    assert_posted_bodies_match_spec(sent)


def test_attach_uses_the_latest_synced_version_of_each_tool(
    hume: HumeManagementClient, api: httpx.Client, config: dict[str, Any]
) -> None:
    sync_tools(hume, our_tools())
    sync_tools(hume, our_tools(get_weather_reworded))

    apply_attach(hume, plan_attach(hume, config["id"], our_tools(get_weather_reworded), OUR_URL))

    latest = latest_config(hume, config["id"])
    assert {t["name"]: t["version"] for t in latest["tools"]} == {
        "crm_pinned": 0,
        "crm_latest": 0,
        "get_weather": 1,
        "lookup_order": 0,
    }


def test_attaching_again_changes_nothing(
    hume: HumeManagementClient, api: httpx.Client, sent: list[Sent], config: dict[str, Any]
) -> None:
    sync_tools(hume, our_tools())
    apply_attach(hume, plan_attach(hume, config["id"], our_tools(), OUR_URL))
    del sent[:]

    plan = plan_attach(hume, config["id"], our_tools(), OUR_URL)

    assert plan.changes == () and apply_attach(hume, plan) is None
    assert posts(sent) == []
    assert [v["version"] for v in versions_of(api, "configs", config["id"])] == [0, 1, 2]


def test_dry_run_shows_the_changed_fields_and_posts_nothing(
    hume: HumeManagementClient, api: httpx.Client, sent: list[Sent], config: dict[str, Any]
) -> None:
    sync_tools(hume, our_tools())
    del sent[:]

    plan = plan_attach(hume, config["id"], our_tools(), OUR_URL)

    assert [format_attach_change(change, plan.tool_names) for change in plan.changes] == [
        "tools: crm_pinned@0, crm_latest@latest → crm_pinned@0, crm_latest@latest, get_weather@0, lookup_order@0",
        f"webhooks: {OTHER_HOOK['url']} (chat_ended), {OUR_URL} (tool_call) → "
        f"{OTHER_HOOK['url']} (chat_ended), {OUR_URL} (chat_started, chat_ended, tool_call)",
    ]
    assert posts(sent) == []
    assert [v["version"] for v in versions_of(api, "configs", config["id"])] == [0, 1]


def test_tools_never_synced_are_named_and_nothing_is_posted(
    hume: HumeManagementClient, api: httpx.Client, sent: list[Sent], config: dict[str, Any]
) -> None:
    sync_tools(hume, our_tools()[1:])  # lookup_order only

    with pytest.raises(SyncError, match=r"not synced to Hume yet: get_weather; run `evi-toolhost tools sync` first"):
        plan_attach(hume, config["id"], our_tools(), OUR_URL)

    assert [v["version"] for v in versions_of(api, "configs", config["id"])] == [0, 1]


def test_unsynced_changes_are_a_warning_and_the_synced_version_is_attached(
    hume: HumeManagementClient, config: dict[str, Any]
) -> None:
    sync_tools(hume, our_tools())

    plan = plan_attach(hume, config["id"], our_tools(get_weather_reworded), OUR_URL)

    assert plan.warnings == ("get_weather has changes not synced yet (description); attaching its synced version 0",)
    assert {"id": plan.body["tools"][2]["id"], "version": 0} == plan.body["tools"][2]


def test_an_unknown_config_is_hume_s_404(hume: HumeManagementClient) -> None:
    sync_tools(hume, our_tools())
    with pytest.raises(HumeApiError) as caught:
        plan_attach(hume, "no-such-config", our_tools(), OUR_URL)
    assert (
        str(caught.value) == "Hume API error 404 on GET /v0/evi/configs/no-such-config: config no-such-config not found"
    )


# --- returned → posted, on the shapes real Hume returns --------------------------------------------

HUME_CONFIG: dict[str, Any] = {
    "id": "cfg-1",
    "version": 4,
    "name": "support-bot",
    "created_on": 1_700_000_000,
    "modified_on": 1_700_000_500,
    "version_description": "by hand",
    "evi_version": "3",
    "prompt": {
        "id": "prompt-1",
        "version": 2,
        "version_type": "FIXED",
        "name": "support prompt",
        "text": "You are a friendly support agent.",
        "created_on": 1_700_000_000,
        "modified_on": 1_700_000_100,
        "version_description": None,
    },
    "voice": {"id": "voice-1", "name": "Kora", "provider": "HUME_AI", "compatible_octave_models": ["2"]},
    "language_model": {
        "model_provider": "ANTHROPIC",
        "model_resource": "claude-sonnet-4-20250514",
        "temperature": None,
    },
    "ellm_model": {"allow_short_responses": False},
    "event_messages": {
        "on_new_chat": {"enabled": True, "text": "Hello!"},
        "on_inactivity_timeout": {"enabled": False, "text": None},
        "on_max_duration_timeout": {"enabled": False, "text": None},
    },
    "timeouts": {
        "inactivity": {"enabled": True, "duration_secs": 120},
        "max_duration": {"enabled": True, "duration_secs": 1800},
    },
    "nudges": {"enabled": True, "interval_secs": 6},
    "interruption": {"min_interruption_ms": 250},
    "turn_detection": {"end_of_turn_silence_ms": 900, "prefix_padding_ms": None, "speech_detection_threshold": 0.5},
    "builtin_tools": [{"tool_type": "BUILTIN", "name": "web_search", "fallback_content": None}],
    "tools": [
        {
            "tool_type": "FUNCTION",
            "id": "tool-fixed",
            "version": 3,
            "version_type": "FIXED",
            "name": "crm",
            "parameters": "{}",
            "created_on": 1,
            "modified_on": 2,
        },
        {
            "tool_type": "FUNCTION",
            "id": "tool-latest",
            "version": 7,
            "version_type": "LATEST",
            "name": "calendar",
            "parameters": "{}",
            "created_on": 1,
            "modified_on": 2,
        },
    ],
    "webhooks": [{"url": "https://crm.example.test/evi", "events": ["chat_ended"]}],
}


def test_a_real_hume_config_converts_to_a_valid_posted_version_that_means_the_same() -> None:
    assert_rest(HUME_CONFIG, "return_config")

    posted = posted_config_version(HUME_CONFIG)

    assert_rest(posted, "posted_config_version")
    assert posted["prompt"] == {"id": "prompt-1", "version": 2}
    assert posted["voice"] == {"id": "voice-1", "provider": "HUME_AI"}
    assert posted["tools"] == [{"id": "tool-fixed", "version": 3}, {"id": "tool-latest"}]
    assert posted["builtin_tools"] == [{"name": "web_search", "fallback_content": None}]
    for same_shape in ("language_model", "ellm_model", "event_messages", "timeouts", "nudges", "interruption"):
        assert posted[same_shape] == HUME_CONFIG[same_shape], same_shape
    assert posted["turn_detection"] == HUME_CONFIG["turn_detection"]
    assert posted["webhooks"] == HUME_CONFIG["webhooks"]
    assert not {"id", "name", "version", "created_on", "modified_on"} & set(posted)


def test_a_prompt_that_follows_its_latest_version_keeps_following_it() -> None:
    prompt = {**HUME_CONFIG["prompt"], "version_type": "LATEST"}
    assert posted_config_version({**HUME_CONFIG, "prompt": prompt})["prompt"] == {"id": "prompt-1"}


def test_fields_a_posted_version_cannot_carry_are_a_warning(hume: HumeManagementClient, api: httpx.Client) -> None:
    sync_tools(hume, our_tools())
    made = post(api, "/v0/evi/configs", {"name": "future", "evi_version": "3", "voice_tuning": {"pitch": 2}})

    plan = plan_attach(hume, made["id"], our_tools(), OUR_URL)

    assert plan.warnings == ("config fields this version of evi-toolhost cannot carry over: voice_tuning",)
