"""The registered tools against Hume's: `plan_tools` compares each with the latest version Hume has under its
name, `apply_tools` creates what is missing and versions what changed.

A tool's `parameters` are sent as deterministic JSON text (sorted keys, no spaces), and compared with Hume's
as parsed JSON, so formatting never makes a new version; `description` and `fallback_content` compare as
text, with null and "" the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evi_toolhost.sync import SyncError
from evi_toolhost.sync.changes import MISSING, Change, diff
from service.evi.management import HumeManagementClient, ToolVersion
from workers.handlers.registry import RegisteredTool


def parameters_text(schema: Mapping[str, Any]) -> str:
    """The JSON Schema as the string Hume stores: the same schema always gives the same text."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class DesiredTool:
    """What Hume should have for a registered tool."""

    name: str
    parameters: str
    description: str | None
    fallback_content: str | None
    origin: str

    @classmethod
    def from_registered(cls, tool: RegisteredTool) -> DesiredTool:
        return cls(
            name=tool.name,
            parameters=parameters_text(tool.parameters_schema()),
            description=tool.description or None,
            fallback_content=tool.fallback or None,
            origin=tool.origin,
        )


ToolAction = Literal["create", "update", "keep"]


@dataclass(frozen=True)
class ToolPlan:
    desired: DesiredTool
    current: ToolVersion | None
    """The latest version at Hume, None when Hume has no tool of that name."""
    changes: tuple[Change, ...] = ()
    """What differs from `current` (from nothing, for a tool to create)."""

    @property
    def action(self) -> ToolAction:
        if self.current is None:
            return "create"
        return "update" if self.changes else "keep"


@dataclass(frozen=True)
class ToolOutcome:
    name: str
    id: str | None
    version: int | None
    action: str
    """created, new version, unchanged; with a dry run: would create, would update, unchanged."""


def find_tool(client: HumeManagementClient, name: str) -> ToolVersion | None:
    """The latest version of the tool named `name` at Hume, or None."""
    latest: dict[str, ToolVersion] = {}
    for found in client.list_tools(name=name):
        if found.name == name and (found.id not in latest or found.version > latest[found.id].version):
            latest[found.id] = found
    if len(latest) > 1:
        raise SyncError(
            f"Hume has {len(latest)} tools named {name!r} ({', '.join(sorted(latest))}); "
            "rename or delete all but one, then sync again"
        )
    return next(iter(latest.values()), None)


def tool_changes(current: ToolVersion, desired: DesiredTool) -> list[Change]:
    """What differs: description and fallback first, then each changed part of the parameters' schema."""
    try:
        old_parameters: Any = json.loads(current.parameters)
    except ValueError:
        old_parameters = current.parameters
    changes: list[Change] = []
    for name in ("description", "fallback_content"):
        old, new = getattr(current, name) or None, getattr(desired, name)
        if old != new:
            changes.append(Change(name, old, new))
    if isinstance(old_parameters, Mapping):
        changes += diff(old_parameters, json.loads(desired.parameters), "parameters")
    elif current.parameters != desired.parameters:
        changes.append(Change("parameters", current.parameters, desired.parameters))
    return changes


def new_tool_fields(desired: DesiredTool) -> list[Change]:
    """The fields a tool is created with, as changes from nothing."""
    values = {
        "description": desired.description,
        "fallback_content": desired.fallback_content,
        "parameters": json.loads(desired.parameters),
    }
    return [Change(name, MISSING, value) for name, value in values.items() if value is not None]


def plan_tools(client: HumeManagementClient, tools: Sequence[RegisteredTool]) -> list[ToolPlan]:
    """For each tool: create it, version it (with the changed fields), or keep it."""
    plans: list[ToolPlan] = []
    for tool in tools:
        desired = DesiredTool.from_registered(tool)
        current = find_tool(client, desired.name)
        changes = tool_changes(current, desired) if current is not None else new_tool_fields(desired)
        plans.append(ToolPlan(desired, current, tuple(changes)))
    return plans


def apply_tools(client: HumeManagementClient, plans: Sequence[ToolPlan], *, dry_run: bool = False) -> list[ToolOutcome]:
    outcomes: list[ToolOutcome] = []
    for plan in plans:
        desired, current = plan.desired, plan.current
        body: dict[str, Any] = {
            "parameters": desired.parameters,
            "description": desired.description,
            "fallback_content": desired.fallback_content,
        }
        if current is None:
            if dry_run:
                outcomes.append(ToolOutcome(desired.name, None, None, "would create"))
                continue
            created = client.create_tool(
                {"name": desired.name, **body, "version_description": f"evi-toolhost: from {desired.origin}"}
            )
            outcomes.append(ToolOutcome(desired.name, created.id, created.version, "created"))
        elif plan.action == "update":
            if dry_run:
                outcomes.append(ToolOutcome(desired.name, current.id, current.version, "would update"))
                continue
            changed = ", ".join(sorted({change.field.split(".")[0] for change in plan.changes}))
            body["version_description"] = f"evi-toolhost: {changed} changed in {desired.origin}"
            added = client.create_tool_version(current.id, body)
            outcomes.append(ToolOutcome(desired.name, added.id, added.version, "new version"))
        else:
            outcomes.append(ToolOutcome(desired.name, current.id, current.version, "unchanged"))
    return outcomes


def sync_tools(
    client: HumeManagementClient, tools: Sequence[RegisteredTool], *, dry_run: bool = False
) -> tuple[list[ToolPlan], list[ToolOutcome]]:
    plans = plan_tools(client, tools)
    return plans, apply_tools(client, plans, dry_run=dry_run)
