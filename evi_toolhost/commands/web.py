"""`evi-toolhost web`: the webhook intake under uvicorn."""

from __future__ import annotations

import argparse
import os

import uvicorn

from service.logs import configure_logging
from service.settings import load_settings


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))


def run(args: argparse.Namespace) -> int:
    configure_logging()
    load_settings()
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
