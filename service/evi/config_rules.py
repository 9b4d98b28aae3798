"""What a config version's settings must be, as Hume checks them: the spec's types and enums plus the ranges Hume's
documentation gives (turn detection, interruption, timeouts, temperature), and the EVI versions still running.

The simulator refuses a posted config that breaks them (a 422 naming the field) and `evi.yaml` is checked
against the same models, so a file that validates is one Hume takes. Unknown keys are ignored here, as Hume
ignores them; the file's loader refuses them itself.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from service.evi.messages import BuiltInTool
from service.evi.spec_files import OPENAPI, schemas


class VoiceProvider(StrEnum):
    """`VoiceProvider`."""

    HUME_AI = "HUME_AI"
    CUSTOM_VOICE = "CUSTOM_VOICE"


EVI_VERSIONS = ("3", "4-mini")
"""The EVI versions a config may name (1 and 2 are retired)."""


@cache
def spec_enum(name: str) -> frozenset[str]:
    """The values of one enum schema of the vendored OpenAPI spec (`ModelProviderEnum`, ...)."""
    return frozenset(schemas(OPENAPI)[name]["enum"])


def _in_spec_enum(enum_name: str) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and value not in spec_enum(enum_name):
            raise ValueError(f"{value!r} is not a {enum_name} value")
        return value

    return AfterValidator(check)


def _evi_version(value: str) -> str:
    if value not in EVI_VERSIONS:
        raise ValueError(f"EVI version {value!r} is not available; use one of {', '.join(EVI_VERSIONS)}")
    return value


EviVersion = Annotated[str, AfterValidator(_evi_version)]

FORBID_UNKNOWN_KEYS = "forbid_unknown_keys"
"""Validation context key: with it set, an unknown key is an `unknown_field` error instead of being ignored."""


class _Posted(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _unknown_keys_when_forbidden(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and info.context and info.context.get(FORBID_UNKNOWN_KEYS):
            unknown = sorted(str(key) for key in data if key not in cls.model_fields)
            if unknown:
                raise PydanticCustomError(
                    "unknown_field",
                    "unknown field {field}; known: {known}",
                    {"field": unknown[0], "known": ", ".join(cls.model_fields)},
                )
        return data


class PromptExpansion(_Posted):
    enabled: bool = True


class PromptRef(_Posted):
    """`posted_config_prompt_spec`: an existing prompt by id (one version, or the latest), or new text."""

    id: str | None = None
    version: int | None = None
    text: str | None = None
    prompt_expansion: PromptExpansion | None = None

    @model_validator(mode="after")
    def _id_or_text(self) -> PromptRef:
        if self.id is not None and self.text is not None:
            raise ValueError("give the prompt's id (and version) or a new text, not both")
        if self.version is not None and self.id is None:
            raise ValueError("a prompt version needs the prompt's id")
        return self


class VoiceRef(_Posted):
    """`VoiceRef`: `VoiceId` or `VoiceName`; the provider defaults to CUSTOM_VOICE, as at Hume."""

    id: str | None = None
    name: str | None = None
    provider: VoiceProvider = VoiceProvider.CUSTOM_VOICE

    @model_validator(mode="after")
    def _id_or_name(self) -> VoiceRef:
        if (self.id is None) == (self.name is None):
            raise ValueError("a voice is named by exactly one of id or name")
        return self


class LanguageModel(_Posted):
    model_provider: Annotated[str | None, _in_spec_enum("ModelProviderEnum")] = None
    model_resource: Annotated[str | None, _in_spec_enum("LanguageModelType")] = None
    temperature: float | None = Field(default=None, ge=0, le=1)


class EllmModel(_Posted):
    allow_short_responses: bool | None = None


class EventMessage(_Posted):
    enabled: bool
    text: str | None = None


class EventMessages(_Posted):
    on_new_chat: EventMessage | None = None
    on_inactivity_timeout: EventMessage | None = None
    on_max_duration_timeout: EventMessage | None = None


class InactivityTimeout(_Posted):
    enabled: bool
    duration_secs: int | None = Field(default=None, ge=30, le=1800)


class MaxDurationTimeout(_Posted):
    enabled: bool
    duration_secs: int | None = Field(default=None, ge=30, le=1800)


class Timeouts(_Posted):
    inactivity: InactivityTimeout | None = None
    max_duration: MaxDurationTimeout | None = None


class Nudges(_Posted):
    enabled: bool | None = None
    interval_secs: int | None = Field(default=None, ge=1)


class Interruption(_Posted):
    min_interruption_ms: int | None = Field(default=None, ge=50, le=2000)


class TurnDetection(_Posted):
    end_of_turn_silence_ms: int | None = Field(default=None, ge=500, le=3000)
    prefix_padding_ms: int | None = Field(default=None, ge=0, le=1000)
    speech_detection_threshold: float | None = Field(default=None, ge=0, le=1)


class ToolRef(_Posted):
    """`posted_user_defined_tool_spec`."""

    id: str
    version: int | None = None


class BuiltinToolSpec(_Posted):
    """`posted_builtin_tool`."""

    name: BuiltInTool
    fallback_content: str | None = None


class WebhookSpec(_Posted):
    """`posted_webhook_spec`."""

    url: str = Field(min_length=1)
    events: list[Literal["chat_started", "chat_ended", "tool_call"]]


class PostedConfigVersion(BaseModel):
    """`posted_config_version`. Fields Hume's spec does not name are kept as given (a newer Hume's settings)."""

    model_config = ConfigDict(extra="allow")

    evi_version: EviVersion
    version_description: str | None = None
    prompt: PromptRef | None = None
    voice: VoiceRef | None = None
    language_model: LanguageModel | None = None
    ellm_model: EllmModel | None = None
    event_messages: EventMessages | None = None
    timeouts: Timeouts | None = None
    nudges: Nudges | None = None
    interruption: Interruption | None = None
    turn_detection: TurnDetection | None = None
    tools: list[ToolRef] | None = None
    builtin_tools: list[BuiltinToolSpec] | None = None
    webhooks: list[WebhookSpec] | None = None


class PostedConfig(PostedConfigVersion):
    """`posted_config`."""

    name: str = Field(min_length=1)
