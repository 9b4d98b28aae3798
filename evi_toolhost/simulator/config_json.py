"""A stored config version as Hume returns it (`return_config_public`, `return_config` in pages).

References are read when the config is: a prompt or tool it follows at its latest version (`version_type:
LATEST`) shows that version as it is now. A prompt, voice or tool deleted since is left out (the schema has no
null for a prompt or voice).
"""

from __future__ import annotations

from typing import Any

from evi_toolhost.simulator.catalog import Version
from evi_toolhost.simulator.config_store import SETTINGS_DEFAULTS
from evi_toolhost.simulator.prompts_api import prompt_json
from evi_toolhost.simulator.state import SimulatorState
from evi_toolhost.simulator.tools_api import tool_json

_STORED_ONLY = frozenset({"prompt", "voice_id", "tools", "builtin_tools", "webhooks"})


def _version_type(spec: dict[str, Any]) -> str:
    return "LATEST" if spec.get("version") is None else "FIXED"


def _prompt(state: SimulatorState, spec: dict[str, Any] | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    found = state.prompts.find(spec["id"], spec.get("version"))
    if found is None:
        return None
    prompt = prompt_json(found, _version_type(spec))
    if spec.get("prompt_expansion") is not None:
        prompt["prompt_expansion"] = spec["prompt_expansion"]
    return prompt


def _tools(state: SimulatorState, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tools = []
    for spec in specs:
        found = state.tools.find(spec["id"], spec.get("version"))
        if found is not None:
            tools.append(tool_json(found, _version_type(spec)))
    return tools


def config_json(state: SimulatorState, version: Version) -> dict[str, Any]:
    fields = version.fields
    body: dict[str, Any] = {key: value for key, value in fields.items() if key not in _STORED_ONLY}
    for name, default in SETTINGS_DEFAULTS.items():
        body.setdefault(name, default)  # a version stored straight into the state (tests, the seeded config)
    body.update(
        id=version.id,
        version=version.version,
        name=version.name,
        created_on=version.created_on,
        modified_on=version.modified_on,
        version_description=fields.get("version_description"),
        tools=_tools(state, fields.get("tools") or []),
        builtin_tools=[
            {"tool_type": "BUILTIN", "name": spec["name"], "fallback_content": spec.get("fallback_content")}
            for spec in fields.get("builtin_tools") or []
        ],
        webhooks=fields.get("webhooks") or [],
    )
    prompt = _prompt(state, fields.get("prompt"))
    if prompt is not None:
        body["prompt"] = prompt
    voice = state.voices.by_id(fields["voice_id"]) if fields.get("voice_id") else None
    if voice is not None:
        body["voice"] = voice.to_json()
    return body
