"""A posted config version checked against what it references, then stored the way Hume keeps it.

- `prompt {id, version?}` must exist (`version` omitted: the config follows the prompt's latest version);
  `prompt {text}` stores the text as a new version of the config's own prompt, `"{config name} prompt"`.
- `voice` must be in the voice library under its provider (`voices`); the config keeps the voice's id.
- `tools` must exist (a version, or any); built-in tools and webhook events must be known names.
- Every setting the version was posted without gets Hume's default (`SETTINGS_DEFAULTS`), except
  `ellm_model`, which a new version inherits from the previous one.

A reference that does not resolve is a 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evi_toolhost.simulator.catalog import Version
from evi_toolhost.simulator.errors import InvalidRequest, validate_body
from evi_toolhost.simulator.state import SimulatorState
from service.evi.config_rules import PostedConfig, PostedConfigVersion, PromptRef

SETTINGS_DEFAULTS: dict[str, Any] = {
    "language_model": {"model_provider": "HUME_AI", "model_resource": "ellm", "temperature": None},
    "ellm_model": {"allow_short_responses": False},
    "event_messages": {
        "on_new_chat": {"enabled": False, "text": None},
        "on_inactivity_timeout": {"enabled": False, "text": None},
        "on_max_duration_timeout": {"enabled": False, "text": None},
    },
    "timeouts": {
        "inactivity": {"enabled": True, "duration_secs": 120},
        "max_duration": {"enabled": True, "duration_secs": 1800},
    },
    "nudges": {"enabled": True, "interval_secs": None},
    "interruption": {"min_interruption_ms": None},
    "turn_detection": {"end_of_turn_silence_ms": None, "prefix_padding_ms": None, "speech_detection_threshold": None},
}
"""What a config version has for each setting it was posted without (`ellm_model`: the previous version's)."""

_REFERENCES = frozenset({"prompt", "voice", "tools", "builtin_tools", "webhooks"})


def _merged(default: Mapping[str, Any], posted: Mapping[str, Any] | None) -> dict[str, Any]:
    """`posted` over `default`, one level of sub-objects deep; None in `posted` means not posted."""
    result = dict(default)
    for key, value in (posted or {}).items():
        if value is None:
            continue
        result[key] = _merged(default[key], value) if isinstance(default.get(key), Mapping) else value
    return result


def _prompt(state: SimulatorState, config_name: str, spec: PromptRef | None) -> dict[str, Any] | None:
    if spec is None or (spec.id is None and spec.text is None):
        return None
    expansion = spec.prompt_expansion.model_dump() if spec.prompt_expansion else None
    if spec.id is not None:
        if state.prompts.find(spec.id, spec.version) is None:
            wanted = "any version" if spec.version is None else f"version {spec.version}"
            raise InvalidRequest.single(["body", "prompt", "id"], f"prompt {spec.id} ({wanted}) does not exist")
        return {"id": spec.id, "version": spec.version, "prompt_expansion": expansion}
    assert spec.text is not None
    fields = {"text": spec.text, "version_description": f"from config {config_name}", "prompt_expansion": None}
    own_name = f"{config_name} prompt"
    existing = state.prompts.named(own_name)
    made = state.prompts.add_version(existing.id, fields) if existing else state.prompts.create(own_name, fields)
    return {"id": made.id, "version": made.version, "prompt_expansion": expansion}


def _voice_id(state: SimulatorState, posted: PostedConfigVersion) -> str | None:
    if posted.voice is None:
        return None
    ref = posted.voice
    found = state.voices.find(ref.provider, voice_id=ref.id, name=ref.name)
    if found is None:
        field = "id" if ref.id is not None else "name"
        message = state.voices.why_not_found(ref.provider, voice_id=ref.id, name=ref.name)
        raise InvalidRequest.single(["body", "voice", field], message)
    return found.id


def _check_tools(state: SimulatorState, posted: PostedConfigVersion) -> None:
    for index, spec in enumerate(posted.tools or []):
        if state.tools.find(spec.id, spec.version) is None:
            wanted = "any version" if spec.version is None else f"version {spec.version}"
            raise InvalidRequest.single(["body", "tools", index], f"tool {spec.id} ({wanted}) does not exist")


def stored_fields(
    state: SimulatorState, config_name: str, posted: PostedConfigVersion, previous: Version | None
) -> dict[str, Any]:
    """What a config version keeps: references resolved to ids, every setting filled in."""
    _check_tools(state, posted)
    voice_id = _voice_id(state, posted)
    body = posted.model_dump(mode="json")
    fields: dict[str, Any] = {key: value for key, value in body.items() if key not in _REFERENCES}
    for name, default in SETTINGS_DEFAULTS.items():
        inherited = previous.fields.get(name) if previous is not None and name == "ellm_model" else None
        fields[name] = _merged(inherited or default, body.get(name))
    fields.update(
        prompt=_prompt(state, config_name, posted.prompt),
        voice_id=voice_id,
        tools=[{"id": spec.id, "version": spec.version} for spec in posted.tools or []],
        builtin_tools=body.get("builtin_tools") or [],
        webhooks=body.get("webhooks") or [],
    )
    return fields


def create_config(state: SimulatorState, body: Any) -> Version:
    posted = validate_body(PostedConfig, body)
    state.configs.check_name_free(posted.name)
    fields = stored_fields(state, posted.name, posted, None)
    fields.pop("name", None)
    return state.configs.create(posted.name, fields)


def add_config_version(state: SimulatorState, config_id: str, body: Any) -> Version:
    posted = validate_body(PostedConfigVersion, body)
    latest = state.configs.get(config_id)
    return state.configs.add_version(config_id, stored_fields(state, latest.name, posted, latest))
