"""A plan carried out: tools first (as `tools sync` does), then prompts, then the configs that list them at the
versions just made. Nothing is posted for what the plan keeps, so applying a file twice posts nothing the
second time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evi_toolhost.as_code.evi_file import merged
from evi_toolhost.as_code.plan import ConfigPlan, Plan, PromptPlan, Ref
from evi_toolhost.sync.tools import apply_tools
from service.evi.management import HumeManagementClient

VERBS = {"create": "created", "update": "new version", "keep": "unchanged"}


@dataclass(frozen=True)
class Outcome:
    kind: str
    name: str
    id: str
    version: int
    action: str
    """created, new version, unchanged."""


def _description(fields: list[str]) -> str:
    return f"evi-toolhost apply: {', '.join(fields)}" if fields else "evi-toolhost apply"


def _apply_prompt(client: HumeManagementClient, plan: PromptPlan) -> Outcome:
    desired, current = plan.desired, plan.current
    body = {"text": desired.text, "version_description": _description(["text"])}
    if current is None:
        made = client.create_prompt({"name": desired.name, **body})
    elif plan.action == "update":
        made = client.create_prompt_version(str(current["id"]), body)
    else:
        made = dict(current)
    return Outcome("prompt", desired.name, str(made["id"]), int(made["version"]), VERBS[plan.action])


def _resolved(ref: Ref, made: dict[tuple[str, str], Outcome], kind: str) -> dict[str, Any]:
    if ref.version is not None and ref.id is not None:
        return {"id": ref.id, "version": ref.version}
    outcome = made[(kind, ref.name)]
    return {"id": outcome.id, "version": outcome.version}


def config_body(plan: ConfigPlan, made: dict[tuple[str, str], Outcome]) -> dict[str, Any]:
    """The `posted_config` (or `posted_config_version`): the current settings, the file's over them."""
    desired = plan.desired
    body: dict[str, Any] = dict(plan.base)
    body["evi_version"] = desired.evi_version
    for name, declared in desired.settings.items():
        keeps_shape = name in ("voice", "builtin_tools", "webhooks") or not isinstance(body.get(name), dict)
        body[name] = declared if keeps_shape else merged(body[name], declared)
    if plan.prompt is not None:
        body["prompt"] = _resolved(plan.prompt, made, "prompt")
    if plan.tools is not None:
        body["tools"] = [_resolved(ref, made, "tool") for ref in plan.tools]
    body["version_description"] = _description(sorted({change.field.split(".")[0] for change in plan.changes}))
    if plan.current is None:
        body["name"] = desired.name
    return body


def _apply_config(client: HumeManagementClient, plan: ConfigPlan, made: dict[tuple[str, str], Outcome]) -> Outcome:
    current = plan.current
    if current is None:
        answer = client.create_config(config_body(plan, made))
    elif plan.action == "update":
        answer = client.create_config_version(str(current["id"]), config_body(plan, made))
    else:
        answer = dict(current)
    return Outcome("config", plan.desired.name, str(answer["id"]), int(answer["version"]), VERBS[plan.action])


def apply_plan(client: HumeManagementClient, plan: Plan) -> list[Outcome]:
    """Carry out the plan; one outcome per tool, prompt and config, in that order."""
    outcomes = [
        Outcome("tool", tool.name, tool.id or "", tool.version or 0, tool.action)
        for tool in apply_tools(client, plan.tools)
    ]
    made = {(outcome.kind, outcome.name): outcome for outcome in outcomes}
    for prompt in plan.prompts:
        outcome = _apply_prompt(client, prompt)
        made[("prompt", outcome.name)] = outcome
        outcomes.append(outcome)
    outcomes += [_apply_config(client, config, made) for config in plan.configs]
    return outcomes
