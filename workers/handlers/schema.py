"""A tool's arguments: a pydantic model built from the function's signature, its JSON Schema in the shape
Hume expects (an object with `properties` and `required`, every `$ref` inlined), argument validation, and
the wording of validation errors, written for the LLM to correct itself.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from workers.handlers.context import ToolContext
from workers.handlers.docstrings import Docstring

_MAX_ERRORS = 5
_MAX_INPUT_REPR = 40


class InvalidArguments(Exception):
    """The arguments do not fit the tool's schema; `problems` are short phrases naming each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ToolArguments(Protocol):
    """What running a tool needs from its arguments: the JSON Schema Hume gets, and validation of a call's."""

    @property
    def context_param(self) -> str | None:
        """The keyword that receives the `ToolContext`, if any."""

    def json_schema(self) -> dict[str, Any]: ...

    def validate(self, parameters: str) -> dict[str, Any]:
        """Keyword arguments for the tool's function, or `InvalidArguments`."""


@dataclass(frozen=True)
class ArgumentSpec:
    """How to turn the `parameters` JSON of a tool call into keyword arguments for the function."""

    model: type[BaseModel]
    names: dict[str, str]
    """model field name → the function's parameter name."""
    context_param: str | None
    """The parameter that receives the `ToolContext`, if any."""
    sensitive: frozenset[str] = frozenset()
    """Parameters whose values a validation error never quotes (`@tool(redact=...)`)."""

    def json_schema(self) -> dict[str, Any]:
        return hume_schema(self.model.model_json_schema())

    def validate(self, parameters: str) -> dict[str, Any]:
        """Keyword arguments for the function, or `InvalidArguments`. An empty string means no arguments."""
        data = load_arguments(parameters)
        try:
            instance = self.model.model_validate(data)
        except ValidationError as exc:
            raise InvalidArguments(describe_errors(exc, self.sensitive)) from None
        except RecursionError:
            raise InvalidArguments(["the arguments nest deeper than any tool's parameters can"]) from None
        return {param: getattr(instance, field_name) for field_name, param in self.names.items()}


def load_arguments(parameters: str) -> dict[str, Any]:
    """A tool call's `parameters` text as a JSON object, or `InvalidArguments`; an empty string is `{}`."""
    text = parameters.strip() or "{}"
    try:
        data = json.loads(text)
    except RecursionError:
        raise InvalidArguments(["the arguments nest deeper than any tool's parameters can"]) from None
    except ValueError as exc:
        raise InvalidArguments([f"the arguments are not valid JSON ({exc.args[0] if exc.args else exc})"]) from None
    if not isinstance(data, dict):
        raise InvalidArguments([f"the arguments must be a JSON object, not {type(data).__name__}"])
    return data


def build_arguments(func: Callable[..., Any], tool_name: str, docstring: Docstring) -> ArgumentSpec:
    """Raise TypeError naming the parameter when a signature cannot become a tool schema."""
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise TypeError(f"tool {tool_name!r}: cannot resolve the type hints of {func.__qualname__}: {exc}") from exc
    fields: dict[str, Any] = {}
    names: dict[str, str] = {}
    context_param: str | None = None
    for index, (name, param) in enumerate(signature.parameters.items()):
        where = f"tool {tool_name!r}, parameter {name!r}"
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"{where}: *args and **kwargs are not supported; name every parameter")
        if param.kind is param.POSITIONAL_ONLY:
            raise TypeError(f"{where}: positional-only parameters are not supported")
        if name not in hints:
            raise TypeError(f"{where}: add a type hint, it becomes the argument's JSON Schema")
        hint = hints[name]
        if _is_context(hint):
            context_param = name
            continue
        field_name = f"p{index}"
        fields[field_name] = _field(hint, param.default, name, docstring.params.get(name))
        names[field_name] = name
    model_name = "".join(part.capitalize() for part in tool_name.replace("-", "_").split("_")) + "Arguments"
    try:
        model = create_model(model_name, __config__=ConfigDict(extra="ignore"), **fields)
        schema = model.model_json_schema()
    except Exception as exc:
        raise TypeError(f"tool {tool_name!r}: its parameters cannot be described as JSON Schema: {exc}") from exc
    try:
        hume_schema(schema)
    except TypeError as exc:
        raise TypeError(f"tool {tool_name!r}: {exc}") from None
    return ArgumentSpec(model=model, names=names, context_param=context_param)


