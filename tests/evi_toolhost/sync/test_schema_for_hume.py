"""The `parameters` we send Hume, for every type a handler may take: an object schema with `properties`
and `required`, nothing left to resolve (`$ref`, `$defs`), accepted by the tools API; and arguments built
from that schema alone (as EVI's LLM would) validate back into the handler's own types."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from enum import Enum, IntEnum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from evi_toolhost.sync.tools import parameters_text, sync_tools
from service.evi.management import HumeManagementClient
from tests.support.hume_api import Sent, assert_posted_bodies_match_spec
from workers import ToolContext
from workers.handlers.registry import RegisteredTool, Registry
from workers.handlers.schema import InvalidArguments


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    street: str
    city: str
    postcode: Annotated[str, Field(max_length=10)] | None = None


class Customer(BaseModel):
    name: str
    address: Address
    previous: list[Address] = []
    favourite: Color = Color.RED


class Cat(BaseModel):
    kind: Literal["cat"]
    indoor: bool


class Dog(BaseModel):
    kind: Literal["dog"]
    breed: str


Check = Callable[[Any], bool]

CASES: list[tuple[str, Any, Check]] = [
    ("str", str, lambda v: isinstance(v, str)),
    ("int", int, lambda v: type(v) is int),
    ("float", float, lambda v: isinstance(v, float)),
    ("bool", bool, lambda v: v is True),
    ("literal str", Literal["metric", "imperial"], lambda v: v == "imperial"),
    ("literal int", Literal[1, 2, 3], lambda v: v == 3),
    ("enum", Color, lambda v: v is Color.BLUE),
    ("int enum", Priority, lambda v: v is Priority.HIGH),
    ("optional", str | None, lambda v: isinstance(v, str)),
    ("list", list[int], lambda v: isinstance(v, list) and all(type(i) is int for i in v)),
    ("dict", dict[str, float], lambda v: isinstance(v, dict) and all(isinstance(i, float) for i in v.values())),
    ("list of enums", list[Color], lambda v: all(isinstance(i, Color) for i in v)),
    ("model", Address, lambda v: isinstance(v, Address) and isinstance(v.postcode, str)),
    (
        "nested models",
        Customer,
        lambda v: (
            isinstance(v, Customer)
            and isinstance(v.address, Address)
            and all(isinstance(a, Address) for a in v.previous)
            and v.favourite is Color.BLUE
        ),
    ),
    ("optional model", Address | None, lambda v: isinstance(v, Address)),
    ("list of models", list[Address], lambda v: all(isinstance(a, Address) for a in v)),
    ("dict of models", dict[str, Customer], lambda v: all(isinstance(c, Customer) for c in v.values())),
    ("range", Annotated[int, Field(ge=1, le=5)], lambda v: v == 5),
    ("exclusive range", Annotated[float, Field(gt=0, lt=1)], lambda v: 0 < v < 1),
    ("max length", Annotated[str, Field(min_length=2, max_length=4)], lambda v: 2 <= len(v) <= 4),
    ("max items", Annotated[list[str], Field(min_length=1, max_length=2)], lambda v: 1 <= len(v) <= 2),
    ("described", Annotated[str, Field(description="The city, e.g. Paris.")], lambda v: isinstance(v, str)),
]
IDS = [case[0] for case in CASES]


def register(annotation: Any, *, default: Any = ...) -> RegisteredTool:
    """A tool `probe(ctx: ToolContext, value: annotation, label: str = "x")` in a fresh registry."""
    registry = Registry()

    def probe(ctx: ToolContext, value: Any, label: str = "x") -> None:
        """Probe one parameter type."""

    probe.__annotations__ = {"ctx": ToolContext, "value": annotation, "label": str, "return": None}
    if default is not ...:
        probe.__defaults__ = (default, "x")
    registry.tool(probe)
    (tool,) = registry.tools()
    return tool


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of every object in the JSON."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def example(schema: dict[str, Any]) -> Any:
    """A value that satisfies `schema`, using only the schema (the most-constrained choice each time)."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][-1]
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return example(next(option for option in schema[combinator] if option.get("type") != "null"))
    kind = schema.get("type")
    if kind == "string":
        return "x" * min(schema.get("maxLength", 3), max(schema.get("minLength", 0), 3))
    if kind == "integer":
        return schema.get("maximum", schema.get("minimum", 2))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 2))
        return (low + high) / 2 + 0.0
    if kind == "boolean":
        return True
    if kind == "array":
        count = max(1, min(schema.get("minItems", 2), schema.get("maxItems", 2)))
        return [example(schema["items"]) for _ in range(count)]
    if kind == "object":
        value = {name: example(sub) for name, sub in schema.get("properties", {}).items()}
        if isinstance(schema.get("additionalProperties"), dict):
            value["some_key"] = example(schema["additionalProperties"])
        return value
    raise AssertionError(f"no example for {schema}")


