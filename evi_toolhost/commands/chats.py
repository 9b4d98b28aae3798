"""`evi-toolhost chats list [--limit N]`, `chats show ID`, `chats export ID --format jsonl|md [--output FILE]`:
recent chats (id, group, status, duration, number of tool calls), and one chat's transcript with each tool
call, its answer and its latency by our call records (Redis at `REDIS_URL`), and the strongest emotions Hume
scored for each message. Without Redis the transcript is shown all the same, with one line saying why the
latencies are missing. Exit codes: 0 done, 1 Hume refused or could not be reached.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evi_toolhost.commands.tools import fail, open_client
from evi_toolhost.history.call_records import CallRecords, read_call_records
from evi_toolhost.history.fetch import chat_history, recent_chats
from evi_toolhost.history.render import chat_table, duration, jsonl_lines, markdown_lines, text_lines
from evi_toolhost.history.transcript import tool_call_ids, transcript
from service.evi.management import HumeApiError
from service.settings import Settings, load_settings


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="chats_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="recent chats, newest first", description="Recent chats, newest first.")
    listing.add_argument("--limit", type=int, default=10, choices=range(1, 101), metavar="N", help="1-100 (default 10)")
    show = actions.add_parser("show", help="a chat's transcript", description="A chat's transcript with tool calls.")
    show.add_argument("chat_id", metavar="ID")
    export = actions.add_parser("export", help="a chat's transcript as JSON lines or Markdown")
    export.add_argument("chat_id", metavar="ID")
    export.add_argument("--format", choices=("jsonl", "md"), required=True)
    export.add_argument("--output", metavar="FILE", help="write here instead of printing")


def records_for(settings: Settings, events: list[dict[str, Any]]) -> CallRecords:
    return read_call_records(settings.redis_url, tool_call_ids(events))


def emit(lines: Iterable[str], output: str | None = None) -> None:
    text = "".join(f"{line}\n" for line in lines)
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        with open_client(settings) as client:
            if args.chats_action == "list":
                chats = recent_chats(client, args.limit)
                counts = {
                    str(chat["id"]): len(tool_call_ids(chat_history(client, str(chat["id"])).events)) for chat in chats
                }
                emit(chat_table(chats, counts))
                return 0
            history = chat_history(client, args.chat_id)
    except HumeApiError as exc:
        return fail(str(exc))
    records = records_for(settings, history.events)
    entries = transcript(history.events, records)
    chat = history.chat
    if args.chats_action == "show":
        print(f"chat {chat.get('id')} (group {chat.get('chat_group_id')}), {chat.get('status')}, {duration(chat)}")
        if records.unavailable:
            print(f"  {records.unavailable}: tool latencies not shown")
        emit(text_lines(entries))
        return 0
    if records.unavailable:
        print(f"evi-toolhost: {records.unavailable}: tool latencies left out", file=sys.stderr)
    lines = jsonl_lines(entries) if args.format == "jsonl" else markdown_lines(f"Chat {chat.get('id')}", entries)
    emit(lines, args.output)
    return 0
