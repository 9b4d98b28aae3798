"""`evi-toolhost demo`: everything embedded (Redis, simulator, web, worker, relay) and a scripted call.

Prints the timeline of tool calls (tool, arguments, answer, milliseconds), the transcript the
chat-ended job stored, and a one-line verdict; exits 0 only if every call got the answer it should.
The processes' own logs are shown only when something went wrong.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
from redis import Redis

from evi_toolhost.embedded_redis import EmbeddedRedis, free_port
from evi_toolhost.local_setup import DEV_API_KEY, DEV_SIGNING_KEY, EXAMPLE_TOOLS
from evi_toolhost.simulator import load_script, play_sync
from evi_toolhost.supervisor import Supervisor
from service.queue import contract


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--script", default="demo", help="a script file, or the name of a bundled one")
    parser.add_argument("--tools", default=EXAMPLE_TOOLS, metavar="MODULE", help="handler modules (comma-separated)")
    parser.add_argument("--no-relay", action="store_true", help="answer by HTTP only")


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code < 500
    except httpx.TransportError:
        return False


def run(args: argparse.Namespace) -> int:
    script = load_script(args.script)
    logs = io.StringIO()
    with EmbeddedRedis() as redis_server:
        redis = Redis.from_url(redis_server.url)
        sim_url, web_port = f"http://127.0.0.1:{free_port()}", free_port()
        supervisor = Supervisor(
            {
                "REDIS_URL": redis_server.url,
                "HUME_API_KEY": DEV_API_KEY,
                "HUME_WEBHOOK_SIGNING_KEY": DEV_SIGNING_KEY,
                "HUME_API_BASE_URL": sim_url,
                "TOOL_MODULES": args.tools,
                "WORKER_POOL_SIZE": "2",
                "EVI_TOOLHOST_EMBEDDED_REDIS": "1",
                "LOG_LEVEL": "INFO",
                "METRICS_PORT": "0",  # nobody scrapes a demo: 9100 and 9101 may be someone else's
            },
            out=logs,
        )
        try:
            print("starting Redis, the EVI simulator, web, worker and relay ...", flush=True)
            supervisor.start("sim", ["simulate", "--serve", "--port", sim_url.rsplit(":", 1)[1]])
            supervisor.start("web", ["web", "--host", "127.0.0.1", "--port", str(web_port)])
            supervisor.start("worker", ["worker"])
            if not args.no_relay:
                supervisor.start("relay", ["relay"])
            wait_until(lambda: answers(f"http://127.0.0.1:{web_port}/healthz"), 30, "the web process answering")
            wait_until(lambda: answers(f"{sim_url}/_sim/stats"), 30, "the simulator answering")
            wait_until(lambda: redis.scard("rq:workers"), 30, "a worker registering")
            if not args.no_relay:
                wait_until(lambda: redis.keys("evi:relay:alive:*"), 30, "the relay starting")
            report = play_sync(
                script,
                webhook_url=f"http://127.0.0.1:{web_port}/hume-webhook",
                simulator_url=sim_url,
                api_key=DEV_API_KEY,
                signing_key=DEV_SIGNING_KEY,
            )
            transcript = wait_until(lambda: redis.get(contract.transcript(report.chat_id)), 15, "the transcript")
        except (TimeoutError, OSError) as exc:
            supervisor.stop()
            print(logs.getvalue(), file=sys.stderr)
            print(f"FAIL: {exc}")
            return 1
        finally:
            supervisor.stop()
            redis.close()
    print()
    print(report.format_timeline().rsplit("\n", 1)[0])
    print("\ntranscript stored when the chat ended:")
    for line in json.loads(transcript):
        print(f"  {line['role']:>9}: {line['text']}")
    print()
    if not report.ok:
        print(logs.getvalue(), file=sys.stderr)
    print(report.verdict())
    return 0 if report.ok else 1
