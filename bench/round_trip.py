"""Benchmark 2, round trip: from sending EVI's tool_call webhook to the answer at EVI's control plane.

A no-op tool (`bench.tools.noop`) at a fixed rate (50 calls/s for 20 s, open loop), the EVI simulator
running as its own process standing in for Hume. Round trip = the simulator's `received_at` of the
answer minus the moment the webhook was sent (same machine, same clock).

Rows:
- ours: web → Redis → worker (default pool size, as in the Procfile) → HTTP POST to the control plane;
- baseline: `bench.inline_app`, Hume's example architecture: the handler runs inside the webhook request
  and POSTs the answer (pooled httpx client) before returning;
- ours over the relay's socket: a chat started with allow_connection, announced by a chat_started
  webhook, once the relay holds its socket ("n/a" with the reason when that path does not deliver).
"""

from __future__ import annotations

import itertools
from typing import Any

from rq.utils import utcparse

from bench import driver
from bench.deployment import Deployment
from bench.harness import BenchError, Goal, Section, fmt, log, wait_until
from service.redis_client import text

RATE = 50.0
DURATION_SECONDS = 20.0
WARMUP_CALLS = 50
SOCKET_WAIT_SECONDS = 6.0
P50_GOAL_MS = 2.0
P99_GOAL_MS = 4.0
"""How much later than the inline baseline ours may answer, at p50 and p99."""


def measure(
    d: Deployment,
    webhook_url: str,
    sim_url: str,
    *,
    allow_connection: bool,
    prefix: str,
    chat_id: str | None = None,
    procs: Any = (),
) -> driver.Outcome:
    count = int(RATE * DURATION_SECONDS)
    chat = chat_id or driver.start_chat(sim_url, allow_connection=allow_connection)
    calls = driver.make_calls(chat, "noop", count, prefix)
    log(f"round trip: {count} calls at {RATE:g}/s to {webhook_url}")
    driver.send_at_rate(webhook_url, calls, RATE)
    return driver.collect(sim_url, chat, calls, timeout=60, procs=procs)


def warm_up(webhook_url: str, sim_url: str, prefix: str, procs: Any = ()) -> None:
    chat = driver.start_chat(sim_url, allow_connection=False)
    calls = driver.make_calls(chat, "noop", WARMUP_CALLS, prefix)
    driver.send_at_rate(webhook_url, calls, RATE)
    driver.collect(sim_url, chat, calls, timeout=30, procs=procs)


def _row(name: str, outcome: driver.Outcome | None, note: str = "") -> list[str]:
    if outcome is None:
        return [name, "n/a", "n/a", "n/a", "n/a", "n/a", note or "n/a"]
    s = outcome.summary()
    transports = ", ".join(f"{k} {v}" for k, v in sorted(outcome.transports().items()))
    problems = outcome.missing() + outcome.bad_statuses()
    return [
        name,
        str(s["n"]),
        fmt(s["p50"], 2),
        fmt(s["p95"], 2),
        fmt(s["p99"], 2),
        fmt(s["max"], 2),
        f"{transports}" + (f"; {problems} missing/failed" if problems else "") + (f"; {note}" if note else ""),
    ]


def run(d: Deployment) -> Section:
    sim_url = d.simulator()
    web_url = d.start_web()
    webhook_url = f"{web_url}/hume-webhook"
    d.flush_redis()
    d.start_relay()
    worker = d.start_worker(None)
    assert d.web is not None
    procs = [d.web, worker]

    log("round trip: warm-up of web, worker and relay")
    warm_up(webhook_url, sim_url, "rtw", procs)
    d.snapshot("round trip: web, worker, relay warmed up")
    ours = measure(d, webhook_url, sim_url, allow_connection=False, prefix="rt", procs=procs)
    d.snapshot("round trip: after the HTTP runs")
    segments = breakdown(d, ours)

    socket_outcome, socket_note = socket_path(d, webhook_url, sim_url, procs)
    d.snapshot("round trip: after the socket run")

    inline, inline_url = d.uvicorn_app("inline-app", "bench.inline_app:create_app")
    try:
        warm_up(f"{inline_url}/hume-webhook", sim_url, "inw", [inline])
        base = measure(d, f"{inline_url}/hume-webhook", sim_url, allow_connection=False, prefix="in", procs=[inline])
    finally:
        d.stop_proc(inline)

    section = Section(
        f"2. Round trip: webhook sent → answer at the control plane (no-op tool, {RATE:g} calls/s for "
        f"{DURATION_SECONDS:g} s)",
        ["path", "calls", "p50 ms", "p95 ms", "p99 ms", "max ms", "answers by transport"],
    )
    section.rows = [
        _row("**ours**: web → Redis → worker → HTTP send", ours),
        _row("**baseline**: handler inside the webhook request (Hume's example)", base),
        _row("ours, answer over the relay's socket", socket_outcome, socket_note),
    ]
    o, b = ours.summary(), base.summary()
    section.goals = [
        Goal(
            "round trip p50, ours - inline",
            f"+{o['p50'] - b['p50']:.2f} ms ({o['p50']:.2f} / {b['p50']:.2f})",
            f"<= +{P50_GOAL_MS:g} ms",
            o["p50"] - b["p50"] <= P50_GOAL_MS,
        ),
        Goal(
            "round trip p99, ours - inline",
            f"+{o['p99'] - b['p99']:.2f} ms ({o['p99']:.2f} / {b['p99']:.2f})",
            f"<= +{P99_GOAL_MS:g} ms",
            o["p99"] - b["p99"] <= P99_GOAL_MS,
        ),
    ]
    section.notes += [
        f"**difference ours - baseline: p50 +{o['p50'] - b['p50']:.2f} ms, p95 +{o['p95'] - b['p95']:.2f} ms, "
        f"p99 +{o['p99'] - b['p99']:.2f} ms** (ours {o['p50'] / b['p50']:.1f}x the baseline at p50).",
        "Where ours' round trip goes (mean ms per call, from RQ's job times and our call records "
        "`evi:call:*`): " + "; ".join(f"{name} {value:.2f}" for name, value in segments.items()) + ".",
        f"Worker: `evi-toolhost worker` with the default pool size ({d.worker_pool_size}); the relay ran during "
        "the HTTP rows too (the chat there was started without allow_connection). Open loop: call i is sent at "
        f"start + i/{RATE:g} s. Each path was warmed up with {WARMUP_CALLS} calls first.",
    ]
    section.data = {
        "ours_breakdown_ms": segments,
        "ours": o,
        "baseline": b,
        "socket": socket_outcome.summary() if socket_outcome else socket_note,
        "ours_types": ours.answer_types(),
        "baseline_types": base.answer_types(),
    }
    return section