def assert_hume_shape(schema: dict[str, Any]) -> None:
    assert schema["type"] == "object"
    assert isinstance(schema["properties"], dict)
    assert isinstance(schema["required"], list)
    assert set(schema["required"]) <= set(schema["properties"])
    assert not {"$ref", "$defs", "definitions"} & {key for key, _ in walk(schema)}, schema
    texts = [value for _, value in walk(schema) if isinstance(value, str)]
    assert not [text for text in texts if text.startswith("#/")], f"unresolved references in {schema}"
    assert json.loads(parameters_text(schema)) == schema


@pytest.mark.parametrize(("name", "annotation", "check"), CASES, ids=IDS)
def test_the_schema_is_an_object_schema_with_nothing_to_resolve(name: str, annotation: Any, check: Check) -> None:
    schema = register(annotation).parameters_schema()

    assert_hume_shape(schema)
    assert schema["required"] == ["value"]
    assert set(schema["properties"]) == {"value", "label"}  # the ToolContext parameter is not an argument


@pytest.mark.parametrize(("name", "annotation", "check"), CASES, ids=IDS)
def test_arguments_built_from_the_schema_validate_into_the_handler_s_types(
    name: str, annotation: Any, check: Check
) -> None:
    tool = register(annotation)
    arguments = example(tool.parameters_schema())

    validated = tool.arguments.validate(json.dumps(arguments))

    assert set(validated) == {"value", "label"}
    assert check(validated["value"]), f"{name}: {validated['value']!r} from {arguments['value']!r}"


@pytest.mark.parametrize(
    ("annotation", "bad"),
    [
        (int, "three"),
        (bool, "maybe"),
        (Literal["metric", "imperial"], "kelvin"),
        (Color, "green"),
        (Priority, 7),
        (list[int], ["a"]),
        (dict[str, float], {"k": "heavy"}),
        (Address, {"street": "1 Main St"}),
        (Customer, {"name": "Ada", "address": {"street": "1 Main St", "city": "X", "postcode": "12345678901"}}),
        (Annotated[int, Field(ge=1, le=5)], 6),
        (Annotated[float, Field(gt=0, lt=1)], 1.0),
        (Annotated[str, Field(min_length=2, max_length=4)], "toolong"),
        (Annotated[list[str], Field(min_length=1, max_length=2)], []),
    ],
    ids=lambda value: getattr(value, "__name__", None) or str(value)[:40],
)
def test_arguments_outside_the_schema_are_refused(annotation: Any, bad: Any) -> None:
    tool = register(annotation)
    with pytest.raises(InvalidArguments) as caught:
        tool.arguments.validate(json.dumps({"value": bad}))
    assert any(problem.startswith("value") for problem in caught.value.problems), caught.value.problems


def test_defaults_are_json_in_the_schema_and_optional() -> None:
    schema = register(Customer | None, default=None).parameters_schema()
    assert schema["required"] == []
    assert schema["properties"]["value"]["default"] is None


def test_a_tool_without_arguments_has_an_empty_object_schema() -> None:
    registry = Registry()

    @registry.tool
    def hang_tight(ctx: ToolContext) -> str:
        """Nothing to ask for."""
        return "ok"

    (tool,) = registry.tools()
    assert tool.parameters_schema() == {"type": "object", "properties": {}, "required": []}
    assert tool.arguments.validate("") == {}


def test_hume_s_tools_api_accepts_every_one_of_these_schemas(hume: HumeManagementClient, sent: list[Sent]) -> None:
    registry = Registry()
    for index, (_, annotation, _) in enumerate(CASES):

        def probe(value: Any) -> None:
            """Probe."""

        probe.__annotations__ = {"value": annotation, "return": None}
        registry.tool(name=f"probe_{index}")(probe)

    _, outcomes = sync_tools(hume, registry.tools())

    assert [outcome.action for outcome in outcomes] == ["created"] * len(CASES)
    assert_posted_bodies_match_spec(sent)
    stored = {tool.name: tool.parameters for tool in hume.list_tools()}
    assert all(json.loads(stored[tool.name]) == tool.parameters_schema() for tool in registry.tools())


def test_a_discriminated_union_has_no_dangling_references() -> None:
    assert_hume_shape(register(Annotated[Cat | Dog, Field(discriminator="kind")]).parameters_schema())
