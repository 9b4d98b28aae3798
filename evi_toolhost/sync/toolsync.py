"""Tools as code: make Hume's tools and a config match the registered handlers.

Each operation is a plan, then its application: `plan_tools` compares every registered tool with the latest
version Hume has under its name, `apply_tools` creates what is missing and versions what changed;
`plan_attach` builds the next version of a config (every setting kept, our tools and webhook added),
`apply_attach` posts it. A dry run prints the plan and applies nothing, so both see the same changes.

A tool's `parameters` are sent as deterministic JSON text (sorted keys, no spaces), and compared with
Hume's as parsed JSON, so formatting never makes a new version; `description` and `fallback_content`
compare as text, with null and "" the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from service.evi.management import HumeManagementClient, ToolVersion
from workers.handlers.registry import RegisteredTool

WEBHOOK_EVENTS = ("chat_started", "chat_ended", "tool_call")


class SyncError(Exception):
    """Hume's state does not allow the operation (a tool never synced, a name used twice, ...)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""The value of a field that is absent on one side of a `Change`."""


@dataclass(frozen=True)
class Change:
    """One field that differs; `field` is dotted for nested JSON (`parameters.properties.city.type`)."""

    field: str
    old: Any
    new: Any


def parameters_text(schema: Mapping[str, Any]) -> str:
    """The JSON Schema as the string Hume stores: the same schema always gives the same text."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def diff(old: Any, new: Any, prefix: str) -> list[Change]:
    """Changes from `old` to `new`, descending into objects; lists and scalars compare whole."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        changes: list[Change] = []
        for key in [*old, *(k for k in new if k not in old)]:
            changes.extend(diff(old.get(key, MISSING), new.get(key, MISSING), f"{prefix}.{key}"))
        return changes
    if old is MISSING and new is MISSING:
        return []
    return [] if _same(old, new) else [Change(prefix, old, new)]


def _same(old: Any, new: Any) -> bool:
    if old is MISSING or new is MISSING:
        return old is new
    if _is_number(old) and _is_number(new):
        return bool(old == new)
    # As JSON, so that true and 1 differ (they are equal in Python).
    return json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- tools -----------------------------------------------------------------------------------------


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


# --- configs ---------------------------------------------------------------------------------------

_RECORD_FIELDS = frozenset({"id", "version", "name", "created_on", "modified_on"})
"""Fields of `return_config` that describe the record, not a setting."""

_PLAIN_OBJECTS: dict[str, tuple[str, ...]] = {
    "ellm_model": ("allow_short_responses",),
    "interruption": ("min_interruption_ms",),
    "language_model": ("model_provider", "model_resource", "temperature"),
    "nudges": ("enabled", "interval_secs"),
    "turn_detection": ("end_of_turn_silence_ms", "prefix_padding_ms", "speech_detection_threshold"),
}
"""Settings whose returned and posted shapes are the same object: the posted keys are copied."""

_NESTED_OBJECTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "event_messages": (("on_new_chat", "on_inactivity_timeout", "on_max_duration_timeout"), ("enabled", "text")),
    "timeouts": (("inactivity", "max_duration"), ("enabled", "duration_secs")),
}
"""Settings made of named sub-objects: (sub-object names, their posted keys)."""

_NOT_NULL = frozenset({"model_provider", "model_resource"})
"""Posted keys that are not nullable: a null returned for them is left out."""

POSTED_CONFIG_FIELDS = frozenset(
    {
        "evi_version",
        "version_description",
        "prompt",
        "voice",
        "tools",
        "builtin_tools",
        "webhooks",
        *_PLAIN_OBJECTS,
        *_NESTED_OBJECTS,
    }
)
"""Every field of `posted_config_version`."""


