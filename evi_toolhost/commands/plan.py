"""`evi-toolhost plan [--file evi.yaml] [--env NAME] [--tools MODULE ...]`: how Hume differs from `evi.yaml`, field
by field: each prompt, tool and config to create or version, then a summary line. Changes nothing.

The file's `tool_modules`, `TOOL_MODULES`, `--tools` and the `evi_toolhost.tools` entry points name the handler
modules whose tools are synced. Exit codes: 0 done, 1 Hume refused or its state does not allow it, 2 the file
or the setup is wrong (each problem on its own line, naming the file's line and field).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from evi_toolhost.as_code import AsCodeError
from evi_toolhost.as_code.evi_file import DEFAULT_FILE, LoadedFile, load_file
from evi_toolhost.as_code.plan import Plan, make_plan
from evi_toolhost.as_code.render import plan_lines
from evi_toolhost.commands.tools import fail, open_client
from evi_toolhost.startup import import_from_working_directory
from evi_toolhost.sync import SyncError
from service.evi.management import HumeApiError
from service.settings import Settings, load_settings
from workers.handlers.discovery import DiscoveryError, discover
from workers.handlers.registry import RegisteredTool, default_registry


def configure(parser: argparse.ArgumentParser) -> None:
    add_file_arguments(parser)


def add_file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", default=DEFAULT_FILE, help=f"the configuration file (default: {DEFAULT_FILE})")
    parser.add_argument("--env", metavar="NAME", help="apply the file's `environments: NAME:` overrides")
    parser.add_argument(
        "--tools",
        nargs="+",
        action="extend",
        default=[],
        metavar="MODULE",
        help="handler module to import (repeatable; added to the file's tool_modules and TOOL_MODULES)",
    )


def registered_tools(modules: Sequence[str]) -> list[RegisteredTool]:
    """The tools of these handler modules (and of the entry points), imported now."""
    import_from_working_directory()
    loaded = {name.split(":")[0] for name in discover(list(dict.fromkeys(modules)))}
    return [tool for tool in default_registry.tools() if tool.func.__module__ in loaded]


def prepare(args: argparse.Namespace) -> tuple[Settings, LoadedFile, list[RegisteredTool]] | int:
    """The settings, the file and the registered tools, or an exit code after saying what is wrong."""
    try:
        loaded = load_file(args.file, args.env)
    except AsCodeError as exc:
        return fail(str(exc).replace("\n", "\nevi-toolhost: "), code=2)
    settings = load_settings()
    try:
        tools = registered_tools([*loaded.tool_modules, *settings.tool_modules, *args.tools])
    except DiscoveryError as exc:
        return fail(str(exc), code=2)
    return settings, loaded, tools


def run(args: argparse.Namespace) -> int:
    prepared = prepare(args)
    if isinstance(prepared, int):
        return prepared
    settings, loaded, tools = prepared
    try:
        with open_client(settings) as client:
            plan = make_plan(client, loaded, tools)
    except (HumeApiError, SyncError, AsCodeError) as exc:
        return fail(str(exc))
    print_plan(plan)
    return 0


def print_plan(plan: Plan) -> None:
    for line in plan_lines(plan):
        print(line)
    sys.stdout.flush()
