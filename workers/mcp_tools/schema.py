"""An MCP tool's input schema, made fit for Hume, and the arguments of a call checked against it.

MCP servers send any JSON Schema (often with `$defs` or draft-07 `definitions`, `$ref`s, `title`s and a
`$schema`); Hume gets what our own tools send (`workers.handlers.schema.hume_schema`): an object with
`properties` and `required`, every `$ref` inlined, no `$defs`, `title` or `$schema`. A schema that cannot be
made so (not JSON Schema, not an object of named arguments, recursive, a remote `$ref`, a required argument it
does not describe) is `UnfitSchema`, and its tool is left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from workers.handlers.schema import InvalidArguments, hume_schema, load_arguments

_DROPPED = frozenset({"$schema", "$id", "$comment", "$anchor"})
_DEFINITIONS = "#/definitions/"
_MAX_PROBLEMS = 5
_MAX_TEXT = 60


class UnfitSchema(ValueError):
    """An input schema that cannot be made fit for Hume; the message says why, after "its input schema"."""


def normalise_input_schema(schema: Any) -> dict[str, Any]:
    """The schema as Hume takes it (same meaning, nothing left to resolve), or `UnfitSchema`."""
    if not isinstance(schema, Mapping):
        raise UnfitSchema(f"its input schema is a JSON {type(schema).__name__}, not an object")
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(dict(schema))
    except SchemaError as exc:
        raise UnfitSchema(f"its input schema is not valid JSON Schema ({_short(exc.message)})") from None
    definitions = {**_mapping(schema.get("definitions")), **_mapping(schema.get("$defs"))}
    body = {key: value for key, value in schema.items() if key not in ("definitions", "$defs")}
    try:
        defs = {name: _rewrite(sub) for name, sub in definitions.items()}
        result = hume_schema({**_rewrite(body), "$defs": defs})
    except TypeError as exc:
        raise UnfitSchema(f"its input schema has a $ref that cannot be inlined ({exc})") from None
    if result.get("type") != "object":
        raise UnfitSchema(f"its input schema is for {json.dumps(result.get('type'))}, not an object of named arguments")
    properties, required = result["properties"], result["required"]
    if not isinstance(properties, dict) or not isinstance(required, list):
        raise UnfitSchema("its input schema's properties or required are malformed")
    undescribed = [name for name in required if name not in properties]
    if undescribed:
        raise UnfitSchema(f"its input schema requires {', '.join(map(str, undescribed))} without describing it")
    return result


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _rewrite(node: Any) -> Any:
    """Drop `$schema`-like keywords; point draft-07 `#/definitions/` references at `#/$defs/`."""
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "$ref" and isinstance(value, str):
            if not value.startswith("#"):
                raise UnfitSchema(f"its input schema refers outside itself ({_short(value)})")
            out[key] = "#/$defs/" + value.removeprefix(_DEFINITIONS) if value.startswith(_DEFINITIONS) else value
        elif key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
            out[key] = {name: _rewrite(sub) for name, sub in value.items()} if isinstance(value, Mapping) else value
        elif key in ("default", "enum", "const", "examples"):
            out[key] = value
        else:
            out[key] = _rewrite(value)
    return out


@dataclass(frozen=True)
class JsonSchemaArguments:
    """The arguments of an MCP tool: checked against its (normalised) schema, passed on as one dict."""

    schema: dict[str, Any]
    context_param: str | None = "ctx"

    def json_schema(self) -> dict[str, Any]:
        return self.schema

    @cached_property
    def _validator(self) -> Validator:
        return Draft202012Validator(self.schema)

    def validate(self, parameters: str) -> dict[str, Any]:
        """`{"arguments": {...}}` for the tool's proxy, or `InvalidArguments` worded for the LLM."""
        data = load_arguments(parameters)
        errors = sorted(self._validator.iter_errors(data), key=lambda error: [str(p) for p in error.absolute_path])
        if errors:
            problems = [problem for error in errors for problem in describe(error)]
            if len(problems) > _MAX_PROBLEMS:
                problems = [*problems[:_MAX_PROBLEMS], f"and {len(problems) - _MAX_PROBLEMS} more problems"]
            raise InvalidArguments(problems)
        return {"arguments": data}


def describe(error: ValidationError) -> list[str]:
    """Short phrases naming each problem, in the words `ArgumentSpec` uses for our own tools."""
    where = _location(tuple(error.absolute_path))
    got = _short(json.dumps(error.instance, default=str))
    expected: Any = error.validator_value
    if error.validator == "required" and isinstance(error.instance, Mapping) and isinstance(expected, list):
        prefix = "" if where == "the arguments" else f"{where}."
        return [f"{prefix}{name} is required" for name in expected if name not in error.instance]
    if error.validator == "enum" and isinstance(expected, list):
        return [f"{where} must be one of {', '.join(json.dumps(v) for v in expected)} (got {got})"]
    if error.validator == "const":
        return [f"{where} must be {json.dumps(expected)} (got {got})"]
    if error.validator == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return [f"{where} should be {' or '.join(map(str, kinds))} (got {got})"]
    return [f"{where}: {_short(error.message)}"]


def _location(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the arguments"


def _short(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"
