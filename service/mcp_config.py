"""The MCP servers whose tools become EVI tools, as `MCP_SERVERS` lists them, and their per-server timeouts.

`MCP_SERVERS` is comma-separated, each entry `NAME=URL` (streamable HTTP, `http://` or `https://`) or
`NAME=stdio:COMMAND ARGS` (a process spoken to over its stdin and stdout; the arguments split as a shell would).
`MCP_SERVER_TIMEOUTS` is comma-separated `NAME=SECONDS`. A bad entry is a `ValueError` in one line that names the
entry by its position and server name, never by its text (a URL may carry a token).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
STDIO_PREFIX = "stdio:"
ENTRY_SHAPE = "NAME=URL (http:// or https://) or NAME=stdio:COMMAND ARGS"


@dataclass(frozen=True)
class McpServerSpec:
    name: str
    """Prefixes each of its tools' names: `NAME_TOOL`."""
    url: str | None = field(default=None, repr=False)
    """Not in the repr: it may carry credentials (`where` is the printable form)."""
    command: tuple[str, ...] = ()

    @property
    def transport(self) -> Literal["http", "stdio"]:
        return "http" if self.url is not None else "stdio"

    @property
    def where(self) -> str:
        """The URL without credentials or query (either may hold a secret), or the command."""
        if self.url is None:
            return f"stdio: {shlex.join(self.command)}"
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port is not None else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_mcp_servers(text: str) -> list[McpServerSpec]:
    specs: list[McpServerSpec] = []
    entries = [part.strip() for part in text.split(",") if part.strip()]
    for position, entry in enumerate(entries, start=1):
        spec = _parse_entry(entry, position)
        if any(existing.name == spec.name for existing in specs):
            raise ValueError(f"the server name {spec.name!r} is listed twice")
        specs.append(spec)
    return specs


def _parse_entry(entry: str, position: int) -> McpServerSpec:
    name, sep, target = (part.strip() for part in entry.partition("="))
    if not sep or not target:
        raise ValueError(f"entry {position} must be {ENTRY_SHAPE}")
    if not _NAME.match(name):
        raise ValueError(f"server name {name!r} must be 1-32 letters, digits, '_' or '-'")
    if target.startswith(STDIO_PREFIX):
        try:
            command = tuple(shlex.split(target.removeprefix(STDIO_PREFIX)))
        except ValueError as exc:
            raise ValueError(f"server {name!r}: its command cannot be split into arguments ({exc})") from None
        if not command:
            raise ValueError(f"server {name!r}: stdio: needs a command, e.g. {name}=stdio:python server.py")
        return McpServerSpec(name=name, command=command)
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"server {name!r} (entry {position}) must be {ENTRY_SHAPE}")
    return McpServerSpec(name=name, url=target)


def parse_timeouts(text: str) -> dict[str, float]:
    timeouts: dict[str, float] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        name, sep, seconds = (part.strip() for part in entry.partition("="))
        try:
            value = float(seconds) if sep else 0.0
        except ValueError:
            value = 0.0
        if not name or value <= 0 or value != value:  # value != value: NaN
            raise ValueError(f"entry {entry!r} must be NAME=SECONDS with a positive number of seconds")
        timeouts[name] = value
    return timeouts