def _pick(value: Any, keys: Sequence[str], not_null: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    return {key: value[key] for key in keys if key in value and not (key in not_null and value[key] is None)}


def _prompt(value: Any) -> dict[str, Any] | None:
    """`ReturnConfigPrompt` → `posted_config_prompt_spec`: the same prompt by id (pinned to its version
    unless the config follows the latest), or its text when there is no id."""
    if not isinstance(value, Mapping):
        return None
    spec: dict[str, Any] = {}
    if value.get("id"):
        spec["id"] = value["id"]
        if "version" in value and value.get("version_type") != "LATEST":
            spec["version"] = value["version"]
    else:
        spec.update(_pick(value, ("text", "version")) or {})
    expansion = _pick(value.get("prompt_expansion"), ("enabled",), frozenset({"enabled"}))
    if expansion:
        spec["prompt_expansion"] = expansion
    return spec


def _voice(value: Any) -> dict[str, Any] | None:
    """`ReturnVoice` → `VoiceRef`: by id when there is one (`VoiceId`), else by name (`VoiceName`)."""
    if not isinstance(value, Mapping):
        return None
    if value.get("id"):
        spec = {"id": value["id"]}
    elif value.get("name"):
        spec = {"name": value["name"]}
    else:
        return None
    if value.get("provider"):
        spec["provider"] = value["provider"]
    return spec


def _tool_spec(value: Mapping[str, Any]) -> dict[str, Any]:
    """`return_user_defined_tool` → `posted_user_defined_tool_spec`; a tool that follows its latest
    version keeps doing so."""
    if value.get("version_type") == "LATEST" or value.get("version") is None:
        return {"id": value["id"]}
    return {"id": value["id"], "version": value["version"]}


def posted_config_version(returned: Mapping[str, Any]) -> dict[str, Any]:
    """The `posted_config_version` that recreates a `return_config` as it is (record fields left out)."""
    body: dict[str, Any] = {}
    for name, value in returned.items():
        if value is None or name not in POSTED_CONFIG_FIELDS:
            continue
        converted: Any
        if name in ("evi_version", "version_description"):
            converted = value
        elif name == "prompt":
            converted = _prompt(value)
        elif name == "voice":
            converted = _voice(value)
        elif name == "tools":
            converted = [_tool_spec(item) for item in value if isinstance(item, Mapping) and item.get("id")]
        elif name == "builtin_tools":
            converted = [_pick(item, ("name", "fallback_content")) for item in value if isinstance(item, Mapping)]
        elif name == "webhooks":
            converted = [_pick(item, ("url", "events")) for item in value if isinstance(item, Mapping)]
        elif name in _PLAIN_OBJECTS:
            converted = _pick(value, _PLAIN_OBJECTS[name], _NOT_NULL)
        else:
            parts, keys = _NESTED_OBJECTS[name]
            converted = None
            if isinstance(value, Mapping):
                converted = {
                    part: _pick(value[part], keys, frozenset({"enabled"}))
                    for part in parts
                    if isinstance(value.get(part), Mapping)
                }
        if converted is not None:
            body[name] = converted
    return body


def not_carried_over(returned: Mapping[str, Any]) -> list[str]:
    """Settings in the returned config that a posted version cannot express (unknown to this version)."""
    return sorted(
        name
        for name, value in returned.items()
        if value is not None and name not in POSTED_CONFIG_FIELDS and name not in _RECORD_FIELDS
    )


@dataclass(frozen=True)
class AttachPlan:
    config_id: str
    config_name: str | None
    current_version: int
    body: dict[str, Any]
    """The `posted_config_version` to post."""
    changes: tuple[Change, ...]
    tool_labels: dict[str, str] = field(default_factory=dict)
    """Tool id → `name@version` (or `name@latest`), for showing `tools` changes."""
    warnings: tuple[str, ...] = ()

    @property
    def needed(self) -> bool:
        return bool(self.changes)


def latest_config(client: HumeManagementClient, config_id: str) -> dict[str, Any]:
    """The config's version with the highest `version` number, whatever order Hume lists them in."""
    versions = client.list_config_versions(config_id, restrict_to_most_recent=True)
    numbered = [v for v in versions if isinstance(v.get("version"), int)]
    if not numbered:
        raise SyncError(f"config {config_id} has no versions")
    return max(numbered, key=lambda v: int(v["version"]))


def plan_attach(
    client: HumeManagementClient, config_id: str, tools: Sequence[RegisteredTool], webhook_url: str
) -> AttachPlan:
    """The next version of the config: every setting as it is, our tools at their synced versions (other
    tools kept), and `webhook_url` subscribed to every event (other webhooks kept)."""
    tool_plans = plan_tools(client, tools)
    never_synced = [plan.desired.name for plan in tool_plans if plan.action == "create"]
    if never_synced:
        raise SyncError(f"not synced to Hume yet: {', '.join(never_synced)}; run `evi-toolhost tools sync` first")
    ours = [plan.current for plan in tool_plans if plan.current is not None]
    warnings = [
        f"{plan.desired.name} has changes not synced yet ({', '.join(_top_fields(plan.changes))}); "
        f"attaching its synced version {plan.current.version}"
        for plan in tool_plans
        if plan.current is not None and plan.action == "update"
    ]

    current = latest_config(client, config_id)
    dropped = not_carried_over(current)
    if dropped:
        warnings.append(f"config fields this version of evi-toolhost cannot carry over: {', '.join(dropped)}")
    before = posted_config_version(current)
    before.pop("version_description", None)
    if "evi_version" not in before:
        raise SyncError(f"config {config_id} version {current['version']} has no evi_version")

    our_ids = {tool.id for tool in ours}
    labels = {tool.id: f"{tool.name}@{tool.version}" for tool in ours}
    for item in current.get("tools") or []:
        if isinstance(item, Mapping) and item.get("id") and item["id"] not in labels:
            version = "latest" if _tool_spec(item).get("version") is None else item.get("version")
            labels[item["id"]] = f"{item.get('name', item['id'])}@{version}"
    tools_after = [spec for spec in before.get("tools", []) if spec["id"] not in our_ids]
    tools_after += [{"id": tool.id, "version": tool.version} for tool in ours]

    ours_webhook = {"url": webhook_url, "events": list(WEBHOOK_EVENTS)}
    webhooks_after: list[dict[str, Any]] = []
    for hook in before.get("webhooks", []):
        if hook.get("url") != webhook_url:
            webhooks_after.append(hook)
        elif ours_webhook not in webhooks_after:
            webhooks_after.append(ours_webhook)
    if ours_webhook not in webhooks_after:
        webhooks_after.append(ours_webhook)

    after = {**before, "tools": tools_after, "webhooks": webhooks_after}
    changes = tuple(
        Change(name, before.get(name, MISSING), after.get(name, MISSING))
        for name in sorted({*before, *after})
        if not _same(before.get(name, MISSING), after.get(name, MISSING))
    )
    names = ", ".join(f"{tool.name}@{tool.version}" for tool in ours)
    body = {**after, "version_description": f"evi-toolhost: tools {names}; webhook {webhook_url}"}
    return AttachPlan(
        config_id=config_id,
        config_name=current.get("name"),
        current_version=int(current["version"]),
        body=body,
        changes=changes,
        tool_labels=labels,
        warnings=tuple(warnings),
    )


def apply_attach(client: HumeManagementClient, plan: AttachPlan) -> dict[str, Any] | None:
    """Post the new version (the returned config), or None when the config already is as planned."""
    if not plan.needed:
        return None
    return client.create_config_version(plan.config_id, plan.body)


def _top_fields(changes: Sequence[Change]) -> list[str]:
    return sorted({change.field.split(".")[0] for change in changes})


# --- showing changes -------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    if value is MISSING:
        return "(none)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def format_change(change: Change, tool_labels: Mapping[str, str] | None = None) -> str:
    """`field: old → new`; a config's `tools` shown as `name@version`, its `webhooks` by URL and events."""
    if change.field == "tools" and tool_labels is not None:
        old, new = _tools_text(change.old, tool_labels), _tools_text(change.new, tool_labels)
    elif change.field == "webhooks":
        old, new = _webhooks_text(change.old), _webhooks_text(change.new)
    else:
        old, new = format_value(change.old), format_value(change.new)
    return f"{change.field}: {old} → {new}"


def _tools_text(value: Any, labels: Mapping[str, str]) -> str:
    if value is MISSING or not value:
        return "(none)"
    return ", ".join(labels.get(spec["id"], spec["id"]) for spec in value)


def _webhooks_text(value: Any) -> str:
    if value is MISSING or not value:
        return "(none)"
    return ", ".join(f"{hook.get('url')} ({', '.join(hook.get('events', []))})" for hook in value)
