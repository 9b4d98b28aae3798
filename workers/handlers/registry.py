"""The handler registry: `@tool`, `@on_chat_started`, `@on_chat_ended`.

Decorating registers the function and returns it unchanged, so it stays callable (and typed) as before.
Every mistake a decorator can see (an unknown option, a duplicate name, a parameter that has no JSON
Schema) raises when the module is imported, not when EVI first calls the tool.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, ParamSpec, TypeVar, overload

from workers.handlers.call_policy import DEFAULT_POLICY, POLICY_OPTIONS, CallPolicy, ChatEndPolicy, build_policy
from workers.handlers.docstrings import parse_docstring
from workers.handlers.redaction import check_redact
from workers.handlers.schema import ToolArguments, build_arguments

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

TOOL_OPTIONS = ("name", "description", "fallback", "timeout", "redact", *POLICY_OPTIONS)
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

HookKind = Literal["chat_started", "chat_ended"]
HOOK_ARGUMENTS: dict[HookKind, tuple[str, ...]] = {
    "chat_started": ("event", "ctx"),
    "chat_ended": ("event", "ctx", "transcript"),
}


@dataclass(frozen=True)
class RegisteredTool:
    name: str
    func: Callable[..., Any]
    description: str | None
    fallback: str | None
    timeout: float | None
    """Seconds; None means the `TOOL_TIMEOUT_SECONDS` setting, read when the call runs."""
    arguments: ToolArguments
    source: str | None = None
    """Where a tool not written as a Python function comes from (an MCP server's), shown as its origin."""
    redact: frozenset[str] = frozenset()
    """Arguments whose values are never stored, logged or traced (`workers.handlers.redaction`)."""
    policy: CallPolicy = DEFAULT_POLICY
    """What is said around the call, background running, chat end and interruption (`call_policy`)."""

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    @property
    def answer_timeout(self) -> float | None:
        """Seconds EVI waits for this tool's answer (None: `TOOL_TIMEOUT_SECONDS`). A background tool is answered
        at once by its ack: its own `timeout` bounds its run, not EVI's wait."""
        return None if self.policy.background else self.timeout

    @property
    def origin(self) -> str:
        if self.source is not None:
            return self.source
        return f"{self.func.__module__}.{self.func.__qualname__}"

    @property
    def location(self) -> str:
        """Where the function is defined, line included: importing its module again registers the same
        location (not a duplicate), while two definitions of one name in a module are two locations."""
        code = getattr(self.func, "__code__", None)
        line = f" (line {code.co_firstlineno})" if code is not None else ""
        return f"{self.origin}{line}"

    def parameters_schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments: what Hume's `parameters` (as a string) is made from."""
        return self.arguments.json_schema()


@dataclass(frozen=True)
class Hook:
    kind: HookKind
    func: Callable[..., Any]
    arity: int
    """How many of (event, ctx[, transcript]) the function takes, in that order."""

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


class Registry:
    """Tools by name, and lifecycle hooks in registration order."""

    def __init__(self) -> None:
        self._tools: dict[str, RegisteredTool] = {}
        self._hooks: list[Hook] = []

    def tools(self) -> list[RegisteredTool]:
        return list(self._tools.values())

    def get(self, name: str) -> RegisteredTool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def hooks(self, kind: HookKind) -> list[Hook]:
        return [hook for hook in self._hooks if hook.kind == kind]

    def add(self, tool: RegisteredTool) -> None:
        """Register a tool built elsewhere (from an MCP server's listing); replaces one of the same origin, and
        raises ValueError when another tool has its name."""
        existing = self._tools.get(tool.name)
        if existing is not None and existing.origin != tool.origin:
            raise ValueError(f"duplicate tool name {tool.name!r}: {tool.origin} and {existing.origin}")
        self._tools = {**self._tools, tool.name: tool}  # a new dict: job threads may be reading the old one

    def remove(self, name: str) -> None:
        self._tools = {key: tool for key, tool in self._tools.items() if key != name}

    def with_timeout(self, name: str, timeout: float) -> Registry:
        """A copy in which the tool `name` (if registered) has this timeout: for tests that need a short one."""
        copy = Registry()
        copy._tools = dict(self._tools)
        copy._hooks = list(self._hooks)
        if name in copy._tools:
            copy._tools[name] = replace(copy._tools[name], timeout=float(timeout))
        return copy

    # --- @tool ---------------------------------------------------------------------------------------

    @overload
    def tool(self, func: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def tool(
        self,
        func: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        fallback: str | None = None,
        timeout: float | None = None,
        redact: Iterable[str] | None = None,
        say_on_start: str | None = None,
        say_if_slow: str | Sequence[str] | None = None,
        slow_after: float | None = None,
        background: bool = False,
        ack: str | None = None,
        announce: bool | None = None,
        on_chat_end: ChatEndPolicy = "cancel",
        cancel_on_interrupt: bool = False,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def tool(
        self,
        func: Callable[P, R] | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        fallback: str | None = None,
        timeout: float | None = None,
        redact: Iterable[str] | None = None,
        say_on_start: str | None = None,
        say_if_slow: str | Sequence[str] | None = None,
        slow_after: float | None = None,
        background: bool = False,
        ack: str | None = None,
        announce: bool | None = None,
        on_chat_end: ChatEndPolicy = "cancel",
        cancel_on_interrupt: bool = False,
        **unknown: Any,
    ) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
        """Register a function (plain or `async def`) as an EVI tool.

        Options: `name` (default: the function's name), `description` (default: the docstring's summary),
        `fallback` (what the LLM gets when the tool fails), `timeout` (seconds), `redact` (names of arguments
        whose values are never stored, logged or traced); what the caller hears and what stops the call:
        `say_on_start`, `say_if_slow`, `slow_after`, `background`, `ack`, `announce`, `on_chat_end`,
        `cancel_on_interrupt` (`workers.handlers.call_policy`).
        """
        if unknown:
            raise TypeError(
                f"@tool got unknown option(s) {', '.join(map(repr, sorted(unknown)))}; "
                f"the options are {', '.join(TOOL_OPTIONS)}"
            )
        _check_options(name=name, description=description, fallback=fallback, timeout=timeout)
        policy = build_policy(
            say_on_start=say_on_start,
            say_if_slow=say_if_slow,
            slow_after=slow_after,
            background=background,
            ack=ack,
            announce=announce,
            on_chat_end=on_chat_end,
            cancel_on_interrupt=cancel_on_interrupt,
        )

        def register(function: Callable[P, R]) -> Callable[P, R]:
            self._add_tool(
                function,
                name=name,
                description=description,
                fallback=fallback,
                timeout=timeout,
                redact=redact,
                policy=policy,
            )
            return function

        if func is None:
            return register
        if not callable(func):
            raise TypeError(f"@tool decorates a function, not {func!r}")
        return register(func)

    def _add_tool(
        self,
        func: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        fallback: str | None = None,
        timeout: float | None = None,
        redact: Iterable[str] | None = None,
        policy: CallPolicy = DEFAULT_POLICY,
    ) -> None:
        tool_name: str = name or str(getattr(func, "__name__", ""))
        if not _TOOL_NAME.match(tool_name):
            raise ValueError(f"tool name {tool_name!r} must be 1-64 letters, digits, '_' or '-'")
        doc = parse_docstring(inspect.getdoc(func))
        arguments = build_arguments(func, tool_name, doc)
        hidden = check_redact(tool_name, redact, arguments.names.values())
        if hidden:
            arguments = replace(arguments, sensitive=hidden)
        registered = RegisteredTool(
            name=tool_name,
            func=func,
            description=description if description is not None else doc.summary,
            fallback=fallback,
            timeout=float(timeout) if timeout is not None else None,
            arguments=arguments,
            redact=hidden,
            policy=policy,
        )
        existing = self._tools.get(tool_name)
        if existing is not None and existing.location != registered.location:
            raise ValueError(
                f"duplicate tool name {tool_name!r}: {registered.location} and {existing.location}; "
                "give one of them another name with @tool(name=...)"
            )
        self._tools[tool_name] = registered

    # --- lifecycle hooks ---------------------------------------------------------------------------

    def on_chat_started(self, func: F) -> F:
        """Register `func(event, ctx)` (sync or async) to run when a chat starts."""
        self._add_hook("chat_started", func)
        return func

    def on_chat_ended(self, func: F) -> F:
        """Register `func(event, ctx, transcript)` (sync or async) to run when a chat ends."""
        self._add_hook("chat_ended", func)
        return func

    def _add_hook(self, kind: HookKind, func: Callable[..., Any]) -> None:
        if not callable(func):
            raise TypeError(f"@on_{kind} decorates a function, not {func!r}")
        hook = Hook(kind, func, _hook_arity(kind, func))
        self._hooks = [h for h in self._hooks if h.name != hook.name or h.kind != kind]
        self._hooks.append(hook)


def _check_options(**options: Any) -> None:
    for key in ("name", "description", "fallback"):
        if options.get(key) is not None and not isinstance(options[key], str):
            raise TypeError(f"@tool option {key}= must be a string, not {type(options[key]).__name__}")
    timeout = options.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise ValueError(f"@tool option timeout= must be a positive number of seconds, not {timeout!r}")


def _hook_arity(kind: HookKind, func: Callable[..., Any]) -> int:
    wanted = HOOK_ARGUMENTS[kind]
    params = list(inspect.signature(func).parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return len(wanted)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required_other = [p for p in params if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    if len(positional) > len(wanted) or required_other:
        raise TypeError(
            f"@on_{kind} hook {func.__qualname__} must take at most ({', '.join(wanted)}) as positional parameters"
        )
    return len(positional)


default_registry = Registry()
"""The registry `@tool` and the hooks write to, and the worker reads."""

tool = default_registry.tool
on_chat_started = default_registry.on_chat_started
on_chat_ended = default_registry.on_chat_ended
