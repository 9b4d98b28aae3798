"""Check JSON the simulator produces against Hume's own schemas (OpenAPI for REST, AsyncAPI for sockets).

A small subset of JSON Schema, enough for these specs: $ref, type (also as a list), nullable, enum,
required, properties, items, oneOf. `strict` also refuses keys the schema does not list.
"""

from __future__ import annotations

from typing import Any

from service.evi.spec_files import ASYNCAPI, OPENAPI, schemas

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def _schemas(file_name: str) -> dict[str, Any]:
    return schemas(file_name)


def rest_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = _schemas(OPENAPI)[name]
    return schema


def socket_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = _schemas(ASYNCAPI)[name]
    return schema


def problems(value: Any, schema: dict[str, Any], file_name: str, path: str = "$", strict: bool = False) -> list[str]:
    if "$ref" in schema:
        return problems(value, _schemas(file_name)[schema["$ref"].rsplit("/", 1)[1]], file_name, path, strict)
    if value is None and schema.get("nullable"):
        return []
    if "oneOf" in schema:
        options = [problems(value, option, file_name, path, strict) for option in schema["oneOf"]]
        return [] if any(not found for found in options) else [f"{path}: matches no oneOf option: {options}"]
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else kinds
        is_bool = isinstance(value, bool)
        if not any(isinstance(value, _TYPES[k]) and (k == "boolean" or not is_bool) for k in allowed):
            return [f"{path}: {value!r} is not {allowed}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} not in {schema['enum']}"]
    found: list[str] = []
    if isinstance(value, dict):
        properties: dict[str, Any] = schema.get("properties", {})
        found += [f"{path}: missing {key}" for key in schema.get("required", []) if key not in value]
        if strict and properties:
            found += [f"{path}: unexpected {key}" for key in value if key not in properties]
        for key, item in value.items():
            if key in properties:
                found += problems(item, properties[key], file_name, f"{path}.{key}", strict)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += problems(item, schema["items"], file_name, f"{path}[{index}]", strict)
    return found


def assert_rest(value: Any, schema_name: str, strict: bool = True) -> None:
    found = problems(value, rest_schema(schema_name), OPENAPI, strict=strict)
    assert not found, f"not a valid {schema_name}: {found}"


def assert_socket(value: Any, schema_name: str) -> None:
    found = problems(value, socket_schema(schema_name), ASYNCAPI)
    assert not found, f"not a valid {schema_name}: {found}"
