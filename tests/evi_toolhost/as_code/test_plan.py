"""`make_plan` against the simulator over a real socket: declared settings compared field by field (what the file
leaves out is kept), tools from code versioned with the configs that list them, tools Hume has by name, and
references that cannot be met refused before anything is posted."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest

from evi_toolhost.as_code import AsCodeError
from evi_toolhost.as_code.apply import apply_plan
from evi_toolhost.as_code.evi_file import DesiredConfig, LoadedFile, WantedTool
from evi_toolhost.as_code.plan import make_plan
from evi_toolhost.sync.changes import Change
from service.evi.management import HumeManagementClient
from tests.support.hume_api import Sent, posts
from workers.handlers.registry import RegisteredTool, Registry

WEBHOOK = {"url": "https://bot.example.test/hook", "events": ["chat_started", "tool_call"]}


def config(**changes: Any) -> DesiredConfig:
    timeouts = {"timeouts": {"inactivity": {"enabled": True, "duration_secs": 180}}}
    base = DesiredConfig("bot", "bot", "3", None, timeouts, None)
    return dataclasses.replace(base, **changes)


def loaded(*configs: DesiredConfig) -> LoadedFile:
    return LoadedFile(path=Path("evi.yaml"), environment=None, tool_modules=(), configs=configs)


def forecast(city: str) -> str:
    """Weather for a city."""
    return city


def forecast_with_days(city: str, days: int = 1) -> str:
    """Weather for a city."""
    return city


def tools_of(func: Any) -> list[RegisteredTool]:
    registry = Registry()
    registry.tool(name="plan_forecast")(func)
    return registry.tools()


def test_a_declared_leaf_shows_as_a_dotted_field_and_the_rest_is_kept(
    hume: HumeManagementClient, api: httpx.Client, sent: list[Sent]
) -> None:
    voice = {"name": "Ito", "provider": "HUME_AI"}
    body = {"name": "bot", "evi_version": "3", "voice": voice, "webhooks": [WEBHOOK]}
    made = api.post("/v0/evi/configs", json=body).json()

    plan = make_plan(hume, loaded(config()), [])

    [planned] = plan.configs
    assert planned.changes == (Change("timeouts.inactivity.duration_secs", 120, 180),)
    apply_plan(hume, plan)
    latest = hume.get_config_version(made["id"], 1)
    assert latest["timeouts"]["inactivity"]["duration_secs"] == 180
    assert (latest["voice"]["name"], latest["webhooks"]) == ("Ito", [WEBHOOK]), "undeclared settings are kept"
    sent.clear()
    assert not make_plan(hume, loaded(config()), []).needed and posts(sent) == []


def test_webhook_events_in_another_order_are_no_change(hume: HumeManagementClient, api: httpx.Client) -> None:
    api.post("/v0/evi/configs", json={"name": "bot", "evi_version": "3", "webhooks": [WEBHOOK]})
    reordered = {**WEBHOOK, "events": list(reversed(WEBHOOK["events"]))}
    assert not make_plan(hume, loaded(config(settings={"webhooks": [reordered]})), []).needed


def test_a_changed_tool_is_versioned_with_the_configs_that_list_it(hume: HumeManagementClient) -> None:
    listing = config(tools=(WantedTool("plan_forecast"),))
    apply_plan(hume, make_plan(hume, loaded(listing), tools_of(forecast)))

    plan = make_plan(hume, loaded(listing), tools_of(forecast_with_days))

    [tool] = plan.tools
    assert tool.action == "update"
    [planned] = plan.configs
    assert planned.changes == (Change("tools", ["plan_forecast@0"], ["plan_forecast@next"]),)
    [*_, config_outcome] = apply_plan(hume, plan)
    assert (config_outcome.version, config_outcome.action) == (1, "new version")
    listed = hume.get_config_version(config_outcome.id, 1)["tools"]
    assert [(t["name"], t["version"]) for t in listed] == [("plan_forecast", 1)]


def test_a_tool_only_hume_has_is_listed_at_its_latest_or_pinned_version(
    hume: HumeManagementClient, api: httpx.Client
) -> None:
    made = api.post("/v0/evi/tools", json={"name": "crm", "parameters": "{}"}).json()
    api.post(f"/v0/evi/tools/{made['id']}", json={"parameters": '{"type":"object"}'})
    for wanted, version in ((WantedTool("crm"), 1), (WantedTool("crm", 0), 0)):
        [planned] = make_plan(hume, loaded(config(tools=(wanted,))), []).configs
        assert planned.tools is not None and [(r.id, r.version) for r in planned.tools] == [(made["id"], version)]


@pytest.mark.parametrize(
    ("wanted", "registered", "says"),
    [
        (WantedTool("nowhere"), [], "config bot: no tool 'nowhere': no registered tool has that name"),
        (WantedTool("plan_forecast", 2), tools_of(forecast), "plan_forecast is one of your registered tools"),
    ],
    ids=["unknown-tool", "pinned-registered-tool"],
)
def test_tools_that_cannot_be_listed_are_refused_before_anything_is_posted(
    hume: HumeManagementClient, sent: list[Sent], wanted: WantedTool, registered: list[RegisteredTool], says: str
) -> None:
    with pytest.raises(AsCodeError, match=says):
        make_plan(hume, loaded(config(tools=(wanted,))), registered)
    assert posts(sent) == []
