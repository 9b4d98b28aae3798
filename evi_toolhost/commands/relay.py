"""`evi-toolhost relay`: the live-socket relay process."""

from __future__ import annotations

import argparse
import asyncio
import signal

from redis.asyncio import Redis

from service.logs import configure_logging
from service.redis_client import connect
from service.settings import load_settings
from workers.relay.relay import Relay


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lease-ms", type=int, default=3000, help="chat lease; a dead relay's chats move after it")


async def serve(args: argparse.Namespace) -> None:
    settings = load_settings()
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=1.0, health_check_interval=30)
    sync_redis = connect(settings.redis_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await Relay(settings, redis, sync_redis, lease_ms=args.lease_ms).run(stop)
    finally:
        await redis.aclose()
        sync_redis.close()


def run(args: argparse.Namespace) -> int:
    configure_logging()
    settings = load_settings()
    if not settings.relay_enabled:
        print("evi-toolhost: the relay is turned off (RELAY_ENABLED=false); nothing to do")
        return 0
    asyncio.run(serve(args))
    return 0
