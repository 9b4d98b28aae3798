"""A config as Hume returns it (`return_config`) turned back into the `posted_config_version` that recreates it,
so a new version keeps every setting it does not mean to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
