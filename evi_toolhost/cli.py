"""The `evi-toolhost` command: the one place that wires the web tier and the worker tier together.

Each subcommand lives in its own module under `evi_toolhost.commands`, exposing `configure(parser)` and
`run(args) -> int`; it is imported only when chosen, so `evi-toolhost web` never loads the worker tier or a
tool module, and vice versa. Before anything else, the command checks that `service` and `workers` are
evi-toolhost's own packages (`evi_toolhost.packages`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from evi_toolhost.packages import shadowing_problem

SUBCOMMANDS: dict[str, str] = {
    "web": "serve the webhook intake (uvicorn)",
    "worker": "run tool calls and lifecycle jobs from the RQ queues",
    "relay": "hold live control-plane sockets for active chats",
    "simulate": "run the local EVI simulator, play a script or one tool call against the service",
    "dev": "run web, worker and relay together on an embedded Redis",
    "demo": "play a scripted conversation against everything, embedded",
    "tools": "create and version the Hume tools from the registered handlers",
    "config": "attach our tools and webhook to a Hume config",
    "mcp": "serve the registered tools as an MCP server (stdio, or streamable HTTP)",
    "plan": "show how Hume differs from evi.yaml, field by field",
    "apply": "create or version at Hume exactly what differs from evi.yaml",
    "pull": "write evi.yaml from an existing Hume config",
    "chats": "list recent chats, show or export one with its tool calls and emotions",
    "chat-groups": "show the chats of a chat group",
    "calls": "the call log: list, show, follow or replay recorded tool calls",
}


class Command(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def command_module(name: str) -> Command:
    return cast(Command, importlib.import_module(f"evi_toolhost.commands.{name.replace('-', '_')}"))


def main(argv: Sequence[str] | None = None) -> int:
    problem = shadowing_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="evi-toolhost", description="Run Python functions as Hume EVI tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = args_list[0] if args_list else None
    for name, help_text in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            command_module(name).configure(sub)
    args = parser.parse_args(args_list)
    return command_module(args.command).run(args)


if __name__ == "__main__":
    sys.exit(main())
