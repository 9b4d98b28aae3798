"""`evi-toolhost apply [--file evi.yaml] [--env NAME] [--tools MODULE ...]`: make Hume match `evi.yaml`: print the
plan (as `evi-toolhost plan` does), carry it out, and print one row per tool, prompt and config (kind, name, id,
version, action). A second apply posts nothing. Exit codes as for `plan`.
"""

from __future__ import annotations

import argparse

from evi_toolhost.as_code import AsCodeError
from evi_toolhost.as_code.apply import apply_plan
from evi_toolhost.as_code.plan import make_plan
from evi_toolhost.as_code.render import outcome_lines
from evi_toolhost.commands.plan import add_file_arguments, prepare, print_plan
from evi_toolhost.commands.tools import fail, open_client
from evi_toolhost.sync import SyncError
from service.evi.management import HumeApiError


def configure(parser: argparse.ArgumentParser) -> None:
    add_file_arguments(parser)


def run(args: argparse.Namespace) -> int:
    prepared = prepare(args)
    if isinstance(prepared, int):
        return prepared
    settings, loaded, tools = prepared
    try:
        with open_client(settings) as client:
            plan = make_plan(client, loaded, tools)
            print_plan(plan)
            if not plan.needed:
                print("nothing to do: Hume already matches the file")
                return 0
            outcomes = apply_plan(client, plan)
    except (HumeApiError, SyncError, AsCodeError) as exc:
        return fail(str(exc))
    for line in outcome_lines(outcomes):
        print(line)
    return 0
