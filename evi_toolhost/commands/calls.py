"""`evi-toolhost calls`: the call log (every tool call's record, in the Redis at `REDIS_URL`).

    calls [--tool T] [--status S] [--chat C] [--since 10m|2h|ISO] [--limit N] [--json]   newest first
    calls show ID [--json]                                 the whole record, with its timing breakdown
    calls tail [filters] [--json] [--count N] [--seconds S]   each new call as it finishes, until Ctrl-C
    calls replay ID [--tools MODULE ...]                   run the recorded arguments through the current code

Exit codes: 0 done (replay: the same answer), 1 no such call, Redis does not answer (replay: the answer
differs), 2 bad arguments or nothing to replay, 3 replay of a call whose arguments were redacted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from evi_toolhost.calls.render import call_lines, json_lines, table
from evi_toolhost.calls.replay import CannotReplay, Redacted, replay, side_by_side
from evi_toolhost.startup import import_from_working_directory
from service.call_log.query import DEFAULT_LIMIT, BadQuery, CallQuery, parse_since
from service.call_log.reading import Follower, read_call, recent
from service.call_log.view import FINAL, STATES
from service.evi.timestamps import now_ms
from service.redis_client import connect_async
from service.settings import load_settings
from workers.handlers.discovery import DiscoveryError, discover
from workers.handlers.registry import default_registry

PROG = "evi-toolhost calls"
DIFFERS, CANNOT, REDACTED = 1, 2, 3


def add_filters(parser: argparse.ArgumentParser, *, states: tuple[str, ...] = STATES) -> None:
    parser.add_argument("--tool", help="only calls of this tool")
    parser.add_argument("--status", choices=states, help="only calls in this state")
    parser.add_argument("--chat", metavar="CHAT_ID", help="only calls of this chat")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "The call log, newest first (without ACTION), or one call shown, followed or replayed."
    add_filters(parser)
    parser.add_argument("--since", metavar="AGE|TIME", help="only calls since: 10m, 2h, 30s, 1d ago, or an ISO time")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help=f"default {DEFAULT_LIMIT}")
    actions = parser.add_subparsers(dest="calls_action", metavar="ACTION")
    show = actions.add_parser("show", help="one call's whole record", description="One call's record and timing.")
    show.add_argument("call_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="as one JSON object")
    tail = actions.add_parser("tail", help="follow new calls", description="Each new call as it finishes.")
    add_filters(tail, states=FINAL)
    tail.add_argument("--count", type=int, metavar="N", help="stop after N calls")
    tail.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    tail.add_argument("--interval", type=float, default=0.5, metavar="S", help="how often to look (default 0.5)")
    again = actions.add_parser(
        "replay",
        help="run a recorded call again against the current code",
        description="Run the recorded arguments through the tools in the current code, locally (nothing is sent "
        "to Hume), and compare the answers. Exit 0 when they are the same, 1 when they differ.",
    )
    again.add_argument("call_id", metavar="ID")
    again.add_argument(
        "--tools", nargs="+", action="extend", default=[], metavar="MODULE", help="handler modules (with TOOL_MODULES)"
    )


def fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    settings = load_settings(needs_hume_api_key=False)
    action = args.calls_action or "list"
    try:
        if action == "replay":
            return asyncio.run(_replay(settings.redis_url, args.call_id, [*settings.tool_modules, *args.tools]))
        query = None if action == "show" else _query(args)
        return asyncio.run(_run(settings.redis_url, action, args, query))
    except BadQuery as exc:
        return fail(str(exc), CANNOT)
    except (RedisError, OSError) as exc:
        return fail(f"Redis does not answer ({type(exc).__name__})")
    except KeyboardInterrupt:
        return 0


def _query(args: argparse.Namespace) -> CallQuery:
    since = parse_since(args.since, now_ms()) if getattr(args, "since", None) else None
    limit = getattr(args, "limit", DEFAULT_LIMIT)
    return CallQuery(tool=args.tool, status=args.status, chat=args.chat, since_ms=since, limit=limit)


async def _run(redis_url: str, action: str, args: argparse.Namespace, query: CallQuery | None) -> int:
    redis = connect_async(redis_url)
    try:
        if action == "show":
            return await _show(redis, args.call_id, args.json)
        assert query is not None
        if action == "tail":
            return await _tail(redis, query, args)
        listing = await recent(redis, query)
        lines = json_lines(listing.calls) if args.json else table(listing.calls)
        sys.stdout.write("".join(f"{line}\n" for line in lines))
        return 0
    finally:
        await redis.aclose()


async def _show(redis: Redis, call_id: str, as_json: bool) -> int:
    record = await read_call(redis, call_id)
    if record is None:
        return fail(f"no record of tool call {call_id} (never seen, or older than RECORD_TTL_SECONDS)")
    lines = json_lines([(call_id, record)], whole=True) if as_json else call_lines(call_id, record)
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


async def _tail(redis: Redis, query: CallQuery, args: argparse.Namespace) -> int:
    follower = Follower(query)
    until = time.monotonic() + args.seconds if args.seconds is not None else None
    shown = 0
    await follower.poll(redis, now_ms())
    print("following new calls as they finish (Ctrl-C to stop)", file=sys.stderr, flush=True)
    while until is None or time.monotonic() < until:
        await asyncio.sleep(args.interval)
        for call_id, record in await follower.poll(redis, now_ms()):
            line = next(json_lines([(call_id, record)])) if args.json else table([(call_id, record)])[1]
            print(line, flush=True)
            shown += 1
            if args.count is not None and shown >= args.count:
                return 0
    return 0


async def _replay(redis_url: str, call_id: str, modules: Sequence[str]) -> int:
    redis = connect_async(redis_url)
    try:
        record = await read_call(redis, call_id)
    finally:
        await redis.aclose()
    if record is None:
        return fail(f"no record of tool call {call_id} (never seen, or older than RECORD_TTL_SECONDS)", CANNOT)
    import_from_working_directory()
    try:
        discover(list(dict.fromkeys(modules)))
    except DiscoveryError as exc:
        return fail(str(exc), CANNOT)
    name = record.get("name", "?")
    try:
        recorded, now = await asyncio.to_thread(replay, call_id, record, default_registry)
    except Redacted as exc:
        return fail(str(exc), REDACTED)
    except CannotReplay as exc:
        return fail(str(exc), CANNOT)
    print(f"replay of {call_id} ({name}) with {record['arguments']}, locally: nothing was sent to Hume")
    if default_registry.get(name) is None:
        print(f"{name} is not a tool of the current code (TOOL_MODULES, entry points, --tools)")
    for line in side_by_side(recorded, now):
        print(line)
    if recorded.same_as(now):
        print("same answer")
        return 0
    print("the answer differs")
    return DIFFERS
