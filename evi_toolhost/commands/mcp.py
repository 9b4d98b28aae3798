"""`evi-toolhost mcp [--http [--host H] [--port P]] [--tools MODULE ...] [--include-mcp-servers]`: serve every
registered tool as an MCP server, over stdio (the default: Claude Desktop, Cursor and the like start it) or over
streamable HTTP at `http://HOST:PORT/mcp`, with the schemas `tools sync` sends Hume.

`MCP_TOKEN` guards the HTTP transport (a bearer token); without it, only 127.0.0.1 may be served. Over stdio,
stdout is the protocol: logs, and anything a tool module prints while it is imported, go to stderr. Needs no
Hume key. `--include-mcp-servers` serves the tools of `MCP_SERVERS` too, through sessions this process keeps.
Exit codes: 0 stopped, 2 bad setup (one line on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from typing import TYPE_CHECKING, Any

from evi_toolhost.startup import import_from_working_directory
from service.logs import configure_logging
from service.settings import Settings, load_settings
from workers.handlers.discovery import ENTRY_POINT_GROUP, DiscoveryError, discover
from workers.handlers.registry import default_registry
from workers.mcp_tools.loading import McpSetupError, sdk_installed

if TYPE_CHECKING:
    from mcp.server import Server

PROG = "evi-toolhost mcp"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_PORT = 8765

log = logging.getLogger("evi_toolhost.mcp_server")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP at /mcp instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="with --http: where to listen (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"with --http (default {DEFAULT_PORT})")
    parser.add_argument(
        "--tools",
        nargs="+",
        action="extend",
        default=[],
        metavar="MODULE",
        help="handler module to import (repeatable; added to TOOL_MODULES)",
    )
    parser.add_argument(
        "--include-mcp-servers", action="store_true", help="serve the tools of MCP_SERVERS too (NAME_TOOL)"
    )


def run(args: argparse.Namespace) -> int:
    configure_logging()
    settings = load_settings(needs_hume_api_key=False)
    if args.http and settings.mcp_token is None and args.host not in LOOPBACK:
        return fail(f"set MCP_TOKEN to serve on {args.host}: without a token only 127.0.0.1 is served")
    if not sdk_installed():
        return fail("the MCP SDK is not installed: pip install 'evi-toolhost[mcp]'")
    import_from_working_directory()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # over stdio, a print at import would corrupt the protocol
            discover(list(dict.fromkeys([*settings.tool_modules, *args.tools])))
    except DiscoveryError as exc:
        return fail(str(exc))
    try:
        return asyncio.run(serve(args, settings))
    except McpSetupError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 0


async def serve(args: argparse.Namespace, settings: Settings) -> int:
    from evi_toolhost.mcp_server.server import build_server
    from workers.mcp_tools.hub import McpHub, McpToolClash
    from workers.mcp_tools.process import call_tool, install, uninstall

    hub = None
    if args.include_mcp_servers and settings.mcp_servers:
        hub = McpHub(settings.mcp_servers, settings.mcp_timeout, default_registry, call_tool)
        install(hub, asyncio.get_running_loop())
        try:
            for line in await hub.start():
                log.warning(line)
        except McpToolClash as exc:
            await hub.close()
            raise McpSetupError(f"MCP tools clash with other tools: {exc}") from None
    try:
        if not default_registry.tools():
            return fail(f"no tools registered: name handler modules with --tools, TOOL_MODULES or {ENTRY_POINT_GROUP}")
        server = build_server(default_registry, settings.tool_timeout_seconds)
        if args.http:
            await serve_http(server, args, settings)
        else:
            log.info("serving %s over MCP on stdio", ", ".join(default_registry.names()))
            await serve_stdio(server)
        return 0
    finally:
        if hub is not None:
            uninstall(hub)
            await hub.close()


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_http(server: Server[Any], args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn
    from starlette.types import ASGIApp

    from evi_toolhost.mcp_server.auth import BearerTokenRequired

    app: ASGIApp = server.streamable_http_app(streamable_http_path="/mcp", host=args.host)
    if settings.mcp_token is not None:
        app = BearerTokenRequired(app, settings.mcp_token.get_secret_value())
    guarded = "MCP_TOKEN required" if settings.mcp_token is not None else "no token: 127.0.0.1 only"
    where = f"http://{args.host}:{args.port}/mcp"
    log.info("serving %s over MCP at %s (%s)", ", ".join(default_registry.names()), where, guarded)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()


def fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2