def socket_path(d: Deployment, webhook_url: str, sim_url: str, procs: Any) -> tuple[driver.Outcome | None, str]:
    """The relay row, or (None, why it is n/a)."""
    chat = driver.start_chat(sim_url, allow_connection=True)
    status = driver.post_chat_started(webhook_url, chat)
    if status >= 300:
        return None, f"n/a: the chat_started webhook got HTTP {status}"
    state_key = f"evi:relay:socket:{chat}"
    try:
        wait_until(
            lambda: d.redis.hget(state_key, "state") == b"open",
            SOCKET_WAIT_SECONDS,
            "the relay opening the socket",
            interval=0.05,
        )
    except BenchError:
        active = d.redis.zscore("evi:chats:active", chat) is not None
        state = d.redis.hget(state_key, "state")
        why = (
            f"the chat was registered active but the relay did not open its socket (state {text(state) or 'none'})"
            if active
            else "nothing registered the chat in `evi:chats:active` after its chat_started webhook, so the "
            "relay never connected (the relay path is not wired up yet)"
        )
        log(f"round trip: socket row n/a: {why}")
        return None, f"n/a: {why}"
    log("round trip: the relay holds the chat's socket")
    outcome = measure(d, webhook_url, sim_url, allow_connection=True, prefix="rs", chat_id=chat, procs=procs)
    if outcome.transports().get("socket", 0) == 0:
        return None, (
            f"n/a: the relay held an open socket, but all {len(outcome.answers)} answers came by HTTP "
            f"(p50 {fmt(outcome.summary()['p50'], 2)} ms): worker delivery does not use the relay yet"
        )
    return outcome, ""


def breakdown(d: Deployment, outcome: driver.Outcome) -> dict[str, float]:
    """Mean time per segment of our path, from the webhook being sent to the answer at the control plane.

    RQ's job hash has `enqueued_at`/`started_at` (microseconds); our call record `started_ms` (handler about
    to run) and `finished_ms` (handler returned), in whole milliseconds, taken as the middle of that millisecond.
    """
    pipe = d.redis.pipeline(transaction=False)
    calls = [c for c in outcome.calls if c.tool_call_id in outcome.answers]
    for call in calls:
        pipe.hmget(f"rq:job:tool_call-{call.tool_call_id}", ["enqueued_at", "started_at"])
        pipe.hmget(f"evi:call:{call.tool_call_id}", ["started_ms", "finished_ms"])
    replies = pipe.execute()
    sums = dict.fromkeys(SEGMENTS, 0.0)
    n = 0
    for i, call in enumerate(calls):
        (enqueued, job_started), (started_ms, finished_ms) = replies[2 * i], replies[2 * i + 1]
        if not (enqueued and job_started and started_ms and finished_ms):
            continue
        points = [
            call.sent_at,
            utcparse(enqueued.decode()).timestamp(),
            utcparse(job_started.decode()).timestamp(),
            int(started_ms) / 1000 + 0.0005,  # the middle of the millisecond the record truncated to
            int(finished_ms) / 1000 + 0.0005,
            outcome.answers[call.tool_call_id]["received_at"],
        ]
        for name, (a, b) in zip(SEGMENTS, itertools.pairwise(points), strict=True):
            sums[name] += (b - a) * 1000
        n += 1
    return {name: total / n for name, total in sums.items()} if n else {}


SEGMENTS = (
    "webhook sent → job queued (web)",
    "queued → job started (RQ: wake-up, dequeue, job fetch, start bookkeeping)",
    "job started → handler starts (parse, run claim + guard, record)",
    "handler (no-op in its thread)",
    "handler done → answer at the control plane (answer claim, delivery)",
)
