"""`evi-toolhost relay`: the live-socket relay process."""

from __future__ import annotations

import argparse
import asyncio
import signal

from evi_toolhost.startup import redis_answers
from service.evi.control_plane import HttpControlPlane, make_http_client
from service.heap import freeze_startup_heap
from service.logs import configure_logging
from service.redis_client import connect, connect_async
from service.settings import load_settings
from workers.relay.relay import Relay


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lease-ms", type=int, default=3000, help="chat lease; a dead relay's chats move after it")


async def serve(args: argparse.Namespace) -> None:
    settings = load_settings()
    redis = connect_async(settings.redis_url)
    http = make_http_client()
    control_plane = HttpControlPlane(settings.hume_api_base_url, settings.hume_api_key.get_secret_value(), http)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    relay = Relay(settings, redis, control_plane=control_plane, lease_ms=args.lease_ms)
    freeze_startup_heap()
    try:
        await relay.run(stop)
    finally:
        await http.aclose()
        await redis.aclose()


def run(args: argparse.Namespace) -> int:
    configure_logging()
    settings = load_settings()
    if not settings.relay_enabled:
        print("evi-toolhost: the relay is turned off (RELAY_ENABLED=false); nothing to do")
        return 0
    with connect(settings.redis_url) as redis:
        if not redis_answers(redis, "relay"):
            return 2
    asyncio.run(serve(args))
    return 0
