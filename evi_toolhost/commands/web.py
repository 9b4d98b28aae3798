"""`evi-toolhost web`: the webhook intake under uvicorn."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from evi_toolhost.startup import warn_about_durability
from service.logs import configure_logging
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
    uvicorn.run(
        "service.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        proxy_headers=True,
        access_log=False,
    )
    return 0
