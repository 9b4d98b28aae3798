"""`evi-toolhost pull --config-id ID [--file evi.yaml] [--force]`: write `evi.yaml` from a config as Hume has it
(its latest version, every setting, its prompt's text and its tools by name), so a team starts from what it
clicked; `plan` on the written file shows no difference. `--file -` prints it instead. An existing file is
left alone unless `--force`. Exit codes: 0 written, 1 Hume refused, 2 the file exists.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evi_toolhost.as_code import AsCodeError
from evi_toolhost.as_code.evi_file import DEFAULT_FILE
from evi_toolhost.as_code.pull import pulled_text
from evi_toolhost.commands.tools import fail, open_client
from evi_toolhost.sync import SyncError
from service.evi.management import HumeApiError
from service.settings import load_settings


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-id", required=True, help="the Hume config to write the file from")
    parser.add_argument("--file", default=DEFAULT_FILE, help=f"where to write it (default: {DEFAULT_FILE}; - prints)")
    parser.add_argument("--force", action="store_true", help="overwrite the file if it exists")


def run(args: argparse.Namespace) -> int:
    target = None if args.file == "-" else Path(args.file)
    if target is not None and target.exists() and not args.force:
        return fail(f"{target} exists; pass --force to overwrite it", code=2)
    settings = load_settings()
    try:
        with open_client(settings) as client:
            text = pulled_text(client, args.config_id)
    except (HumeApiError, SyncError, AsCodeError) as exc:
        return fail(str(exc))
    if target is None:
        sys.stdout.write(text)
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} from config {args.config_id}; `evi-toolhost plan` compares it with Hume")
    return 0
