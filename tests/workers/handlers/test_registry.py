"""`@tool` and the lifecycle decorators: options, names, what they keep and what they reject."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from workers.handlers.registry import Registry


def test_bare_decorator_uses_the_function_name_and_docstring_summary(registry: Registry) -> None:
    @registry.tool
    def get_weather(city: str) -> str:
        """Current weather in a city.

        Args:
            city: The city.
        """
        return f"sunny in {city}"

    registered = registry.get("get_weather")
    assert registered is not None
    assert registered.description == "Current weather in a city."
    assert (registered.fallback, registered.timeout, registered.is_async) == (None, None, False)
    # The decorated function is the same function, still callable as before.
    assert get_weather("Paris") == "sunny in Paris"
    assert registered.func is get_weather


def test_options(registry: Registry) -> None:
    @registry.tool(name="weather-now", timeout=5, fallback="Weather is down.", description="Weather.")
    async def get_weather(city: str) -> str:
        return city

    registered = registry.get("weather-now")
    assert registered is not None
    assert (registered.description, registered.fallback, registered.timeout) == ("Weather.", "Weather is down.", 5.0)
    assert registered.is_async
    assert registry.get("get_weather") is None


def test_parenthesised_decorator_without_options(registry: Registry) -> None:
    @registry.tool()
    def ping() -> str:
        return "pong"

    assert registry.names() == ["ping"]


def test_unknown_option_is_a_type_error_naming_it(registry: Registry) -> None:
    options: dict[str, Any] = {"timout": 5}
    with pytest.raises(TypeError, match=r"unknown option\(s\) 'timout'; the options are name, description, fallback"):
        registry.tool(**options)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"timeout": 0}, ValueError),
        ({"timeout": -1}, ValueError),
        ({"timeout": "5"}, ValueError),
        ({"timeout": True}, ValueError),
        ({"fallback": 3}, TypeError),
        ({"name": "has space"}, ValueError),
        ({"name": "x" * 65}, ValueError),
    ],
)
def test_bad_option_values(registry: Registry, options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):

        @registry.tool(**options)
        def probe() -> None: ...


def test_duplicate_names_raise_naming_both_functions(registry: Registry) -> None:
    @registry.tool(name="lookup")
    def first() -> None: ...

    with pytest.raises(
        ValueError, match=r"duplicate tool name 'lookup': .*second \(line \d+\) and .*first \(line \d+\)"
    ):

        @registry.tool(name="lookup")
        def second() -> None: ...


def test_two_functions_of_one_name_in_one_module_are_duplicates(registry: Registry, tmp_path: Path) -> None:
    module = tmp_path / "twice.py"
    module.write_text(
        "def register(tool):\n"
        "    @tool\n"
        "    def forecast(city: str) -> str:\n"
        "        return city\n"
        "\n"
        "    @tool\n"
        "    def forecast(city: str) -> str:  # noqa: F811\n"
        "        return city.upper()\n"
    )
    namespace: dict[str, object] = {"__name__": "twice"}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    with pytest.raises(
        ValueError, match=r"duplicate tool name 'forecast': twice\..*forecast \(line 6\) and .*forecast \(line 2\)"
    ):
        namespace["register"](registry.tool)  # type: ignore[operator]


def test_registering_the_same_function_again_replaces_it(registry: Registry) -> None:
    def ping() -> str:
        return "pong"

    registry.tool(ping)
    registry.tool(timeout=3)(ping)  # e.g. a module imported twice
    registered = registry.get("ping")
    assert registered is not None and registered.timeout == 3.0
    assert len(registry.tools()) == 1


def test_hooks_register_in_order_and_check_their_signature(registry: Registry) -> None:
    @registry.on_chat_started
    def started(event: object, ctx: object) -> None: ...

    @registry.on_chat_ended
    async def ended(event: object) -> None: ...

    @registry.on_chat_ended
    def ended_with_transcript(event: object, ctx: object, transcript: object) -> None: ...

    assert [h.func for h in registry.hooks("chat_started")] == [started]
    assert [(h.func, h.arity) for h in registry.hooks("chat_ended")] == [(ended, 1), (ended_with_transcript, 3)]
    with pytest.raises(TypeError, match="at most"):

        @registry.on_chat_started
        def too_many(event: object, ctx: object, extra: object) -> None: ...


def test_default_registry_decorators_are_exported() -> None:
    import workers
    from workers.handlers.registry import default_registry

    assert workers.tool.__self__ is default_registry  # type: ignore[attr-defined]
    assert workers.on_chat_started.__self__ is default_registry  # type: ignore[attr-defined]


def test_a_tool_built_elsewhere_is_added_replaced_and_removed_by_its_source(registry: Registry) -> None:
    @registry.tool
    def get_weather(city: str) -> str:
        return city

    template = registry.get("get_weather")
    assert template is not None
    remote = replace(template, name="remote_weather", source="MCP server remote, tool weather")
    registry.add(remote)
    assert registry.get("remote_weather") is remote and remote.origin == "MCP server remote, tool weather"
    newer = replace(remote, description="Newer.")
    registry.add(newer)
    assert registry.get("remote_weather") is newer
    with pytest.raises(ValueError, match="duplicate tool name 'get_weather': MCP server other, tool x and "):
        registry.add(replace(template, source="MCP server other, tool x"))
    registry.remove("remote_weather")
    assert registry.names() == ["get_weather"]


def test_redact_names_parameters_whose_values_are_never_kept(registry: Registry) -> None:
    @registry.tool(redact=["card_number"])
    def pay(card_number: str, amount: int) -> str:
        return "ok"

    registered = registry.get("pay")
    assert registered is not None and registered.redact == frozenset({"card_number"})
    with pytest.raises(ValueError, match="redact= names 'cvc', which is not a parameter of it"):

        @registry.tool(redact=["cvc"])
        def refund(card_number: str) -> str:
            return "ok"

    assert registry.get("refund") is None
