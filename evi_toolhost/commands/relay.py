"""`evi-toolhost relay`: the live-socket relay process, its metrics on METRICS_PORT (9101 by default; 0: off)."""

from __future__ import annotations

import argparse
import asyncio
import signal

from evi_toolhost.startup import metrics_served, redis_answers
from service.evi.control_plane import HttpControlPlane, make_http_client
from service.heap import freeze_startup_heap
from service.logs import configure_logging
from service.observability.prometheus import (
    RELAY_METRICS_PORT,
    metrics_port,
    scrape_registry,
)
from service.redis_client import connect, connect_async
from service.settings import Settings, load_settings
from workers import observability
from workers.metrics import delivery_retried
from workers.relay.metrics import RelaySockets
from workers.relay.relay import Relay


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lease-ms", type=int, default=3000, help="chat lease; a dead relay's chats move after it")
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="the relay's metrics port (default: METRICS_PORT, 9101; 0: off)"
    )


async def run_relay(args: argparse.Namespace, settings: Settings, metrics_port: int) -> None:
    redis = connect_async(settings.redis_url)
    http = make_http_client()
    control_plane = HttpControlPlane(
        settings.hume_api_base_url, settings.hume_api_key.get_secret_value(), http, on_retry=delivery_retried
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stop_observing = observability.process_started("relay", loop)
    relay = Relay(settings, redis, control_plane=control_plane, lease_ms=args.lease_ms)
    if metrics_port:
        scrape_registry().register(RelaySockets(relay))
    freeze_startup_heap()
    try:
        await relay.run(stop)
    finally:
        await stop_observing()
        await http.aclose()
        await redis.aclose()


def run(args: argparse.Namespace) -> int:
    configure_logging()
    settings = load_settings()
    if not settings.relay_enabled:
        print("evi-toolhost: the relay is turned off (RELAY_ENABLED=false); nothing to do")
        return 0
    port = metrics_port(args.metrics_port, settings.metrics_port, RELAY_METRICS_PORT)
    if not metrics_served(port, "relay"):
        return 2
    with connect(settings.redis_url) as redis:
        if not redis_answers(redis, "relay"):
            return 2
    asyncio.run(run_relay(args, settings, port))
    return 0
