"""`evi-toolhost chat-groups show ID`: the chats of a chat group (a conversation resumed across chats), each with
its transcript as `chats show` prints it: tool calls with answers and latencies, messages with their strongest
emotions. Exit codes as for `chats`.
"""

from __future__ import annotations

import argparse

from evi_toolhost.commands.chats import emit, records_for
from evi_toolhost.commands.tools import fail, open_client
from evi_toolhost.history.fetch import group_chats, group_events
from evi_toolhost.history.render import duration, text_lines
from evi_toolhost.history.transcript import transcript
from service.evi.management import HumeApiError
from service.settings import load_settings


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="chat_groups_action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="every chat of a group, with transcripts")
    show.add_argument("group_id", metavar="ID")


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        with open_client(settings) as client:
            chats = group_chats(client, args.group_id)
            events = group_events(client, args.group_id)
    except HumeApiError as exc:
        return fail(str(exc))
    records = records_for(settings, events)
    print(f"chat group {args.group_id}: {len(chats)} chat{'s' if len(chats) != 1 else ''}")
    if records.unavailable:
        print(f"  {records.unavailable}: tool latencies not shown")
    entries = transcript(events, records)
    for chat in chats:
        print(f"\nchat {chat.get('id')}, {chat.get('status')}, {duration(chat)}")
        emit(text_lines([entry for entry in entries if entry.chat_id == chat.get("id")]))
    return 0
