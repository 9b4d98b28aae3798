"""`evi.yaml`: its shape, and loading it for one environment into what Hume should have.

```yaml
tool_modules: [myco.tools]            # handler modules whose @tool functions apply syncs (plus TOOL_MODULES)
prompts:
  support:                            # a key of this file; Hume's name is `name`, else the key
    text: |
      You are a friendly support agent.
configs:
  support-bot:
    evi_version: "3"
    prompt: support                   # a key of `prompts`
    voice: {name: Kora, provider: HUME_AI}
    tools: [get_forecast]             # by name: ours (synced by apply) or one Hume has; {name, version} pins
    builtin_tools: [web_search]
    webhooks: [{url: "https://HOST/hume-webhook", events: [chat_started, chat_ended, tool_call]}]
    # language_model, ellm_model, event_messages, timeouts, nudges, interruption, turn_detection: as Hume's API
environments:
  staging:                            # merged over the rest with --env staging (mappings deep, lists replaced)
    configs:
      support-bot: {name: support-bot-staging}
```

A setting the file does not declare is left as it is at Hume. The settings are checked with Hume's own rules
(`service.evi.config_rules`); every error names the file, the line and the field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evi_toolhost.as_code import AsCodeError
from evi_toolhost.as_code.yaml_lines import line_of
from service.evi.config_rules import (
    FORBID_UNKNOWN_KEYS,
    BuiltinToolSpec,
    EllmModel,
    EventMessages,
    EviVersion,
    Interruption,
    LanguageModel,
    Nudges,
    Timeouts,
    TurnDetection,
    VoiceRef,
    WebhookSpec,
)
from service.evi.messages import BuiltInTool

DEFAULT_FILE = "evi.yaml"
SETTINGS = (
    "voice",
    "language_model",
    "ellm_model",
    "event_messages",
    "timeouts",
    "nudges",
    "interruption",
    "turn_detection",
    "builtin_tools",
    "webhooks",
)
"""The config fields the file declares as Hume's API has them (besides evi_version, prompt and tools)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptEntry(_Strict):
    name: str | None = Field(default=None, min_length=1)
    text: str = Field(min_length=1)


class PinnedTool(_Strict):
    name: str = Field(min_length=1)
    version: int = Field(ge=0)


class ConfigEntry(_Strict):
    name: str | None = Field(default=None, min_length=1)
    evi_version: EviVersion
    prompt: str | None = None
    voice: VoiceRef | None = None
    language_model: LanguageModel | None = None
    ellm_model: EllmModel | None = None
    event_messages: EventMessages | None = None
    timeouts: Timeouts | None = None
    nudges: Nudges | None = None
    interruption: Interruption | None = None
    turn_detection: TurnDetection | None = None
    builtin_tools: list[BuiltInTool | BuiltinToolSpec] | None = None
    tools: list[str | PinnedTool] | None = None
    webhooks: list[WebhookSpec] | None = None


class Overrides(_Strict):
    tool_modules: list[str] | None = None
    prompts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = Field(default_factory=dict)


class EviFile(_Strict):
    tool_modules: list[str] = Field(default_factory=list)
    prompts: dict[str, PromptEntry] = Field(default_factory=dict)
    configs: dict[str, ConfigEntry] = Field(default_factory=dict)
    environments: dict[str, Overrides] = Field(default_factory=dict)


@dataclass(frozen=True)
class WantedTool:
    name: str
    version: int | None = None
    """Pinned to this version of a tool Hume has; None: ours at its synced version, or Hume's latest."""


@dataclass(frozen=True)
class DesiredPrompt:
    key: str
    name: str
    text: str


@dataclass(frozen=True)
class DesiredConfig:
    key: str
    name: str
    evi_version: str
    prompt_key: str | None
    settings: dict[str, Any]
    """Only the settings the file declares, in the shape Hume's API posts them."""
    tools: tuple[WantedTool, ...] | None
    """None: the file does not manage the config's tools."""


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    environment: str | None
    tool_modules: tuple[str, ...]
    prompts: dict[str, DesiredPrompt] = field(default_factory=dict)
    configs: tuple[DesiredConfig, ...] = ()


