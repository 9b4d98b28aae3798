"""`evi-toolhost worker [--pool-size N] [--burst]`: run tool calls and lifecycle jobs from the RQ queues.

Imports the handler modules and lists the tools of `MCP_SERVERS` first (a module that fails, or MCP tools whose
names clash, stop start-up with one line and exit code 2; a server that gives no tools is one warning), then
runs RQ's `WorkerPool` (`workers.pool`): N forked `SimpleWorker` processes listening to `evi-tools` before
`evi-events`, each running up to WORKER_CONCURRENCY jobs at once, respawned if they die. Their metrics are
served together on METRICS_PORT (9100 by default; 0: off) by this process.
SIGTERM or SIGINT to this process is a warm shutdown: running jobs finish, then every process exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from evi_toolhost.startup import (
    import_from_working_directory,
    metrics_served,
    redis_answers,
    warn_about_durability,
    where,
)
from service.logs import configure_logging
from service.observability.prometheus import (
    WORKER_METRICS_PORT,
    metrics_port,
    shared_between_processes,
)
from service.queue.contract import WORKER_QUEUES
from service.redis_client import connect
from service.settings import Settings, load_settings
from workers.handlers.discovery import ENTRY_POINT_GROUP, DiscoveryError, discover
from workers.handlers.registry import HOOK_ARGUMENTS, Registry, default_registry
from workers.mcp_tools.loading import McpSetupError, load_mcp_tools
from workers.tool_table import publish_tools

log = logging.getLogger("evi_toolhost.worker")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="worker processes, each running up to WORKER_CONCURRENCY jobs at once (default: WORKER_POOL_SIZE, 4)",
    )
    parser.add_argument("--burst", action="store_true", help="quit once the queues are empty")
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="the pool's metrics port (default: METRICS_PORT, 9100; 0: off)"
    )


def run(args: argparse.Namespace) -> int:
    configure_logging()
    settings = load_settings()
    size = args.pool_size if args.pool_size is not None else settings.worker_pool_size
    if size < 1:
        print("evi-toolhost worker: --pool-size must be at least 1", file=sys.stderr)
        return 2
    # The pool's processes share one metrics endpoint: their directory is set before anything (the tool modules
    # included) imports prometheus_client.
    with shared_between_processes():
        return run_pool(args, settings, size)


def run_pool(args: argparse.Namespace, settings: Settings, size: int) -> int:
    from workers.pool import ToolhostPool  # imports prometheus_client: only now

    port = metrics_port(args.metrics_port, settings.metrics_port, WORKER_METRICS_PORT)
    if not metrics_served(port, "worker"):
        return 2
    import_from_working_directory()
    try:
        discover(settings.tool_modules)
        left_out = load_mcp_tools(settings, default_registry)
    except (DiscoveryError, McpSetupError) as exc:
        print(f"evi-toolhost worker: {exc}", file=sys.stderr)
        return 2
    for line in left_out:
        log.warning(line)
    log_registry(default_registry, settings.tool_timeout_seconds)
    redis = connect(settings.redis_url)
    if not redis_answers(redis, "worker"):
        return 2
    warn_about_durability(redis, log)
    publish_tools(redis, default_registry, settings.tool_timeout_seconds)
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    log.info(
        "worker: %d process(es) of %d job(s) at once on Redis %s, queues %s; metrics %s",
        size,
        settings.worker_concurrency,
        where(redis),
        ", ".join(WORKER_QUEUES),
        f"on :{port}/metrics" if port else "off (METRICS_PORT=0)",
    )
    ToolhostPool(list(WORKER_QUEUES), connection=redis, num_workers=size).start(burst=args.burst, logging_level=level)
    return 0


def log_registry(registry: Registry, default_timeout: float) -> None:
    tools = registry.tools()
    if not tools:
        log.warning("no tools registered: set TOOL_MODULES or add %s entry points", ENTRY_POINT_GROUP)
    for tool in tools:
        timeout = tool.timeout if tool.timeout is not None else default_timeout
        kind = "async" if tool.is_async else "sync"
        log.info("tool %s (%s, timeout %g s) from %s", tool.name, kind, timeout, tool.origin)
    for kind in HOOK_ARGUMENTS:
        for hook in registry.hooks(kind):
            log.info("%s hook %s", kind, hook.name)
