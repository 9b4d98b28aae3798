"""`evi-toolhost dev`: web + worker + relay (and optionally the simulator) in one command.

Redis is `REDIS_URL` if set, else an embedded real Redis on a free port whose data is removed on
exit. With `--sim`, the local EVI simulator is started too and the service is pointed at it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from contextlib import ExitStack

from evi_toolhost.embedded_redis import EmbeddedRedis, free_port
from evi_toolhost.supervisor import Supervisor

DEV_API_KEY = "dev-local-api-key"
DEV_SIGNING_KEY = "dev-local-signing-key"
"""Made-up keys for a local simulator; never used against Hume."""
EXAMPLE_TOOLS = "examples.weather"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="web port")
    parser.add_argument("--sim", action="store_true", help="also run the local EVI simulator and use it as Hume")
    parser.add_argument("--sim-port", type=int, default=8100, help="simulator port (with --sim)")
    parser.add_argument("--tools", action="append", default=[], metavar="MODULE", help="handler module (repeatable)")
    parser.add_argument("--pool-size", type=int, default=None, help="worker pool size")
    parser.add_argument("--no-relay", action="store_true", help="do not start the live-socket relay")


def relay_available() -> bool:
    return importlib.util.find_spec("evi_toolhost.commands.relay") is not None


def dev_environment(args: argparse.Namespace, redis_url: str) -> dict[str, str]:
    env = {"REDIS_URL": redis_url}
    if args.tools:
        env["TOOL_MODULES"] = ",".join(args.tools)
    elif args.sim and not os.environ.get("TOOL_MODULES"):
        env["TOOL_MODULES"] = EXAMPLE_TOOLS
    if args.pool_size:
        env["WORKER_POOL_SIZE"] = str(args.pool_size)
    if args.sim:
        env["HUME_API_BASE_URL"] = f"http://127.0.0.1:{args.sim_port}"
        env.pop("HUME_WS_BASE_URL", None)
        # The simulator stands in for Hume: made-up keys, so a real one is never sent to it nor printed.
        env["HUME_API_KEY"] = DEV_API_KEY
        env["HUME_WEBHOOK_SIGNING_KEY"] = DEV_SIGNING_KEY
    return env


def play_command(env: dict[str, str], webhook_url: str) -> str:
    return (
        f"HUME_API_KEY={env['HUME_API_KEY']} HUME_WEBHOOK_SIGNING_KEY={env['HUME_WEBHOOK_SIGNING_KEY']} "
        f"evi-toolhost simulate --script weather --simulator-url {env['HUME_API_BASE_URL']} "
        f"--webhook-url {webhook_url}"
    )


def run(args: argparse.Namespace) -> int:
    if not args.sim and not os.environ.get("HUME_API_KEY"):
        print("evi-toolhost: environment variable HUME_API_KEY is missing (or use --sim)")
        return 2
    with ExitStack() as stack:
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            redis_url = stack.enter_context(EmbeddedRedis()).url
            print(f"dev    | embedded Redis at {redis_url}", flush=True)
        env = dev_environment(args, redis_url)
        if args.sim and args.sim_port == 0:
            args.sim_port = free_port()
        env = dev_environment(args, redis_url)
        supervisor = Supervisor(env)
        if args.sim:
            supervisor.start("sim", ["simulate", "--serve", "--host", "127.0.0.1", "--port", str(args.sim_port)])
        supervisor.start("web", ["web", "--host", "127.0.0.1", "--port", str(args.port)])
        supervisor.start("worker", ["worker"])
        if not args.no_relay and relay_available():
            supervisor.start("relay", ["relay"])
        webhook_url = f"http://127.0.0.1:{args.port}/hume-webhook"
        supervisor.say("dev", f"webhook URL: {webhook_url}  (Ctrl-C stops everything)")
        if args.sim:
            supervisor.say("dev", "play a conversation from another terminal with:")
            supervisor.say("dev", "  " + play_command(env, webhook_url))
        return supervisor.wait()
    return 0
