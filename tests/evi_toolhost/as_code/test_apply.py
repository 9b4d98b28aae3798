"""`apply` against the simulator over a real socket, from the example file: it creates the prompt, the tools and
the config; a second apply posts nothing; a changed prompt text makes exactly one prompt version and one config
version, which the plan showed first. Every body posted fits the spec."""

from __future__ import annotations

import dataclasses

from evi_toolhost.as_code.apply import apply_plan
from evi_toolhost.as_code.evi_file import LoadedFile
from evi_toolhost.as_code.plan import make_plan
from evi_toolhost.as_code.render import plan_lines
from evi_toolhost.simulator import SimulatorState
from service.evi.management import HumeManagementClient
from tests.support.hume_api import Sent, posts
from tests.support.spec_check import assert_rest
from workers.handlers.registry import RegisteredTool

POSTED = {
    "/v0/evi/tools": "posted_user_defined_tool",
    "/v0/evi/prompts": "posted_prompt",
    "/v0/evi/configs": "posted_config",
}
VERSIONS = {"tools": "posted_user_defined_tool_version", "prompts": "posted_prompt_version"}


def assert_bodies_fit_the_spec(sent: list[Sent]) -> None:
    for request in posts(sent):
        kind = request.path.split("/")[3]
        schema = POSTED.get(request.path) or VERSIONS.get(kind, "posted_config_version")
        assert_rest(request.body, schema)


def test_apply_creates_then_a_second_apply_posts_nothing(
    hume: HumeManagementClient,
    sent: list[Sent],
    state: SimulatorState,
    example: LoadedFile,
    example_tools: list[RegisteredTool],
) -> None:
    outcomes = apply_plan(hume, make_plan(hume, example, example_tools))

    assert [(o.kind, o.action) for o in outcomes] == [("tool", "created")] * len(example_tools) + [
        ("prompt", "created"),
        ("config", "created"),
    ]
    assert_bodies_fit_the_spec(sent)
    [config] = state.configs.listing()
    returned = hume.get_config_version(config.id, 0)
    assert returned["prompt"]["text"] == example.prompts["concierge"].text
    assert returned["voice"]["name"] == "Kora"
    assert [tool["name"] for tool in returned["tools"]] == [t.name for t in example.configs[0].tools or ()]
    assert returned["timeouts"]["inactivity"] == {"enabled": True, "duration_secs": 180}
    assert returned["event_messages"]["on_new_chat"]["text"] == "Hello, this is the concierge. How can I help?"

    sent.clear()
    again = make_plan(hume, example, example_tools)
    assert not again.needed
    assert apply_plan(hume, again) == [dataclasses.replace(o, action="unchanged") for o in outcomes]
    assert posts(sent) == []


def test_a_changed_prompt_text_is_one_prompt_version_and_one_config_version_shown_first(
    hume: HumeManagementClient,
    sent: list[Sent],
    state: SimulatorState,
    example: LoadedFile,
    example_tools: list[RegisteredTool],
) -> None:
    apply_plan(hume, make_plan(hume, example, example_tools))
    [prompt] = example.prompts.values()
    changed = dataclasses.replace(
        example, prompts={"concierge": dataclasses.replace(prompt, text=prompt.text + "Never guess.\n")}
    )
    sent.clear()

    plan = make_plan(hume, changed, example_tools)
    shown = list(plan_lines(plan))
    assert posts(sent) == [], "plan changes nothing"
    assert "prompt concierge: new version (Hume has version 0)" in shown
    assert "    +Never guess." in shown
    assert shown[shown.index("config concierge: new version (Hume has version 0)") + 1] == (
        "  prompt: concierge@0 → concierge@next"
    )
    assert shown[-1] == f"plan: 0 to create, 2 to version, {len(example_tools)} unchanged"

    apply_plan(hume, plan)
    assert [request.path.split("/")[3] for request in posts(sent)] == ["prompts", "configs"]
    [prompt_record] = state.prompts.listing()
    assert [v.version for v in state.prompts.versions(prompt_record.id)] == [0, 1]
    [config_record] = state.configs.listing()
    latest = hume.get_config_version(config_record.id, 1)
    assert (latest["prompt"]["version"], latest["prompt"]["text"]) == (1, prompt.text + "Never guess.\n")
    assert latest["voice"]["name"] == "Kora", "what the file did not change is kept"
