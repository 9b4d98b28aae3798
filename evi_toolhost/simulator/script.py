"""Conversation scripts for the player: plain data (YAML or JSON) validated into these models.

```yaml
chat: {allow_connection: true}          # optional ids: chat_id, chat_group_id, config_id, ...
answer_timeout: 10                      # seconds to wait for each answer (optional)
resumes:                                # optional: an earlier chat of the group, which this chat resumes
  - user: "I'd like a table on Friday."
turns:
  - user: "What's the weather in Paris?"
  - tool: get_weather
    arguments: {city: Paris, unit: celsius}
    via: webhook                        # webhook (default) | socket | both
    expect: {type: tool_response, content_contains: "Paris"}
  - assistant: "It is sunny in Paris."
```
A tool turn's `response_required` defaults to true for `tool_type: function` and false for `builtin`
(a built-in call never requires an answer). `expect.type: none` asserts that no answer arrives;
`expect.said` lists what must be said (`assistant_input`) while EVI waits for the answer, in order;
`expect.announced` what a background tool must say after its answer. `interrupt_after: SECONDS` has the user
speak over EVI that long after the call.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from service.evi.messages import ToolType
from service.evi.webhooks import ChatStatus

Via = Literal["webhook", "socket", "both"]
AnswerType = Literal["tool_response", "tool_error", "none"]


class ScriptError(Exception):
    """The script cannot be read or is not a valid script; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatSpec(_Strict):
    chat_id: str | None = None
    chat_group_id: str | None = None
    config_id: str | None = None
    custom_session_id: str | None = None
    caller_number: str | None = None
    allow_connection: bool = True


class Expect(_Strict):
    type: AnswerType | None = None
    code: str | None = None
    content_contains: str | None = None
    said: list[str] = Field(default_factory=list)
    """Each must be in an `assistant_input` received between the call and its answer, in this order."""
    announced: str | None = None
    """Must be in an `assistant_input` received after the answer (a background tool's result)."""


class UserTurn(_Strict):
    user: str


class AssistantTurn(_Strict):
    assistant: str


class ToolTurn(_Strict):
    tool: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    tool_type: ToolType = ToolType.FUNCTION
    response_required: bool | None = None
    via: Via = "webhook"
    expect: Expect = Field(default_factory=Expect)
    timeout: float | None = Field(default=None, gt=0)
    tool_call_id: str | None = None
    interrupt_after: float | None = Field(default=None, gt=0)
    """The user speaks over EVI (`user_interruption`) this many seconds after the call."""

    @model_validator(mode="after")
    def _builtin_needs_no_answer(self) -> ToolTurn:
        if self.tool_type is ToolType.BUILTIN and self.response_required:
            raise ValueError("a builtin tool call never has response_required: true")
        return self

    @property
    def requires_response(self) -> bool:
        return self.tool_type is ToolType.FUNCTION if self.response_required is None else self.response_required


def _turn_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((key for key in ("user", "assistant", "tool") if key in value), None)
    if isinstance(value, BaseModel):
        return {UserTurn: "user", AssistantTurn: "assistant", ToolTurn: "tool"}.get(type(value))
    return None


Turn = Annotated[
    Annotated[UserTurn, Tag("user")] | Annotated[AssistantTurn, Tag("assistant")] | Annotated[ToolTurn, Tag("tool")],
    Discriminator(
        _turn_kind,
        custom_error_type="invalid_turn",
        custom_error_message="each turn needs one of the keys: user, assistant, tool",
    ),
]


class Script(_Strict):
    name: str | None = None
    chat: ChatSpec = Field(default_factory=ChatSpec)
    answer_timeout: float | None = Field(default=None, gt=0)
    end_reason: ChatStatus = ChatStatus.USER_ENDED
    resumes: list[UserTurn | AssistantTurn] | None = None
    """What was said in an earlier chat of the group: played (as history only, no webhooks) and ended first, so
    that this chat resumes the group."""
    turns: list[Turn] = Field(min_length=1)

    @property
    def tool_turns(self) -> list[ToolTurn]:
        return [turn for turn in self.turns if isinstance(turn, ToolTurn)]


def parse_script(data: Any, source: str = "script") -> Script:
    try:
        return Script.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or '(top)'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        raise ScriptError(f"{source} is not a valid script: {problems}") from None


def bundled_script(name: str) -> Path | None:
    """A script shipped in `service/simulator/scripts` (`weather` or `weather.yaml`), if there is one."""
    folder = resources.files("evi_toolhost.simulator") / "scripts"
    for candidate in (name, f"{name}.yaml"):
        entry = folder / candidate
        if entry.is_file():
            return Path(str(entry))
    return None


def load_script(path: str | Path) -> Script:
    """Read a YAML or JSON script; a bare name like `weather` finds a bundled one."""
    location = Path(path)
    if not location.is_file():
        location = bundled_script(str(path)) or location
    try:
        data = yaml.safe_load(location.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScriptError(f"cannot read script {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ScriptError(f"{path} is not valid YAML or JSON: {exc}") from None
    return parse_script(data, str(path))
