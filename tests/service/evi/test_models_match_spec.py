"""Our protocol models against Hume's OpenAPI spec, so drift from the spec fails a test.

Rules: every spec property is a model field and vice versa; a field the spec requires and does not
allow to be null is required in the model (the `type`/`event_name` tags excepted: they default to
their only value, so they are always serialized); a nullable field accepts None; enums match.
"""

from __future__ import annotations

import typing
from enum import Enum
from typing import Any

import pytest
from pydantic import BaseModel

from service.evi import messages, webhooks
from service.evi.spec_files import OPENAPI
from service.evi.spec_files import schemas as spec_schemas

TAG_FIELDS = {"type", "event_name"}

MODELS: dict[str, type[BaseModel]] = {
    "WebhookEventChatStarted": webhooks.WebhookEventChatStarted,
    "WebhookEventChatEnded": webhooks.WebhookEventChatEnded,
    "WebhookEventToolCall": webhooks.WebhookEventToolCall,
    "ToolCallMessage": messages.ToolCallMessage,
    "SessionSettings": messages.SessionSettings,
    "UserInput": messages.UserInput,
    "AssistantInput": messages.AssistantInput,
    "ToolResponseMessage": messages.ToolResponseMessage,
    "ToolErrorMessage": messages.ToolErrorMessage,
    "PauseAssistantMessage": messages.PauseAssistantMessage,
    "ResumeAssistantMessage": messages.ResumeAssistantMessage,
    "Tool": messages.Tool,
    "BuiltinToolConfig": messages.BuiltinToolConfig,
    "Context": messages.Context,
    "AudioConfiguration": messages.AudioConfiguration,
}
ENUMS: dict[str, type[Enum]] = {
    "ToolType": messages.ToolType,
    "ContextType": messages.ContextType,
    "ErrorLevel": messages.ErrorLevel,
    "BuiltInTool": messages.BuiltInTool,
    "Encoding": messages.Encoding,
    "WebhookEventChatStatus": webhooks.ChatStatus,
    "WebhookEventChatStartType": webhooks.ChatStartType,
}


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    return spec_schemas(OPENAPI)


def spec_nullable(prop: dict[str, Any]) -> bool:
    kinds = prop.get("type")
    if isinstance(kinds, list) and "null" in kinds:
        return True
    return any(option.get("type") == "null" for option in prop.get("oneOf", []))


def model_nullable(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation) or annotation is type(None)


def referenced_enum(prop: dict[str, Any]) -> str | None:
    refs = [prop.get("$ref")] + [option.get("$ref") for option in prop.get("oneOf", [])]
    names = [ref.rsplit("/", 1)[1] for ref in refs if ref]
    return next((name for name in names if name in ENUMS), None)


def annotation_types(annotation: Any) -> set[Any]:
    return {annotation, *typing.get_args(annotation)}


def literal_values(annotation: Any) -> set[str]:
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    return set()


def test_publish_union_lists_the_seven_spec_messages(schemas: dict[str, Any]) -> None:
    names = {ref["$ref"].rsplit("/", 1)[1] for ref in schemas["ControlPlanePublishEvent"]["oneOf"]}
    union = typing.get_args(typing.get_args(messages.PublishMessage)[0])
    assert {MODELS[name] for name in names} == set(union)


@pytest.mark.parametrize("schema_name", sorted(MODELS))
def test_model_fields_match_the_spec(schemas: dict[str, Any], schema_name: str) -> None:
    schema = schemas[schema_name]
    model = MODELS[schema_name]
    properties: dict[str, Any] = schema["properties"]
    required = set(schema.get("required", []))
    assert set(model.model_fields) == set(properties), f"{schema_name}: fields differ from the spec"
    for name, prop in properties.items():
        field = model.model_fields[name]
        if spec_nullable(prop):
            assert model_nullable(field.annotation), f"{schema_name}.{name} must accept null"
        elif name in required and name not in TAG_FIELDS:
            assert field.is_required(), f"{schema_name}.{name} is required by the spec"
        enum_ref = referenced_enum(prop)
        if enum_ref is not None:
            assert ENUMS[enum_ref] in annotation_types(field.annotation), f"{schema_name}.{name} enum type"
        if name in TAG_FIELDS and "enum" in prop:
            assert literal_values(field.annotation) == set(prop["enum"]), f"{schema_name}.{name} enum"
            assert field.default == prop["enum"][0]


@pytest.mark.parametrize("enum_name", sorted(ENUMS))
def test_enums_match_the_spec(schemas: dict[str, Any], enum_name: str) -> None:
    assert {member.value for member in ENUMS[enum_name]} == set(schemas[enum_name]["enum"])
