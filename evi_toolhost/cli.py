"""The `evi-toolhost` command. Each subcommand lives in its own module under `evi_toolhost.commands`
(or the worker tier) exposing `configure(parser)` and `run(args) -> int`; it is imported only
when chosen, so `evi-toolhost web` never loads the worker's plugins, and vice versa.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "web": ("evi_toolhost.commands.web", "serve the webhook intake (uvicorn)"),
    "worker": ("evi_toolhost.commands.worker", "run tool calls and lifecycle jobs from the RQ queues"),
    "relay": ("evi_toolhost.commands.relay", "hold live control-plane sockets for active chats"),
    "simulate": ("evi_toolhost.commands.simulate", "run the local EVI simulator and/or play a script"),
    "dev": ("evi_toolhost.commands.dev", "run web, worker and relay together on an embedded Redis"),
    "demo": ("evi_toolhost.commands.demo", "play a scripted conversation against everything, embedded"),
    "tools": ("evi_toolhost.commands.tools", "create and version the Hume tools from the registered handlers"),
    "config": ("evi_toolhost.commands.config", "attach our tools and webhook to a Hume config"),
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
