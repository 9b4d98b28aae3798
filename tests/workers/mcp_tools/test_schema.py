"""MCP input schemas made fit for Hume: the shapes MCP servers send (pydantic's `$defs`, draft-07 `definitions`,
`$schema`, titles, nested references) become what our own tools send, with the same meaning; what cannot be made
so is refused with the reason; and a call's arguments are checked against the result in the LLM's words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.evi_toolhost.sync.test_schema_for_hume import assert_hume_shape
from workers.handlers.schema import InvalidArguments
from workers.mcp_tools.schema import JsonSchemaArguments, UnfitSchema, normalise_input_schema

PYDANTIC_STYLE = {
    "type": "object",
    "title": "book_tableArguments",
    "$defs": {
        "Party": {
            "title": "Party",
            "type": "object",
            "properties": {"size": {"type": "integer", "minimum": 1, "title": "Size"}, "name": {"type": "string"}},
            "required": ["size"],
        },
        "Seating": {"enum": ["inside", "terrace"], "title": "Seating", "type": "string"},
    },
    "properties": {
        "party": {"$ref": "#/$defs/Party"},
        "seating": {"$ref": "#/$defs/Seating", "default": "inside"},
        "notes": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Notes"},
    },
    "required": ["party"],
}
DRAFT_07_STYLE = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://tools.example.test/search.json",
    "type": "object",
    "definitions": {"Range": {"type": "object", "properties": {"from": {"type": "string"}, "to": {"type": "string"}}}},
    "properties": {
        "query": {"type": "string", "description": "What to look for.", "$comment": "free text"},
        "dates": {"$ref": "#/definitions/Range"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["query"],
    "additionalProperties": False,
}


def test_pydantic_style_references_are_inlined_and_titles_dropped() -> None:
    schema = normalise_input_schema(PYDANTIC_STYLE)
    assert_hume_shape(schema)
    assert schema["properties"]["party"] == {
        "type": "object",
        "properties": {"size": {"type": "integer", "minimum": 1}, "name": {"type": "string"}},
        "required": ["size"],
    }
    assert schema["properties"]["seating"] == {"enum": ["inside", "terrace"], "type": "string", "default": "inside"}
    assert schema["required"] == ["party"]


def test_draft_07_definitions_and_schema_keywords_are_handled() -> None:
    schema = normalise_input_schema(DRAFT_07_STYLE)
    assert_hume_shape(schema)
    assert not {"$schema", "$id", "$comment"} & set(json.dumps(schema).split('"'))
    assert schema["properties"]["dates"]["properties"]["to"] == {"type": "string"}
    assert schema["additionalProperties"] is False
    assert schema["properties"]["query"]["description"] == "What to look for."


def test_a_tool_without_arguments_gets_an_empty_object_schema() -> None:
    for empty in ({}, {"type": "object"}, {"type": "object", "properties": {}}):
        assert normalise_input_schema(empty) == {"type": "object", "properties": {}, "required": []}


@pytest.mark.parametrize("schema", [PYDANTIC_STYLE, DRAFT_07_STYLE], ids=["pydantic", "draft-07"])
def test_the_meaning_is_kept(schema: dict[str, Any]) -> None:
    """The same instances pass and fail the original and the normalised schema."""
    normalised = Draft202012Validator(normalise_input_schema(schema))
    original = Draft202012Validator(schema)
    instances: list[Any] = [
        {"party": {"size": 2}},
        {"party": {"size": 0}},
        {"party": {"size": 2}, "seating": "roof"},
        {"query": "x", "dates": {"from": "a", "to": 3}},
        {"query": "x", "tags": ["a"]},
        {"query": "x", "other": 1},
        {},
    ]
    for instance in instances:
        assert normalised.is_valid(instance) == original.is_valid(instance), instance


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        (["not", "an", "object"], "its input schema is a JSON list, not an object"),
        ({"type": "string"}, 'its input schema is for "string", not an object of named arguments'),
        ({"type": "object", "properties": {"x": {"type": "strin"}}}, "its input schema is not valid JSON Schema"),
        ({"type": "object", "properties": {"x": {"$ref": "https://x.test/s"}}}, "its input schema refers outside"),
        ({"type": "object", "properties": {"next": {"$ref": "#"}}}, "its input schema has a $ref that cannot be"),
        ({"type": "object", "properties": {"x": {"$ref": "#/$defs/Gone"}}}, "its input schema has a $ref that cannot"),
        ({"type": "object", "properties": {}, "required": ["text"]}, "its input schema requires text without"),
    ],
    ids=["list", "string", "invalid", "remote", "recursive", "dangling", "undescribed"],
)
def test_what_cannot_be_made_fit_says_why(schema: Any, reason: str) -> None:
    with pytest.raises(UnfitSchema) as caught:
        normalise_input_schema(schema)
    assert str(caught.value).startswith(reason)


def test_arguments_are_passed_on_whole_once_they_fit() -> None:
    arguments = JsonSchemaArguments(normalise_input_schema(PYDANTIC_STYLE))
    assert arguments.context_param == "ctx"
    assert arguments.validate('{"party": {"size": 4}, "extra": true}') == {
        "arguments": {"party": {"size": 4}, "extra": True}
    }


@pytest.mark.parametrize(
    ("parameters", "problems"),
    [
        ("{}", ["party is required"]),
        ('{"party": {}}', ["party.size is required"]),
        ('{"party": {"size": "two"}}', ['party.size should be integer (got "two")']),
        ('{"party": {"size": 0}}', ["party.size: 0 is less than the minimum of 1"]),
        ('{"party": {"size": 2}, "seating": "roof"}', ['seating must be one of "inside", "terrace" (got "roof")']),
        ("[1]", ["the arguments must be a JSON object, not list"]),
        (
            "{oops",
            [
                "the arguments are not valid JSON "
                "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"
            ],
        ),
    ],
)
def test_arguments_that_do_not_fit_are_named_for_the_llm(parameters: str, problems: list[str]) -> None:
    arguments = JsonSchemaArguments(normalise_input_schema(PYDANTIC_STYLE))
    with pytest.raises(InvalidArguments) as caught:
        arguments.validate(parameters)
    assert caught.value.problems == problems
