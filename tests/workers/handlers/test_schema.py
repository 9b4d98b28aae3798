"""Tool parameters → JSON Schema (Hume's shape), and validation messages worded for the LLM."""

from __future__ import annotations

import json
import re
from enum import Enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from workers import ToolContext
from workers.handlers.registry import Registry
from workers.handlers.schema import InvalidArguments


class Unit(Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Address(BaseModel):
    street: str
    city: str
    unit: Unit = Unit.CELSIUS


def schema_of(func: Any) -> dict[str, Any]:
    registry = Registry()
    registry.tool(func)
    (registered,) = registry.tools()
    return registered.parameters_schema()


def refs_in(node: Any) -> list[str]:
    text = json.dumps(node)
    return [word for word in ("$ref", "$defs", "definitions") if word in text]


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Unit, {"type": "string", "enum": ["celsius", "fahrenheit"]}),
        (str | None, {"anyOf": [{"type": "string"}, {"type": "null"}]}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (Annotated[int, Field(ge=1, le=5)], {"type": "integer", "minimum": 1, "maximum": 5}),
        (
            Annotated[str, Field(pattern="^[A-Z]+$", max_length=8)],
            {"type": "string", "pattern": "^[A-Z]+$", "maxLength": 8},
        ),
    ],
    ids=lambda value: getattr(value, "__name__", None) or str(value)[:30],
)
def test_each_supported_type(annotation: Any, expected: dict[str, Any]) -> None:
    def probe(value: Any) -> None: ...

    probe.__annotations__ = {"value": annotation, "return": None}
    schema = schema_of(probe)
    assert schema == {"type": "object", "properties": {"value": expected}, "required": ["value"]}


def test_pydantic_models_and_enums_are_inlined_without_refs() -> None:
    def ship(to: Address, stops: list[Address], unit: Unit = Unit.FAHRENHEIT, backup: Address | None = None) -> None:
        """Ship it."""

    schema = schema_of(ship)
    assert refs_in(schema) == []
    address = {
        "type": "object",
        "properties": {
            "street": {"type": "string"},
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        },
        "required": ["street", "city"],
    }
    assert schema["properties"]["to"] == address
    assert schema["properties"]["stops"] == {"type": "array", "items": address}
    assert schema["properties"]["unit"] == {
        "type": "string",
        "enum": ["celsius", "fahrenheit"],
        "default": "fahrenheit",
    }
    assert schema["properties"]["backup"] == {"anyOf": [address, {"type": "null"}], "default": None}
    assert schema["required"] == ["to", "stops"]


class Cat(BaseModel):
    kind: Literal["cat"]
    indoor: bool


class Dog(BaseModel):
    kind: Literal["dog"]
    breed: str


def test_discriminated_unions_leave_no_reference_behind() -> None:
    def adopt(pet: Annotated[Cat | Dog, Field(discriminator="kind")]) -> None: ...

    schema = schema_of(adopt)
    assert refs_in(schema) == []
    assert "#/" not in json.dumps(schema)
    variants = schema["properties"]["pet"]["oneOf"]
    assert [v["properties"]["kind"] for v in variants] == [
        {"const": "cat", "type": "string"},
        {"const": "dog", "type": "string"},
    ]


def test_no_parameters_is_still_an_object_with_properties_and_required() -> None:
    def ping() -> str:
        return "pong"

    assert schema_of(ping) == {"type": "object", "properties": {}, "required": []}


def test_tool_context_is_injected_not_described() -> None:
    def lookup(ctx: ToolContext, order_id: str) -> None: ...

    registry = Registry()
    registry.tool(lookup)
    registered = registry.get("lookup")
    assert registered is not None
    assert registered.parameters_schema()["properties"] == {"order_id": {"type": "string"}}
    assert registered.arguments.context_param == "ctx"


def test_descriptions_from_docstring_annotated_text_and_field() -> None:
    def book(
        city: str,
        nights: Annotated[int, "How many nights."],
        guests: Annotated[int, Field(ge=1, description="Adults and children.")] = 2,
        note: str = Field("", description="Anything else."),
    ) -> None:
        """Book a hotel.

        Longer explanation.

        Args:
            city: Where to stay,
                spelled out in full.
            nights: (ignored: the Annotated text wins)
            guests: (ignored: the Field description wins)
        """

    schema = schema_of(book)
    props = schema["properties"]
    assert props["city"]["description"] == "Where to stay, spelled out in full."
    assert props["nights"]["description"] == "How many nights."
    assert props["guests"] == {"type": "integer", "minimum": 1, "default": 2, "description": "Adults and children."}
    assert props["note"] == {"type": "string", "default": "", "description": "Anything else."}
    assert schema["required"] == ["city", "nights"]