def merged(base: Any, override: Any) -> Any:
    """`override` over `base`: mappings merged key by key, anything else replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        result = dict(base)
        for key, value in override.items():
            result[key] = merged(base[key], value) if key in base else copy.deepcopy(value)
        return result
    return copy.deepcopy(override)


def load_file(path: str | Path, environment: str | None = None) -> LoadedFile:
    """The file for `environment` (None: without environment overrides), checked; AsCodeError says what is wrong."""
    location = Path(path)
    try:
        text = location.read_text(encoding="utf-8")
    except OSError as exc:
        raise AsCodeError(f"cannot read {location}: {exc.strerror or exc}") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{location}:{mark.line + 1}" if mark is not None else str(location)
        raise AsCodeError(f"{where}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise AsCodeError(f"{location}: not valid YAML: {exc}") from None
    data = {} if data is None else data
    errors = _Errors(location, root)
    checked = errors.validate(data)
    chosen = _for_environment(data, checked, environment, errors)
    return _desired(location, environment, chosen, errors)


class _Errors:
    """Validation errors as `FILE:LINE: field.path: message` lines, the line found in the YAML text."""

    def __init__(self, path: Path, root: yaml.Node | None) -> None:
        self.path = path
        self.root = root

    def fail(self, problems: list[tuple[list[str | int], str]]) -> AsCodeError:
        """One line per problem, in the file's order."""
        located = [(line_of(self.root, loc) or 0, loc, message) for loc, message in problems]
        located.sort(key=lambda problem: problem[0])
        lines = [
            f"{self.path}:{line}: {'.'.join(map(str, loc)) or '(top)'}: {message}"
            if line
            else f"{self.path}: {'.'.join(map(str, loc)) or '(top)'}: {message}"
            for line, loc, message in located
        ]
        return AsCodeError("\n".join(lines))

    def from_pydantic(self, exc: ValidationError, prefix: list[str | int] | None = None) -> AsCodeError:
        problems: list[tuple[list[str | int], str]] = []
        for error in exc.errors(include_url=False, include_input=False):
            loc: list[str | int] = [*(prefix or []), *error["loc"]]
            loc = [part for part in loc if not _is_union_tag(part)]
            if error["type"] == "unknown_field":
                loc.append(str((error.get("ctx") or {}).get("field", "")))
            problems.append((loc, error["msg"]))
        return self.fail(problems)

    def validate(self, data: Any) -> EviFile:
        try:
            return EviFile.model_validate(data, context={FORBID_UNKNOWN_KEYS: True})
        except ValidationError as exc:
            raise self.from_pydantic(exc) from None


def _is_union_tag(part: str | int) -> bool:
    """pydantic names the union member it tried (`str`, `PinnedTool`, `function-after[...]`): not a field."""
    return isinstance(part, str) and (part in ("str", "int") or part[:1].isupper() or "[" in part)


def _for_environment(data: dict[str, Any], checked: EviFile, environment: str | None, errors: _Errors) -> EviFile:
    if environment is None:
        return checked
    if environment not in checked.environments:
        known = ", ".join(sorted(checked.environments)) or "none"
        raise errors.fail([(["environments"], f"no environment {environment!r} (the file has: {known})")])
    override = {key: value for key, value in data["environments"][environment].items() if value is not None}
    base = {key: value for key, value in data.items() if key != "environments"}
    try:
        return EviFile.model_validate(merged(base, override), context={FORBID_UNKNOWN_KEYS: True})
    except ValidationError as exc:
        raise _environment_errors(exc, environment, errors) from None


def _environment_errors(exc: ValidationError, environment: str, errors: _Errors) -> AsCodeError:
    """Each error at the environment's line for the field when it sets it, else at the base file's line."""
    problems: list[tuple[list[str | int], str]] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [part for part in error["loc"] if not _is_union_tag(part)]
        if error["type"] == "unknown_field":
            loc.append(str((error.get("ctx") or {}).get("field", "")))
        in_environment = ["environments", environment, *loc]
        if _sets(errors.root, in_environment):
            problems.append((in_environment, error["msg"]))
        else:
            problems.append((loc, f"{error['msg']} (with environment {environment})"))
    return errors.fail(problems)


def _sets(root: yaml.Node | None, path: list[str | int]) -> bool:
    """Whether the YAML has a node at exactly this path."""
    node = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return False
        if node is None:
            return False
    return True


def _settings(entry: ConfigEntry) -> dict[str, Any]:
    declared: dict[str, Any] = {}
    for name in SETTINGS:
        value = getattr(entry, name)
        if value is None:
            continue
        if name == "voice":
            declared[name] = value.model_dump(mode="json", exclude_none=True)
        elif name == "builtin_tools":
            declared[name] = [
                {"name": item.value, "fallback_content": None}
                if isinstance(item, BuiltInTool)
                else {"name": item.name.value, "fallback_content": item.fallback_content}
                for item in value
            ]
        elif name == "webhooks":
            declared[name] = [hook.model_dump(mode="json") for hook in value]
        else:
            declared[name] = value.model_dump(mode="json", exclude_unset=True)
    return declared


def _desired(path: Path, environment: str | None, checked: EviFile, errors: _Errors) -> LoadedFile:
    prompts = {key: DesiredPrompt(key, entry.name or key, entry.text) for key, entry in checked.prompts.items()}
    problems: list[tuple[list[str | int], str]] = []
    configs: list[DesiredConfig] = []
    for key, entry in checked.configs.items():
        if entry.prompt is not None and entry.prompt not in prompts:
            known = ", ".join(prompts) or "none"
            problems.append((["configs", key, "prompt"], f"no prompt {entry.prompt!r} in this file (it has: {known})"))
        tools = None
        if entry.tools is not None:
            tools = tuple(
                WantedTool(item) if isinstance(item, str) else WantedTool(item.name, item.version)
                for item in entry.tools
            )
        configs.append(DesiredConfig(key, entry.name or key, entry.evi_version, entry.prompt, _settings(entry), tools))
    for kind, names in (("prompt", [p.name for p in prompts.values()]), ("config", [c.name for c in configs])):
        for name in sorted({name for name in names if names.count(name) > 1}):
            problems.append(([f"{kind}s"], f"two {kind}s are named {name!r} at Hume; names must differ"))
    if problems:
        raise errors.fail(problems)
    return LoadedFile(path, environment, tuple(checked.tool_modules), prompts, tuple(configs))
