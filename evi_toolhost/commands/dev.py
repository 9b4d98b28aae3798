"""`evi-toolhost dev`: web + worker + relay (and optionally the simulator) in one command.

Redis is `REDIS_URL` if set, else an embedded real Redis on a free port whose data is removed on
exit. Worker and relay serve their metrics on 9100 and 9101, or on free ports when those are taken (the command
prints the three metrics URLs). With `--sim`, the local EVI simulator is started too and the service is pointed
at it, with made-up keys (`evi_toolhost.local_setup`); the command then prints how to play a call against it
from another terminal, for one of the tools it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack

from evi_toolhost.embedded_redis import EmbeddedRedis, free_port, port_is_free
from evi_toolhost.local_setup import (
    DEV_API_KEY,
    DEV_SIGNING_KEY,
    EXAMPLE_TOOLS,
    SIMULATOR_PORT,
    WEB_PORT,
    call_command,
    example_arguments,
)
from evi_toolhost.startup import import_from_working_directory
from evi_toolhost.supervisor import Supervisor
from service.observability.prometheus import RELAY_METRICS_PORT, WORKER_METRICS_PORT
from workers.handlers.discovery import DiscoveryError, discover
from workers.handlers.registry import default_registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", WEB_PORT)), help="web port")
    parser.add_argument("--sim", action="store_true", help="also run the local EVI simulator and use it as Hume")
    parser.add_argument("--sim-port", type=int, default=SIMULATOR_PORT, help="simulator port (with --sim; 0: any)")
    parser.add_argument("--tools", action="append", default=[], metavar="MODULE", help="handler module (repeatable)")
    parser.add_argument("--pool-size", type=int, default=None, help="worker pool size")
    parser.add_argument("--no-relay", action="store_true", help="do not start the live-socket relay")


def dev_environment(args: argparse.Namespace, redis_url: str) -> dict[str, str]:
    env = {"REDIS_URL": redis_url, "EVI_TOOLHOST_EMBEDDED_REDIS": "1" if "REDIS_URL" not in os.environ else ""}
    if args.tools:
        env["TOOL_MODULES"] = ",".join(args.tools)
    elif args.sim and not os.environ.get("TOOL_MODULES"):
        env["TOOL_MODULES"] = EXAMPLE_TOOLS
    if args.pool_size:
        env["WORKER_POOL_SIZE"] = str(args.pool_size)
    if args.sim:
        env["HUME_API_BASE_URL"] = f"http://127.0.0.1:{args.sim_port}"
        env["HUME_WS_BASE_URL"] = f"ws://127.0.0.1:{args.sim_port}"
        # The simulator stands in for Hume: made-up keys, so a real one is never sent to it nor printed.
        env["HUME_API_KEY"] = DEV_API_KEY
        env["HUME_WEBHOOK_SIGNING_KEY"] = DEV_SIGNING_KEY
    return env


def next_command(env: dict[str, str], webhook_url: str) -> str:
    """The command that plays one call of the first tool the worker will run, against this setup."""
    modules = [name for name in env.get("TOOL_MODULES", os.environ.get("TOOL_MODULES", "")).split(",") if name]
    import_from_working_directory()
    try:
        discover(modules)
    except DiscoveryError as exc:
        return f"(no call to suggest: {exc})"
    tools = default_registry.tools()
    if not tools:
        return "(no call to suggest: no tools are registered)"
    tool = tools[0]
    arguments = example_arguments(tool.parameters_schema())
    return call_command(tool.name, arguments, simulator_url=env["HUME_API_BASE_URL"], webhook_url=webhook_url)


def available(port: int) -> int:
    """`port` when it is free, else any free port: another program on 9100 (a node exporter) must not stop dev."""
    return port if port_is_free(port) else free_port()


def run(args: argparse.Namespace) -> int:
    if not args.sim and not os.environ.get("HUME_API_KEY"):
        print("evi-toolhost dev: environment variable HUME_API_KEY is missing (or use --sim)", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            redis_url = stack.enter_context(EmbeddedRedis()).url
            print(f"dev    | embedded Redis at {redis_url}", flush=True)
        if args.sim and args.sim_port == 0:
            args.sim_port = free_port()
        env = dev_environment(args, redis_url)
        supervisor = Supervisor(env)
        if args.sim:
            supervisor.start("sim", ["simulate", "--serve", "--host", "127.0.0.1", "--port", str(args.sim_port)])
        supervisor.start("web", ["web", "--host", "127.0.0.1", "--port", str(args.port)])
        worker_port, relay_port = available(WORKER_METRICS_PORT), available(RELAY_METRICS_PORT)
        supervisor.start("worker", ["worker", "--metrics-port", str(worker_port)])
        metrics = [f"web http://127.0.0.1:{args.port}/metrics", f"worker http://127.0.0.1:{worker_port}/metrics"]
        if not args.no_relay:
            supervisor.start("relay", ["relay", "--metrics-port", str(relay_port)])
            metrics.append(f"relay http://127.0.0.1:{relay_port}/metrics")
        webhook_url = f"http://127.0.0.1:{args.port}/hume-webhook"
        supervisor.say("dev", f"webhook URL: {webhook_url}  (Ctrl-C stops everything)")
        supervisor.say("dev", "metrics: " + ", ".join(metrics))
        if args.sim:
            supervisor.say("dev", "play a call from another terminal with:")
            supervisor.say("dev", "  " + next_command(env, webhook_url))
        return supervisor.wait()
    return 0
