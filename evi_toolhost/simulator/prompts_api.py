"""Prompts: Hume's nine prompt routes (`records_api`), answering `return_prompt_public` (`return_prompt` in pages).

Every posted version is kept, also one whose text equals the previous one's: deciding whether a change is worth a
version is the client's business (`evi-toolhost apply` posts one only when the text changed).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from evi_toolhost.simulator.catalog import Version
from evi_toolhost.simulator.errors import validate_body
from evi_toolhost.simulator.records_api import RecordKind, records_routes
from evi_toolhost.simulator.state import SimulatorState


class PromptExpansionSpec(BaseModel):
    """`prompt_expansion_spec`."""

    enabled: bool = True


class PostedPromptVersion(BaseModel):
    """`posted_prompt_version`."""

    text: str
    version_description: str | None = None
    prompt_expansion: PromptExpansionSpec | None = None


class PostedPrompt(PostedPromptVersion):
    """`posted_prompt`."""

    name: str = Field(min_length=1)


def prompt_json(version: Version, version_type: str = "FIXED") -> dict[str, Any]:
    """`return_prompt_public`: the prompt expansion only when one was posted (the schema has no null for it)."""
    body: dict[str, Any] = {
        "id": version.id,
        "version": version.version,
        "version_type": version_type,
        "version_description": version.fields.get("version_description"),
        "name": version.name,
        "created_on": version.created_on,
        "modified_on": version.modified_on,
        "text": version.fields["text"],
    }
    if version.fields.get("prompt_expansion") is not None:
        body["prompt_expansion"] = version.fields["prompt_expansion"]
    return body


def _listed(prompt: dict[str, Any]) -> dict[str, Any]:
    """`return_prompt`, which has no `prompt_expansion`."""
    prompt.pop("prompt_expansion", None)
    return prompt


def _create(state: SimulatorState, body: Any) -> Version:
    posted = validate_body(PostedPrompt, body)
    return state.prompts.create(posted.name, posted.model_dump(exclude={"name"}))


def _add_version(state: SimulatorState, prompt_id: str, body: Any) -> Version:
    return state.prompts.add_version(prompt_id, validate_body(PostedPromptVersion, body).model_dump())


PROMPTS = RecordKind(
    plural="prompts",
    catalog=lambda state: state.prompts,
    render=lambda state, version: prompt_json(version),
    render_listed=lambda state, version: _listed(prompt_json(version)),
    create=_create,
    add_version=_add_version,
)

routes = records_routes(PROMPTS)
