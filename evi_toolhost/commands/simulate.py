"""`evi-toolhost simulate`: serve the EVI simulator, play a script against the service, or both.

    evi-toolhost simulate --serve                    # serve until Ctrl-C
    evi-toolhost simulate --script weather           # play against the simulator at $HUME_API_BASE_URL
    evi-toolhost simulate --serve --script FILE      # serve in-process, play, print the timeline, exit

Keys come from the environment: HUME_API_KEY (the simulator's key, also for its admin API) and
HUME_WEBHOOK_SIGNING_KEY (the first of the comma-separated list; HUME_API_KEY if unset) to sign webhooks.
Exit status: 0 every expectation met, 1 some not met, 2 cannot run (missing key, bad script, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys

import uvicorn

from evi_toolhost.simulator.app import create_simulator_app
from evi_toolhost.simulator.player import PlayerError, play
from evi_toolhost.simulator.report import PlayReport
from evi_toolhost.simulator.script import Script, ScriptError, load_script

DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/hume-webhook"


class _CannotRun(Exception):
    pass


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serve", action="store_true", help="serve the simulator (until Ctrl-C, or while playing)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port to serve on (default: 8100)")
    parser.add_argument("--script", metavar="FILE", help="a YAML/JSON script, or a bundled one by name (weather)")
    parser.add_argument(
        "--webhook-url", default=DEFAULT_WEBHOOK_URL, help=f"where to post webhooks (default: {DEFAULT_WEBHOOK_URL})"
    )
    parser.add_argument("--simulator-url", help="a running simulator to play against (default: $HUME_API_BASE_URL)")
    parser.add_argument(
        "--answer-timeout", type=float, default=10.0, help="seconds to wait for each answer (default: 10)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except _CannotRun as exc:
        print(f"evi-toolhost simulate: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if not args.serve and not args.script:
        raise _CannotRun("nothing to do: pass --serve, --script FILE, or both")
    api_key = os.environ.get("HUME_API_KEY", "").strip()
    if not api_key:
        raise _CannotRun("HUME_API_KEY is not set (the simulator and its admin API need it)")
    if not args.script:
        return _serve_forever(api_key, args.host, args.port)
    try:
        script = load_script(args.script)
    except ScriptError as exc:
        raise _CannotRun(str(exc)) from None
    signing_keys = [key.strip() for key in os.environ.get("HUME_WEBHOOK_SIGNING_KEY", "").split(",") if key.strip()]
    signing_key = signing_keys[0] if signing_keys else api_key
    if args.serve:
        report = asyncio.run(_serve_and_play(script, args, api_key, signing_key))
    else:
        simulator_url = args.simulator_url or os.environ.get("HUME_API_BASE_URL", "").strip()
        if not simulator_url:
            raise _CannotRun("no simulator to play against: pass --simulator-url, set HUME_API_BASE_URL, or --serve")
        report = asyncio.run(_play(script, args, simulator_url, api_key, signing_key))
    print(report.format_timeline())
    return 0 if report.ok else 1


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise _CannotRun(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    return sock


def _server(api_key: str, log_level: str) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(create_simulator_app(api_key), log_level=log_level, access_log=False))


def _serve_forever(api_key: str, host: str, port: int) -> int:
    sock = _listen(host, port)
    print(f"EVI simulator on http://{host}:{sock.getsockname()[1]} (Ctrl-C to stop)", file=sys.stderr)
    _server(api_key, os.environ.get("LOG_LEVEL", "info").lower()).run(sockets=[sock])
    return 0


async def _play(
    script: Script, args: argparse.Namespace, simulator_url: str, api_key: str, signing_key: str
) -> PlayReport:
    try:
        return await play(
            script,
            webhook_url=args.webhook_url,
            simulator_url=simulator_url,
            api_key=api_key,
            signing_key=signing_key,
            answer_timeout=args.answer_timeout,
        )
    except PlayerError as exc:
        raise _CannotRun(str(exc)) from None


async def _serve_and_play(script: Script, args: argparse.Namespace, api_key: str, signing_key: str) -> PlayReport:
    # The socket listens before uvicorn starts, so the player's first requests wait in its backlog.
    sock = _listen(args.host, args.port)
    server = _server(api_key, "warning")
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(
            args.host, f"[{args.host}]" if ":" in args.host else args.host
        )
        return await _play(script, args, f"http://{host}:{sock.getsockname()[1]}", api_key, signing_key)
    finally:
        server.should_exit = True
        await serving
        sock.close()
