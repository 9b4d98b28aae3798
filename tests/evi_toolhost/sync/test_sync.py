"""`sync_tools` against the simulator: create what is missing, version only what changed, dry runs that
change nothing, and Hume's refusals raised as one readable line."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import pytest
from pydantic import Field

from evi_toolhost.sync.changes import MISSING, Change, format_change
from evi_toolhost.sync.tools import parameters_text, sync_tools
from service.evi.management import HumeApiError, HumeManagementClient
from tests.support.hume_api import Sent, assert_posted_bodies_match_spec, posts, tools_by_name
from workers.handlers.registry import RegisteredTool, Registry


def forecast_v1(city: str, days: int = 3) -> str:
    """Weather forecast for a city.

    Args:
        city: The city, e.g. "Paris".
    """
    return city


def forecast_new_docstring(city: str, days: int = 3) -> str:
    """Weather forecast for a city, day by day.

    Args:
        city: The city, e.g. "Paris".
    """
    return city


def forecast_new_parameter(city: str, days: int = 3, hourly: bool = False) -> str:
    """Weather forecast for a city.

    Args:
        city: The city, e.g. "Paris".
    """
    return city


def forecast_new_constraint(city: str, days: Annotated[int, Field(ge=1, le=7)] = 3) -> str:
    """Weather forecast for a city.

    Args:
        city: The city, e.g. "Paris".
    """
    return city


def order_status(order_id: str) -> str:
    """Where an order is."""
    return order_id


def registry_with(forecast: Callable[..., Any], *, fallback: str = "No forecast right now.") -> list[RegisteredTool]:
    """A fresh registry holding `forecast` (as tool "forecast") and "order_status": one version of the code."""
    registry = Registry()
    registry.tool(name="forecast", fallback=fallback)(forecast)
    registry.tool(order_status)
    return registry.tools()


def actions(outcomes: list[Any]) -> dict[str, str]:
    return {outcome.name: outcome.action for outcome in outcomes}


def test_first_sync_creates_every_tool_with_the_registered_definition(
    hume: HumeManagementClient, api: httpx.Client, sent: list[Sent]
) -> None:
    tools = registry_with(forecast_v1)
    _, outcomes = sync_tools(hume, tools)

    assert actions(outcomes) == {"forecast": "created", "order_status": "created"}
    at_hume = tools_by_name(api)
    assert sorted(at_hume) == ["forecast", "order_status"]
    [forecast] = at_hume["forecast"]
    assert forecast["version"] == 0
    assert forecast["parameters"] == parameters_text(tools[0].parameters_schema())
    assert json.loads(forecast["parameters"])["required"] == ["city"]
    assert forecast["description"] == "Weather forecast for a city."
    assert forecast["fallback_content"] == "No forecast right now."
    assert {(o.id, o.version) for o in outcomes} == {(v[0]["id"], 0) for v in at_hume.values()}
    assert_posted_bodies_match_spec(sent)


def test_second_sync_of_the_same_code_changes_nothing(
    hume: HumeManagementClient, api: httpx.Client, sent: list[Sent]
) -> None:
    sync_tools(hume, registry_with(forecast_v1))
    before = tools_by_name(api)
    del sent[:]

    _, outcomes = sync_tools(hume, registry_with(forecast_v1))

    assert actions(outcomes) == {"forecast": "unchanged", "order_status": "unchanged"}
    assert posts(sent) == []
    assert tools_by_name(api) == before


def test_what_the_caller_hears_and_what_stops_a_call_are_not_sent_to_hume(
    hume: HumeManagementClient, api: httpx.Client, sent: list[Sent]
) -> None:
    sync_tools(hume, registry_with(forecast_v1))
    del sent[:]
    registry = Registry()
    registry.tool(
        name="forecast",
        fallback="No forecast right now.",
        say_on_start="One moment.",
        say_if_slow=["Still checking."],
        slow_after=1,
        on_chat_end="finish",
        cancel_on_interrupt=True,
    )(forecast_v1)
    registry.tool(background=True, ack="Looking.", announce=False)(order_status)
    _, outcomes = sync_tools(hume, registry.tools())
    assert actions(outcomes) == {"forecast": "unchanged", "order_status": "unchanged"}
    assert posts(sent) == []


def test_parameters_text_is_the_same_for_the_same_code() -> None:
    first, second = registry_with(forecast_v1)[0], registry_with(forecast_v1)[0]
    text = parameters_text(first.parameters_schema())
    assert text == parameters_text(second.parameters_schema())
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize(
    ("changed", "fields"),
    [
        (forecast_new_docstring, {"description"}),
        (forecast_new_parameter, {"parameters"}),
        (forecast_new_constraint, {"parameters"}),
    ],
    ids=["docstring", "new parameter", "constraint"],
)
def test_a_change_makes_exactly_one_new_version_of_that_tool_only(
    hume: HumeManagementClient,
    api: httpx.Client,
    sent: list[Sent],
    changed: Callable[..., Any],
    fields: set[str],
) -> None:
    sync_tools(hume, registry_with(forecast_v1))
    before = tools_by_name(api)

    plans, outcomes = sync_tools(hume, registry_with(changed))

    assert actions(outcomes) == {"forecast": "new version", "order_status": "unchanged"}
    after = tools_by_name(api)
    assert after["order_status"] == before["order_status"]
    assert [v["version"] for v in after["forecast"]] == [0, 1]
    assert {change.field.split(".")[0] for change in plans[0].changes} == fields
    new = after["forecast"][1]
    assert new["parameters"] == parameters_text(registry_with(changed)[0].parameters_schema())
    assert "changed in" in new["version_description"]
    assert_posted_bodies_match_spec(sent)

    _, again = sync_tools(hume, registry_with(changed))
    assert actions(again) == {"forecast": "unchanged", "order_status": "unchanged"}
    assert [v["version"] for v in tools_by_name(api)["forecast"]] == [0, 1]


def test_a_changed_fallback_is_a_new_version(hume: HumeManagementClient, api: httpx.Client) -> None:
    sync_tools(hume, registry_with(forecast_v1))
    plans, outcomes = sync_tools(hume, registry_with(forecast_v1, fallback="Try again later."))
    assert actions(outcomes)["forecast"] == "new version"
    assert plans[0].changes == (Change("fallback_content", "No forecast right now.", "Try again later."),)
    assert tools_by_name(api)["forecast"][-1]["fallback_content"] == "Try again later."


def test_parameters_are_compared_as_json_not_as_text(hume: HumeManagementClient, api: httpx.Client) -> None:
    tool = registry_with(forecast_v1)[0]
    reformatted = json.dumps(tool.parameters_schema(), indent=2)  # other key order and spacing
    created = api.post(
        "/v0/evi/tools",
        json={
            "name": "forecast",
            "parameters": reformatted,
            "description": tool.description,
            "fallback_content": tool.fallback,
        },
    )
    assert created.status_code == 201

    _, outcomes = sync_tools(hume, [tool])

    assert actions(outcomes) == {"forecast": "unchanged"}
    assert [v["parameters"] for v in tools_by_name(api)["forecast"]] == [reformatted]


def test_dry_run_shows_each_changed_field_and_changes_nothing(
    hume: HumeManagementClient, api: httpx.Client, sent: list[Sent]
) -> None:
    sync_tools(hume, registry_with(forecast_v1))
    before = tools_by_name(api)
    del sent[:]

    plans, outcomes = sync_tools(hume, registry_with(forecast_new_parameter), dry_run=True)

    assert actions(outcomes) == {"forecast": "would update", "order_status": "unchanged"}
    assert posts(sent) == []
    assert tools_by_name(api) == before
    lines = [format_change(change) for change in plans[0].changes]
    assert lines == [
        'parameters.properties.hourly: (none) → {"default":false,"type":"boolean"}',
    ]


def test_dry_run_of_a_new_tool_shows_what_it_would_be_created_with(
    hume: HumeManagementClient, api: httpx.Client, sent: list[Sent]
) -> None:
    plans, outcomes = sync_tools(hume, registry_with(forecast_v1), dry_run=True)

    assert actions(outcomes) == {"forecast": "would create", "order_status": "would create"}
    assert [(o.id, o.version) for o in outcomes] == [(None, None), (None, None)]
    assert posts(sent) == [] and tools_by_name(api) == {}
    fields = {change.field: change for change in plans[1].changes}
    assert sorted(fields) == ["description", "parameters"]
    assert format_change(fields["description"]) == 'description: (none) → "Where an order is."'
    assert fields["parameters"].old is MISSING


def test_hume_refusing_a_tool_is_one_readable_line(hume: HumeManagementClient, api: httpx.Client) -> None:
    nameless = dataclasses.replace(registry_with(forecast_v1)[0], name="")

    with pytest.raises(HumeApiError) as caught:
        sync_tools(hume, [nameless])

    assert caught.value.status == 422
    assert str(caught.value) == (
        "Hume API error 422 on POST /v0/evi/tools: body.name: String should have at least 1 character"
    )
    assert tools_by_name(api) == {}
