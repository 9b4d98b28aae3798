"""The file against Hume: for each tool, prompt and config, whether to create it, add a version or keep it, and
what differs field by field. `apply` carries out exactly this plan, so what `plan` prints is what `apply` does.

Records are found at Hume by name. A prompt gets a version when its text differs from the latest version's. A
config gets a version when a field the file declares differs (a setting it does not declare is kept as it
is), or when a prompt or tool it references gets one: a config lists each at a fixed version, so a new version
of either is a new version of the config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evi_toolhost.as_code import AsCodeError
from evi_toolhost.as_code.evi_file import DesiredConfig, DesiredPrompt, LoadedFile, WantedTool, merged
from evi_toolhost.sync.changes import MISSING, Change, diff, same
from evi_toolhost.sync.config_shape import posted_config_version
from evi_toolhost.sync.tools import ToolPlan, find_tool, plan_tools
from service.evi.management import HumeApiError, HumeManagementClient
from workers.handlers.registry import RegisteredTool

Action = Literal["create", "update", "keep"]


@dataclass(frozen=True)
class Ref:
    """A prompt or tool as a config lists it; `version` None: the version this apply makes."""

    name: str
    id: str | None
    version: int | None

    @property
    def label(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        return f"{self.name}@{'new' if self.id is None else 'next'}"

    def same(self, other: Ref | None) -> bool:
        return other is not None and self.version is not None and (self.id, self.version) == (other.id, other.version)


@dataclass(frozen=True)
class PromptPlan:
    desired: DesiredPrompt
    current: Mapping[str, Any] | None
    """The latest version at Hume (`return_prompt`), None when Hume has no prompt of that name."""

    @property
    def action(self) -> Action:
        if self.current is None:
            return "create"
        return "keep" if self.current.get("text") == self.desired.text else "update"

    @property
    def ref(self) -> Ref:
        current = self.current
        if current is None:
            return Ref(self.desired.name, None, None)
        return Ref(self.desired.name, str(current["id"]), int(current["version"]) if self.action == "keep" else None)


@dataclass(frozen=True)
class ConfigPlan:
    desired: DesiredConfig
    current: Mapping[str, Any] | None
    """The latest version at Hume (`return_config`), None when Hume has no config of that name."""
    base: dict[str, Any]
    """The current version as a `posted_config_version` (empty for a new config): what a new version keeps."""
    changes: tuple[Change, ...]
    prompt: Ref | None
    tools: tuple[Ref, ...] | None

    @property
    def action(self) -> Action:
        if self.current is None:
            return "create"
        return "update" if self.changes else "keep"


@dataclass(frozen=True)
class Plan:
    tools: tuple[ToolPlan, ...]
    prompts: tuple[PromptPlan, ...]
    configs: tuple[ConfigPlan, ...]

    def count(self, action: Action) -> int:
        plans: Sequence[ToolPlan | PromptPlan | ConfigPlan] = [*self.tools, *self.prompts, *self.configs]
        return sum(plan.action == action for plan in plans)

    @property
    def needed(self) -> bool:
        return self.count("create") + self.count("update") > 0


def _latest_named(items: list[dict[str, Any]], name: str, kind: str) -> dict[str, Any] | None:
    latest: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.get("name") == name and isinstance(item.get("version"), int):
            known = latest.get(str(item["id"]))
            if known is None or item["version"] > known["version"]:
                latest[str(item["id"])] = item
    if len(latest) > 1:
        raise AsCodeError(f"Hume has {len(latest)} {kind}s named {name!r} ({', '.join(sorted(latest))}); keep one")
    return next(iter(latest.values()), None)


def _tool_refs(
    client: HumeManagementClient, config: DesiredConfig, tool_plans: Mapping[str, ToolPlan]
) -> tuple[Ref, ...] | None:
    if config.tools is None:
        return None
    return tuple(_tool_ref(client, config, wanted, tool_plans) for wanted in config.tools)


def _tool_ref(
    client: HumeManagementClient, config: DesiredConfig, wanted: WantedTool, tool_plans: Mapping[str, ToolPlan]
) -> Ref:
    ours = tool_plans.get(wanted.name)
    if ours is not None:
        if wanted.version is not None:
            raise AsCodeError(
                f"config {config.key}: {wanted.name} is one of your registered tools, listed at the version apply "
                "syncs; drop its version"
            )
        if ours.current is None:
            return Ref(wanted.name, None, None)
        return Ref(wanted.name, ours.current.id, ours.current.version if ours.action == "keep" else None)
    found = find_tool(client, wanted.name)
    if found is None:
        raise AsCodeError(
            f"config {config.key}: no tool {wanted.name!r}: no registered tool has that name (tool_modules, "
            "TOOL_MODULES) and Hume has none"
        )
    if wanted.version is None:
        return Ref(wanted.name, found.id, found.version)
    try:
        pinned = client.get_tool_version(found.id, wanted.version)
    except HumeApiError as exc:
        raise AsCodeError(f"config {config.key}: tool {wanted.name} version {wanted.version}: {exc}") from None
    return Ref(wanted.name, pinned.id, pinned.version)


def _current_refs(current: Mapping[str, Any]) -> tuple[Ref | None, tuple[Ref, ...]]:
    prompt = current.get("prompt")
    prompt_ref = Ref(str(prompt["name"]), str(prompt["id"]), int(prompt["version"])) if prompt else None
    tools = tuple(
        Ref(str(tool["name"]), str(tool["id"]), int(tool["version"]))
        for tool in current.get("tools") or []
        if isinstance(tool, Mapping)
    )
    return prompt_ref, tools


def _labels(refs: Sequence[Ref]) -> list[str]:
    return [ref.label for ref in refs]


def _current_setting(name: str, current: Mapping[str, Any], base: Mapping[str, Any], declared: Any) -> Any:
    """The current value of a declared setting, in the shape the file declares it."""
    if name == "voice":
        voice = current.get("voice")
        return {key: voice.get(key) for key in declared} if isinstance(voice, Mapping) else MISSING
    if name == "builtin_tools":
        return [
            {"name": tool.get("name"), "fallback_content": tool.get("fallback_content")}
            for tool in current.get("builtin_tools") or []
            if isinstance(tool, Mapping)
        ]
    if name == "webhooks":
        return [{"url": hook.get("url"), "events": hook.get("events")} for hook in base.get("webhooks", [])]
    return base.get(name, MISSING)


def _setting_changes(name: str, have: Any, declared: Any) -> list[Change]:
    if name == "webhooks":
        normal = [{**hook, "events": sorted(hook["events"])} for hook in declared]
        old = [{**hook, "events": sorted(hook.get("events") or [])} for hook in have]
        return [] if same(old, normal) else [Change(name, have, declared)]
    if name in ("voice", "builtin_tools") or not isinstance(have, Mapping):
        return [] if same(have, declared) else [Change(name, have, declared)]
    return diff(have, merged(have, declared), name)


def plan_config(
    client: HumeManagementClient,
    config: DesiredConfig,
    prompt_plans: Mapping[str, PromptPlan],
    tool_plans: Mapping[str, ToolPlan],
) -> ConfigPlan:
    current = _latest_named(client.list_configs(name=config.name), config.name, "config")
    prompt = prompt_plans[config.prompt_key].ref if config.prompt_key is not None else None
    tools = _tool_refs(client, config, tool_plans)
    if current is None:
        changes = [Change("evi_version", MISSING, config.evi_version)]
        if prompt is not None:
            changes.append(Change("prompt", MISSING, prompt.label))
        changes += [Change(name, MISSING, value) for name, value in config.settings.items()]
        if tools is not None:
            changes.append(Change("tools", MISSING, _labels(tools)))
        return ConfigPlan(config, None, {}, tuple(changes), prompt, tools)

    base = posted_config_version(current)
    base.pop("version_description", None)
    current_prompt, current_tools = _current_refs(current)
    changes = []
    if current.get("evi_version") != config.evi_version:
        changes.append(Change("evi_version", current.get("evi_version", MISSING), config.evi_version))
    if prompt is not None and not prompt.same(current_prompt):
        changes.append(Change("prompt", current_prompt.label if current_prompt else MISSING, prompt.label))
    for name, declared in config.settings.items():
        changes += _setting_changes(name, _current_setting(name, current, base, declared), declared)
    if tools is not None and not (
        len(tools) == len(current_tools) and all(a.same(b) for a, b in zip(tools, current_tools, strict=True))
    ):
        changes.append(Change("tools", _labels(current_tools), _labels(tools)))
    return ConfigPlan(config, current, base, tuple(changes), prompt, tools)


def make_plan(client: HumeManagementClient, loaded: LoadedFile, registered: Sequence[RegisteredTool]) -> Plan:
    """Hume's state read and compared with the file; nothing is changed."""
    tools = tuple(plan_tools(client, registered))
    prompts = {
        key: PromptPlan(desired, _latest_named(client.list_prompts(name=desired.name), desired.name, "prompt"))
        for key, desired in loaded.prompts.items()
    }
    by_name = {plan.desired.name: plan for plan in tools}
    configs = tuple(plan_config(client, config, prompts, by_name) for config in loaded.configs)
    return Plan(tools, tuple(prompts.values()), configs)
