"""`evi-toolhost web`: the webhook intake under uvicorn, with `/metrics`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from evi_toolhost.startup import warn_about_durability
from service.logs import configure_logging
from service.observability.prometheus import shared_between_processes
from service.redis_client import connect
from service.settings import load_settings

log = logging.getLogger("evi_toolhost.web")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))


def run(args: argparse.Namespace) -> int:
    configure_logging()
    settings = load_settings()
    with connect(settings.redis_url) as redis:
        warn_about_durability(redis, log)
    # Several uvicorn processes answer /metrics for all of them from a directory they share.
    with shared_between_processes() if args.workers > 1 else contextlib.nullcontext():
        uvicorn.run(
            "service.app:create_app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=os.environ.get("LOG_LEVEL", "info").lower(),
            # JSON lines: uvicorn's own records go through the root handler too, instead of its text format.
            log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
            proxy_headers=True,
            access_log=False,
        )
    return 0
