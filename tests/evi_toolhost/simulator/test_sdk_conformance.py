"""Every operation of Hume's REST spec, driven through the official `hume` SDK (0.14.1) against the simulator
on a real socket: each call must succeed, the SDK must parse each answer into its own models, and each answer
must fit the spec's response schema for its operation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hume import HumeClient
from hume.empathic_voice import (
    PostedBuiltinTool,
    PostedConfigPromptSpec,
    PostedEventMessageSpecs,
    PostedLanguageModel,
    PostedNudgeSpec,
    PostedTimeoutSpecs,
    PostedUserDefinedToolSpec,
    PostedWebhookSpec,
    ToolResponseMessage,
    VoiceName,
)
from hume.empathic_voice import types as sdk

from evi_toolhost.simulator import SimulatorState, create_simulator_app
from service.evi.spec_files import OPENAPI, load_spec
from tests.conftest import TEST_API_KEY
from tests.support.servers import UvicornThread
from tests.support.spec_check import assert_rest

METHODS = ("get", "post", "patch", "delete")


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    status: int
    body: Any


def spec_operations() -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path template) → the operation, for every operation in the vendored spec."""
    return {
        (method.upper(), path): operation
        for path, item in load_spec(OPENAPI)["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def template_of(method: str, path: str) -> tuple[str, str]:
    for candidate_method, template in spec_operations():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if candidate_method == method and re.match(pattern, path):
            return candidate_method, template
    raise AssertionError(f"{method} {path} is no operation of the spec")


def success_schema(operation: dict[str, Any]) -> tuple[int, str]:
    [(status, response)] = [(int(code), body) for code, body in operation["responses"].items() if code.startswith("2")]
    return status, response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


@pytest.fixture
def simulator() -> Iterator[tuple[UvicornThread, SimulatorState]]:
    state = SimulatorState()
    with UvicornThread(create_simulator_app(TEST_API_KEY, state)) as server:
        yield server, state


def test_every_operation_through_the_sdk_parses_and_fits_the_spec(
    simulator: tuple[UvicornThread, SimulatorState],
) -> None:
    server, state = simulator
    exchanges: list[Exchange] = []

    def record(response: httpx.Response) -> None:
        response.read()
        body = json.loads(response.content) if response.content else None
        exchanges.append(Exchange(response.request.method, response.request.url.path, response.status_code, body))

    with httpx.Client(event_hooks={"response": [record]}) as http:
        client = HumeClient(api_key=TEST_API_KEY, base_url=server.url, httpx_client=http).empathic_voice
        drive_every_operation(client, state)

    covered: set[tuple[str, str]] = set()
    for exchange in exchanges:
        key = template_of(exchange.method, exchange.path)
        status, schema = success_schema(spec_operations()[key])
        assert exchange.status == status, f"{exchange.method} {exchange.path}: {exchange.status} {exchange.body}"
        assert_rest(exchange.body, schema, strict=False)
        covered.add(key)
    assert covered == set(spec_operations())
    assert len(covered) == 35


def drive_every_operation(client: Any, state: SimulatorState) -> None:
    prompt = client.prompts.create_prompt(name="support", text="You are kind.", version_description="first")
    assert isinstance(prompt, sdk.ReturnPrompt) and prompt.version == 0
    second = client.prompts.create_prompt_version(id=prompt.id, text="You are kind and brief.")
    assert second is not None and second.version == 1
    assert [p.name for p in client.prompts.list_prompts()] == ["support"]
    assert [p.version for p in client.prompts.list_prompt_versions(id=prompt.id).prompts_page] == [0, 1]
    assert client.prompts.get_prompt_version(id=prompt.id, version=0).text == "You are kind."
    assert client.prompts.update_prompt_description(id=prompt.id, version=1, version_description="v1").version == 1

    tool = client.tools.create_tool(
        name="get_weather",
        parameters='{"type":"object","properties":{"city":{"type":"string"}}}',
        description="Weather for a city",
        fallback_content="No weather now.",
    )
    assert isinstance(tool, sdk.ReturnUserDefinedTool)
    client.tools.create_tool_version(id=tool.id, parameters='{"type":"object"}', description="v1")
    assert [t.name for t in client.tools.list_tools()] == ["get_weather"]
    assert [t.version for t in client.tools.list_tool_versions(id=tool.id)] == [0, 1]
    assert client.tools.get_tool_version(id=tool.id, version=1).version == 1
    assert client.tools.update_tool_description(id=tool.id, version=0, version_description="first").version == 0

    config = client.configs.create_config(
        name="support-bot",
        evi_version="3",
        prompt=PostedConfigPromptSpec(id=prompt.id, version=1),
        voice=VoiceName(name="Kora", provider="HUME_AI"),
        language_model=PostedLanguageModel(
            model_provider="ANTHROPIC", model_resource="claude-sonnet-4-5-20250929", temperature=0.5
        ),
        event_messages=PostedEventMessageSpecs.model_validate({"on_new_chat": {"enabled": True, "text": "Hello!"}}),
        timeouts=PostedTimeoutSpecs.model_validate({"inactivity": {"enabled": True, "duration_secs": 300}}),
        nudges=PostedNudgeSpec(enabled=True, interval_secs=6),
        tools=[PostedUserDefinedToolSpec(id=tool.id, version=1)],
        builtin_tools=[PostedBuiltinTool(name="web_search")],
        webhooks=[PostedWebhookSpec(url="https://example.test/hook", events=["tool_call"])],
    )
    assert isinstance(config, sdk.ReturnConfig)
    assert config.created_on is not None and config.voice is not None and config.voice.id
    assert config.timeouts is not None and config.timeouts.max_duration.duration_secs == 1800
    assert config.prompt is not None and config.prompt.text == "You are kind and brief."
    again = client.configs.create_config_version(id=config.id, evi_version="3", version_description="v1")
    assert again.version == 1
    assert [c.name for c in client.configs.list_configs()] == ["support-bot"]
    assert [c.version for c in client.configs.list_config_versions(id=config.id)] == [0, 1]
    assert client.configs.get_config_version(id=config.id, version=0).prompt.version == 1
    assert client.configs.update_config_description(id=config.id, version=1, version_description="d").version == 1

    first = state.start_chat(config_id=config.id)
    state.add_user_message(first.id, "What's the weather in Paris?")
    call = state.add_tool_call(first.id, name="get_weather", parameters='{"city": "Paris"}')
    client.control_plane.send(
        chat_id=first.id, request=ToolResponseMessage(tool_call_id=call.tool_call_id, content="Sunny")
    )
    state.end_chat(first.id)
    resumed = state.start_chat(chat_group_id=first.chat_group_id, config_id=config.id)
    assert [c.id for c in client.chats.list_chats()] == [first.id, resumed.id]
    events = client.chats.list_chat_events(id=first.id)
    assert [e.type for e in events] == ["USER_MESSAGE", "FUNCTION_CALL", "FUNCTION_CALL_RESPONSE"]
    assert client.chats.get_audio(id=first.id).status == "COMPLETE"
    assert [g.num_chats for g in client.chat_groups.list_chat_groups()] == [2]
    group = client.chat_groups.get_chat_group(id=first.chat_group_id)
    assert [c.id for c in group.chats_page] == [first.id, resumed.id]
    assert len(client.chat_groups.get_audio(id=first.chat_group_id).audio_reconstructions_page) == 2
    assert len(list(client.chat_groups.list_chat_group_events(id=first.chat_group_id))) == 3

    client.configs.update_config_name(id=config.id, name="support-bot-2")
    client.prompts.update_prompt_name(id=prompt.id, name="support-2")
    client.tools.update_tool_name(id=tool.id, name="get_weather_2")
    client.configs.delete_config_version(id=config.id, version=1)
    client.configs.delete_config(id=config.id)
    client.prompts.delete_prompt_version(id=prompt.id, version=0)
    client.prompts.delete_prompt(id=prompt.id)
    client.tools.delete_tool_version(id=tool.id, version=0)
    client.tools.delete_tool(id=tool.id)
    assert list(client.configs.list_configs()) == list(client.prompts.list_prompts()) == []
    assert list(client.tools.list_tools()) == []
