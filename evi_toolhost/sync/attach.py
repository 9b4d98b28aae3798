"""`config attach`: the next version of a config, keeping every setting, listing our tools at their synced
versions (other tools kept) and subscribing our webhook to every event (other webhooks kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evi_toolhost.sync import SyncError
from evi_toolhost.sync.changes import MISSING, Change, format_change, same
from evi_toolhost.sync.config_shape import not_carried_over, posted_config_version
from evi_toolhost.sync.tools import plan_tools
from service.evi.management import HumeManagementClient
from workers.handlers.registry import RegisteredTool

WEBHOOK_EVENTS = ("chat_started", "chat_ended", "tool_call")


@dataclass(frozen=True)
class AttachPlan:
    config_id: str
    config_name: str | None
    current_version: int
    body: dict[str, Any]
    """The `posted_config_version` to post."""
    changes: tuple[Change, ...]
    tool_names: dict[str, str] = field(default_factory=dict)
    """Tool id → name, for showing `tools` changes."""
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
    tool_names = {tool.id: tool.name for tool in ours}
    for item in current.get("tools") or []:
        if isinstance(item, Mapping) and item.get("id") and item["id"] not in tool_names:
            tool_names[item["id"]] = str(item.get("name", item["id"]))
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
        if not same(before.get(name, MISSING), after.get(name, MISSING))
    )
    names = ", ".join(f"{tool.name}@{tool.version}" for tool in ours)
    body = {**after, "version_description": f"evi-toolhost: tools {names}; webhook {webhook_url}"}
    return AttachPlan(
        config_id=config_id,
        config_name=current.get("name"),
        current_version=int(current["version"]),
        body=body,
        changes=changes,
        tool_names=tool_names,
        warnings=tuple(warnings),
    )


def apply_attach(client: HumeManagementClient, plan: AttachPlan) -> dict[str, Any] | None:
    """Post the new version (the returned config), or None when the config already is as planned."""
    if not plan.needed:
        return None
    return client.create_config_version(plan.config_id, plan.body)


def _top_fields(changes: Sequence[Change]) -> list[str]:
    return sorted({change.field.split(".")[0] for change in changes})


def format_attach_change(change: Change, tool_names: Mapping[str, str]) -> str:
    """A config's `tools` shown as `name@version` (each spec by its own version), its `webhooks` by URL and
    events, anything else as JSON."""
    if change.field == "tools":
        return f"tools: {_tools_text(change.old, tool_names)} → {_tools_text(change.new, tool_names)}"
    if change.field == "webhooks":
        return f"webhooks: {_webhooks_text(change.old)} → {_webhooks_text(change.new)}"
    return format_change(change)


def _tools_text(value: Any, names: Mapping[str, str]) -> str:
    """Each `posted_user_defined_tool_spec` as `name@version`, or `name@latest` when it follows the latest."""
    if value is MISSING or not value:
        return "(none)"
    labels = (f"{names.get(spec['id'], spec['id'])}@{spec.get('version', 'latest')}" for spec in value)
    return ", ".join(labels)


def _webhooks_text(value: Any) -> str:
    if value is MISSING or not value:
        return "(none)"
    return ", ".join(f"{hook.get('url')} ({', '.join(hook.get('events', []))})" for hook in value)
