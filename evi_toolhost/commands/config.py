"""`evi-toolhost config attach --config-id ID --webhook-url URL [--dry-run] [--tools MODULE ...]`: add a
version to a Hume config that keeps every setting, lists our tools at their synced versions (other tools
stay) and subscribes the URL to `chat_started`, `chat_ended` and `tool_call` (other webhooks stay).

The tools must have been synced (`evi-toolhost tools sync`); nothing is posted when the config already
is as wanted. Exit codes as for `tools sync`.
"""

from __future__ import annotations

import argparse
import sys

from evi_toolhost.commands.tools import add_common_arguments, fail, load_tools, open_client
from evi_toolhost.sync import SyncError
from evi_toolhost.sync.attach import apply_attach, format_attach_change, plan_attach
from service.evi.management import HumeApiError
from service.settings import load_settings


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="config_action", required=True, metavar="ACTION")
    attach = actions.add_parser(
        "attach",
        help="list our tools and subscribe our webhook in a new version of a config",
        description="Add a version to a Hume config that keeps every other setting, lists the registered tools "
        "at their synced versions and subscribes the webhook URL to chat_started, chat_ended and tool_call.",
    )
    attach.add_argument("--config-id", required=True, help="the Hume config to attach to")
    attach.add_argument("--webhook-url", required=True, help="where Hume posts events, e.g. https://HOST/hume-webhook")
    add_common_arguments(attach)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    tools = load_tools(settings, args.tools)
    if isinstance(tools, int):
        return tools
    try:
        with open_client(settings) as client:
            plan = plan_attach(client, args.config_id, tools, args.webhook_url)
            for warning in plan.warnings:
                print(f"evi-toolhost: warning: {warning}", file=sys.stderr)
            name = f" ({plan.config_name})" if plan.config_name else ""
            print(f"config {plan.config_id}{name}, version {plan.current_version}")
            for change in plan.changes:
                print(f"  {format_attach_change(change, plan.tool_names)}")
            if not plan.needed:
                print("unchanged: it already lists these tools and the webhook")
                return 0
            if args.dry_run:
                print("dry run: would create a new version; nothing was changed at Hume")
                return 0
            created = apply_attach(client, plan)
    except (HumeApiError, SyncError) as exc:
        return fail(str(exc))
    print(f"created version {created['version'] if created else '?'} of config {plan.config_id}")
    return 0