def _is_context(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, ToolContext)


def _field(hint: Any, default: Any, name: str, doc_description: str | None) -> tuple[Any, FieldInfo]:
    """(annotation, FieldInfo) for create_model: aliased to the parameter's name, described if we can."""
    metadata: list[Any] = []
    base = hint
    if typing.get_origin(hint) is Annotated:
        base, *metadata = typing.get_args(hint)
    has_description = any(isinstance(m, FieldInfo) and m.description for m in metadata)
    texts = [m for m in metadata if isinstance(m, str)]
    metadata = [m for m in metadata if not isinstance(m, str)]
    if isinstance(default, FieldInfo):
        has_description = has_description or bool(default.description)
        metadata.append(default)
        default = inspect.Parameter.empty
    description = None if has_description else (texts[0] if texts else doc_description)
    annotation = Annotated[(base, *metadata)] if metadata else base
    kwargs: dict[str, Any] = {"alias": name}
    if description:
        kwargs["description"] = description
    if default is not inspect.Parameter.empty:
        kwargs["default"] = default
    return annotation, Field(**kwargs)


# --- Hume-friendly JSON Schema -------------------------------------------------------------------------

_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_VALUES = frozenset({"default", "enum", "const", "examples"})
"""Keywords whose value is data, not a schema: copied as they are."""


def hume_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Inline every `$ref`; drop `$defs`, `title`s and OpenAPI's `discriminator`; make sure `properties` and
    `required` exist."""
    defs: Mapping[str, Any] = schema.get("$defs", {})
    result: dict[str, Any] = _inline(schema, defs, ())
    result.pop("$defs", None)
    result.setdefault("type", "object")
    result.setdefault("properties", {})
    result.setdefault("required", [])
    return result


def _inline(node: Any, defs: Mapping[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, seen) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.removeprefix("#/$defs/")
        if name in seen or name not in defs:
            raise TypeError(f"recursive or unresolvable type in tool parameters: {name}")
        out.update(_inline(defs[name], defs, (*seen, name)))
    for key, value in node.items():
        if key in ("$ref", "$defs", "title") or (key == "discriminator" and isinstance(value, Mapping)):
            # `discriminator` is OpenAPI's, not JSON Schema's, and its mapping points into `$defs`; the
            # `oneOf` it annotates already tells the variants apart by their `const` tag.
            continue
        if key in _VALUES:
            out[key] = value
        elif key in _NAME_MAPS and isinstance(value, Mapping):
            out[key] = {prop: _inline(sub, defs, seen) for prop, sub in value.items()}
        else:
            out[key] = _inline(value, defs, seen)
    return out


# --- Validation errors, worded for the LLM ---------------------------------------------------------------


def describe_errors(exc: ValidationError, sensitive: frozenset[str] = frozenset()) -> list[str]:
    """One phrase per problem; the input is quoted unless it belongs to a `sensitive` parameter."""
    problems = [_describe(error, sensitive) for error in exc.errors(include_url=False)]
    if len(problems) > _MAX_ERRORS:
        problems = [*problems[:_MAX_ERRORS], f"and {len(problems) - _MAX_ERRORS} more problems"]
    return problems


def _describe(error: Mapping[str, Any], sensitive: frozenset[str] = frozenset()) -> str:
    where = _location(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    loc = error["loc"]
    got = "a redacted value" if loc and loc[0] in sensitive else _short_repr(error.get("input"))
    if kind == "missing":
        return f"{where} is required"
    if kind in ("literal_error", "enum") and "expected" in ctx:
        choices = str(ctx["expected"]).replace(" or ", ", ")
        return f"{where} must be one of {choices} (got {got})"
    message = str(error["msg"])
    if message.startswith("Input should"):
        return f"{where} should{message.removeprefix('Input should')} (got {got})"
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return f"{where}: {message}"


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the arguments"


def _short_repr(value: Any) -> str:
    if value is PydanticUndefined:
        return "nothing"
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_INPUT_REPR else text[: _MAX_INPUT_REPR - 1] + "…"
