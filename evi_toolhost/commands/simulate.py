"""`evi-toolhost simulate`: serve the EVI simulator, play a script or one tool call against the service.

    evi-toolhost simulate --serve                    # serve until Ctrl-C (made-up key, one seeded config)
    evi-toolhost simulate --call get_weather --args '{"city": "Paris"}'   # one call, against `dev --sim`
    evi-toolhost simulate --script weather           # a scripted conversation, against `dev --sim`
    evi-toolhost simulate --serve --script FILE      # serve in-process, play, print the timeline, exit

Without flags it plays against what `evi-toolhost dev --sim` runs: the simulator at $HUME_API_BASE_URL (else
http://127.0.0.1:8100) and the webhook at http://127.0.0.1:8000/hume-webhook. Keys: HUME_API_KEY (the
simulator's key, also for its admin API) and the first of HUME_WEBHOOK_SIGNING_KEY to sign webhooks; unset,
the made-up keys `dev --sim` uses. Exit status: 0 every expectation met, 1 some not met, 2 cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys

import uvicorn

from evi_toolhost.local_setup import (
    DEV_API_KEY,
    DEV_SIGNING_KEY,
    EXAMPLE_TOOLS,
    SEEDED_CONFIG_NAME,
    SIMULATOR_URL,
    WEBHOOK_URL,
    program,
)
from evi_toolhost.simulator.app import create_simulator_app
from evi_toolhost.simulator.player import PlayerError, play
from evi_toolhost.simulator.report import PlayReport
from evi_toolhost.simulator.script import Script, ScriptError, ToolTurn, load_script
from evi_toolhost.simulator.state import SimulatorState


class _CannotRun(Exception):
    pass


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serve", action="store_true", help="serve the simulator (until Ctrl-C, or while playing)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port to serve on (default: 8100)")
    play_what = parser.add_mutually_exclusive_group()
    play_what.add_argument("--script", metavar="FILE", help="a YAML/JSON script, or a bundled one by name (weather)")
    play_what.add_argument("--call", metavar="TOOL", help="play a chat of one call to TOOL, no script needed")
    parser.add_argument(
        "--args", default="{}", metavar="JSON", help="the arguments of the --call, as a JSON object (default: {})"
    )
    parser.add_argument("--webhook-url", default=WEBHOOK_URL, help=f"where to post webhooks (default: {WEBHOOK_URL})")
    parser.add_argument(
        "--simulator-url",
        help=f"a running simulator to play against (default: $HUME_API_BASE_URL, else {SIMULATOR_URL})",
    )
    parser.add_argument(
        "--answer-timeout", type=float, default=10.0, help="seconds to wait for each answer (default: 10)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except _CannotRun as exc:
        print(f"evi-toolhost simulate: {exc}", file=sys.stderr)
        return 2


def keys() -> tuple[str, str]:
    """(API key, webhook signing key) from the environment, else the made-up ones of a local setup."""
    api_key = os.environ.get("HUME_API_KEY", "").strip() or DEV_API_KEY
    signing_keys = [key.strip() for key in os.environ.get("HUME_WEBHOOK_SIGNING_KEY", "").split(",") if key.strip()]
    if signing_keys:
        return api_key, signing_keys[0]
    return api_key, DEV_SIGNING_KEY if api_key == DEV_API_KEY else api_key


def one_call_script(tool: str, arguments_json: str) -> Script:
    try:
        arguments = json.loads(arguments_json)
    except ValueError as exc:
        raise _CannotRun(f"--args is not valid JSON: {exc}") from None
    if not isinstance(arguments, dict):
        raise _CannotRun(f"--args must be a JSON object, not {type(arguments).__name__}")
    return Script(name=f"one call of {tool}", turns=[ToolTurn(tool=tool, arguments=arguments)])


def _run(args: argparse.Namespace) -> int:
    if not (args.serve or args.script or args.call):
        raise _CannotRun("nothing to do: pass --serve, --script FILE, --call TOOL, or --serve with one of them")
    api_key, signing_key = keys()
    if not (args.script or args.call):
        return _serve_forever(api_key, args.host, args.port)
    if args.call:
        script = one_call_script(args.call, args.args)
    else:
        try:
            script = load_script(args.script)
        except ScriptError as exc:
            raise _CannotRun(str(exc)) from None
    if args.serve:
        report = asyncio.run(_serve_and_play(script, args, api_key, signing_key))
    else:
        simulator_url = args.simulator_url or os.environ.get("HUME_API_BASE_URL", "").strip() or SIMULATOR_URL
        report = asyncio.run(_play(script, args, simulator_url, api_key, signing_key))
    print(describe_call(report) if args.call else report.format_timeline())
    return 0 if report.ok else 1


def describe_call(report: PlayReport) -> str:
    """The one call's answer as the simulator received it, and the verdict."""
    (call,) = report.calls
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    if call.answer_type is None:
        heading = f"{call.tool} {arguments} → no answer"
    else:
        code = f" {call.code}" if call.code else ""
        timing = f", {call.server_ms:.1f} ms" if call.server_ms is not None else ""
        heading = f"{call.tool} {arguments} → {call.answer_type}{code} (by {call.transport}{timing})"
    lines = [f"chat {report.chat_id}", heading]
    if call.content or call.error:
        lines.append(f"  {call.content or call.error}")
    if call.problem:
        lines.append(f"  {call.problem}")
    if call.webhook is not None and not call.webhook.delivered:
        lines.append(f"  the webhook was not accepted: {call.webhook.describe()}")
    lines.append(report.verdict())
    return "\n".join(lines)


def seeded_state() -> tuple[SimulatorState, str]:
    """A fresh simulator with one config, so `config attach` can be tried at once."""
    state = SimulatorState()
    config = state.configs.create(
        SEEDED_CONFIG_NAME, {"evi_version": "3", "version_description": "seeded by evi-toolhost simulate --serve"}
    )
    return state, config.id


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


def _server(api_key: str, log_level: str, state: SimulatorState | None = None) -> uvicorn.Server:
    app = create_simulator_app(api_key, state)
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False))


def _serve_forever(api_key: str, host: str, port: int) -> int:
    sock = _listen(host, port)
    state, config_id = seeded_state()
    url = f"http://{host}:{sock.getsockname()[1]}"
    key = f"API key {DEV_API_KEY} (made up)" if api_key == DEV_API_KEY else "API key from HUME_API_KEY"
    shown_key = api_key if api_key == DEV_API_KEY else "..."
    for line in (
        f"EVI simulator on {url}, {key} (Ctrl-C to stop)",
        f"seeded config {config_id} ({SEEDED_CONFIG_NAME}); to try tools as code against it:",
        f"  export HUME_API_BASE_URL={url} HUME_API_KEY={shown_key}",
        f"  {program()} tools sync --tools {EXAMPLE_TOOLS}",
        f"  {program()} config attach --config-id {config_id} --webhook-url {WEBHOOK_URL}",
    ):
        print(line, file=sys.stderr)
    _server(api_key, os.environ.get("LOG_LEVEL", "info").lower(), state).run(sockets=[sock])
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
        raise _CannotRun(f"{exc} (is `evi-toolhost dev --sim` running?)") from None


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
