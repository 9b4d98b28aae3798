"""The `evi-toolhost` command. Each subcommand lives in its own module under `service.commands`
(or the worker tier) exposing `configure(parser)` and `run(args) -> int`; it is imported only
when chosen, so `evi-toolhost web` never loads the worker's plugins, and vice versa.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "web": ("service.commands.web", "serve the webhook intake (uvicorn)"),
    "worker": ("workers.command", "run tool calls and lifecycle jobs from the RQ queues"),
    "relay": ("workers.relay_command", "hold live control-plane sockets for active chats"),
    "simulate": ("service.simulator.command", "run the local EVI simulator and/or play a script"),
    "dev": ("service.commands.dev", "run web, worker and relay together on an embedded Redis"),
    "demo": ("service.commands.demo", "play a scripted conversation against everything, embedded"),
    "tools": ("service.commands.tools", "create and version the Hume tools from the registered handlers"),
    "config": ("service.commands.config", "attach our tools and webhook to a Hume config"),
}


def _load(module_name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(module_name)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="evi-toolhost", description="Run Python functions as Hume EVI tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = args_list[0] if args_list else None
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            _load(module_name).configure(sub)
    args = parser.parse_args(args_list)
    result: int = _load(SUBCOMMANDS[args.command][0]).run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