def test_parameter_names_that_shadow_pydantic_attributes_work() -> None:
    def odd(json: str, schema: int, model_config: bool = False) -> None: ...

    registry = Registry()
    registry.tool(odd)
    registered = registry.get("odd")
    assert registered is not None
    assert set(registered.parameters_schema()["properties"]) == {"json", "schema", "model_config"}
    kwargs = registered.arguments.validate('{"json": "x", "schema": 3}')
    assert kwargs == {"json": "x", "schema": 3, "model_config": False}


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def f(*args: int) -> None: ...", "*args and **kwargs"),
        ("def f(**kw: int) -> None: ...", "*args and **kwargs"),
        ("def f(x: int, /) -> None: ...", "positional-only"),
        ("def f(x) -> None: ...", "add a type hint"),
        ("def f(x: Callable[[], int]) -> None: ...", "cannot be described as JSON Schema"),
        ("def f(x: Node) -> None: ...", "recursive"),
    ],
)
def test_parameters_without_a_schema_fail_at_decoration(source: str, problem: str) -> None:
    from collections.abc import Callable

    class Node(BaseModel):
        children: list[Node] = []

    namespace: dict[str, Any] = {"Callable": Callable, "Node": Node}
    exec(source, namespace)
    with pytest.raises(TypeError, match=re.escape(problem)) as info:
        Registry().tool(namespace["f"])
    assert "'f'" in str(info.value)


# --- validation -----------------------------------------------------------------------------------


def weather(
    city: str, unit: Literal["celsius", "fahrenheit"] = "celsius", days: Annotated[int, Field(ge=1)] = 1
) -> None:
    """Weather."""


def problems(parameters: str) -> list[str]:
    registry = Registry()
    registry.tool(weather)
    registered = registry.get("weather")
    assert registered is not None
    with pytest.raises(InvalidArguments) as info:
        registered.arguments.validate(parameters)
    return info.value.problems


def test_validation_names_each_problem_in_words() -> None:
    assert problems('{"unit": "kelvin", "days": 0}') == [
        "city is required",
        "unit must be one of 'celsius', 'fahrenheit' (got 'kelvin')",
        "days should be greater than or equal to 1 (got 0)",
    ]


def test_validation_never_quotes_a_redacted_argument() -> None:
    registry = Registry()
    registry.tool(redact=["unit", "days"])(weather)
    registered = registry.get("weather")
    assert registered is not None
    with pytest.raises(InvalidArguments) as info:
        registered.arguments.validate('{"city": 7, "unit": "kelvin-4111", "days": -4111}')
    assert info.value.problems == [
        "city should be a valid string (got 7)",
        "unit must be one of 'celsius', 'fahrenheit' (got a redacted value)",
        "days should be greater than or equal to 1 (got a redacted value)",
    ]


def test_validation_of_bad_json_and_non_objects() -> None:
    assert problems('{"city": ')[0].startswith("the arguments are not valid JSON (")
    assert problems('["Paris"]') == ["the arguments must be a JSON object, not list"]


def test_nested_locations_are_readable() -> None:
    def ship(stops: list[Address]) -> None: ...

    registry = Registry()
    registry.tool(ship)
    registered = registry.get("ship")
    assert registered is not None
    with pytest.raises(InvalidArguments) as info:
        registered.arguments.validate('{"stops": [{"street": "Main", "city": 5}]}')
    assert info.value.problems == ["stops[0].city should be a valid string (got 5)"]


def test_valid_arguments_become_keyword_arguments() -> None:
    registry = Registry()
    registry.tool(weather)
    registered = registry.get("weather")
    assert registered is not None
    assert registered.arguments.validate('{"city": "Paris", "extra": 1}') == {
        "city": "Paris",
        "unit": "celsius",
        "days": 1,
    }


def test_empty_parameters_mean_no_arguments() -> None:
    def ping() -> str:
        return "pong"

    registry = Registry()
    registry.tool(ping)
    registered = registry.get("ping")
    assert registered is not None
    assert registered.arguments.validate("") == {}
