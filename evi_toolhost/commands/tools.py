"""`evi-toolhost tools sync [--dry-run] [--tools MODULE ...]`: create and version Hume's tools from the
registered handlers, then print one row per tool (tool, id, version, action).

Handler modules are `--tools` plus `TOOL_MODULES` plus the `evi_toolhost.tools` entry points, and the tools of
the servers in `MCP_SERVERS` join them (a server that gives none is a warning line on stderr). Exit codes:
0 done, 1 Hume refused or Hume's state does not allow it (one line on stderr), 2 bad setup.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from evi_toolhost.startup import import_from_working_directory
from evi_toolhost.sync import SyncError
from evi_toolhost.sync.changes import format_change
from evi_toolhost.sync.tools import ToolOutcome, ToolPlan, sync_tools
from service.evi.management import HumeApiError, HumeManagementClient
from service.settings import Settings, load_settings
from workers.handlers.discovery import ENTRY_POINT_GROUP, DiscoveryError, discover
from workers.handlers.registry import RegisteredTool, default_registry
from workers.mcp_tools.loading import McpSetupError, load_mcp_tools

PROG = "evi-toolhost"


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="tools_action", required=True, metavar="ACTION")
    sync = actions.add_parser(
        "sync",
        help="create missing tools at Hume, version the changed ones",
        description="Create each registered tool at Hume if missing, add a version when its parameters, "
        "description or fallback changed, and leave it alone otherwise.",
    )
    add_common_arguments(sync)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="show what would change, field by field; change nothing")
    parser.add_argument(
        "--tools",
        nargs="+",
        action="extend",
        default=[],
        metavar="MODULE",
        help="handler module to import (repeatable; added to TOOL_MODULES)",
    )


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    tools = load_tools(settings, args.tools)
    if isinstance(tools, int):
        return tools
    try:
        with open_client(settings) as client:
            plans, outcomes = sync_tools(client, tools, dry_run=args.dry_run)
    except (HumeApiError, SyncError) as exc:
        return fail(str(exc))
    print_changes(plans)
    print_table(outcomes)
    if args.dry_run:
        print("dry run: nothing was changed at Hume")
    return 0


def load_tools(settings: Settings, extra_modules: Sequence[str]) -> list[RegisteredTool] | int:
    """Import the handler modules and return the registered tools, or an exit code after saying why not."""
    modules = list(dict.fromkeys([*settings.tool_modules, *extra_modules]))
    import_from_working_directory()
    try:
        discover(modules)
        left_out = load_mcp_tools(settings, default_registry)
    except (DiscoveryError, McpSetupError) as exc:
        return fail(str(exc), code=2)
    for line in left_out:
        print(f"{PROG}: warning: {line}", file=sys.stderr)
    tools = default_registry.tools()
    if not tools:
        return fail(
            f"no tools registered: name handler modules with --tools, TOOL_MODULES or {ENTRY_POINT_GROUP}, "
            "or MCP servers with MCP_SERVERS",
            code=2,
        )
    return tools


def open_client(settings: Settings) -> HumeManagementClient:
    return HumeManagementClient(settings.hume_api_base_url, settings.hume_api_key.get_secret_value())


def fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def print_changes(plans: Sequence[ToolPlan]) -> None:
    for plan in plans:
        if plan.current is None:
            print(f"{plan.desired.name}: new tool")
        elif plan.action == "update":
            print(f"{plan.desired.name}: changed since version {plan.current.version}")
        else:
            continue
        for change in plan.changes:
            print(f"  {format_change(change)}")


def print_table(outcomes: Sequence[ToolOutcome]) -> None:
    rows = [("tool", "id", "version", "action")]
    rows += [(o.name, o.id or "-", "-" if o.version is None else str(o.version), o.action) for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])
