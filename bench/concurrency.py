"""Benchmark 4, I/O concurrency: 200 tool calls whose async handler awaits 1 s of I/O, arriving at once.

Ours: the default deployment (the Procfile's `evi-toolhost worker`: WORKER_POOL_SIZE processes, each
running up to WORKER_CONCURRENCY jobs at once, both at their defaults) with web and relay; the 200
webhooks are posted concurrently (connections opened beforehand). Time until the last answer reaches
the simulator, and the answers-per-second ceiling = 200 / that time. The tool's timeout
(`bench.tools.sleep_1s`) is long enough that no call times out; how many answers came later than the
default TOOL_TIMEOUT_SECONDS is reported (with the default timeout those calls would have been
answered `timeout` instead).
Baseline: the same 200 calls into `bench.inline_app` (handler awaited inside the webhook request).
"""

from __future__ import annotations

import math
from typing import Any

from bench import driver
from bench.deployment import Deployment, default_pool_size, default_worker_concurrency
from bench.harness import Goal, Section, fmt, log
from bench.tools import SLEEP_TOOL_TIMEOUT_SECONDS
from service.settings import Settings

CALLS = 200
TOOL_SECONDS = 1.0
BASELINE_WARM = 2
"""Bursts of 1 s calls the baseline gets before the measured ones: its httpx pool settles in two."""
ROUNDS = 3
"""Measured bursts of each, ours and the baseline in turn; each row is its median burst."""
LAST_ANSWER_GOAL_SECONDS = 1.3


def default_tool_timeout() -> float:
    return float(Settings.model_fields["tool_timeout_seconds"].default)


def warm_burst(webhook_url: str, sim_url: str, prefix: str, procs: Any, tool: str) -> None:
    """A burst of `CALLS` calls of `tool` before the measured one: every process warm and its connections open."""
    chat = driver.start_chat(sim_url, allow_connection=False)
    calls = driver.make_calls(chat, tool, CALLS, prefix)
    driver.send_all_at_once(webhook_url, calls)
    driver.collect(sim_url, chat, calls, timeout=60, procs=procs)


def burst(webhook_url: str, sim_url: str, prefix: str, procs: Any, timeout: float) -> dict[str, Any]:
    chat = driver.start_chat(sim_url, allow_connection=False)
    calls = driver.make_calls(chat, "sleep_1s", CALLS, prefix)
    log(f"concurrency: {CALLS} calls of a 1 s async tool at once to {webhook_url}")
    driver.send_all_at_once(webhook_url, calls)
    outcome = driver.collect(sim_url, chat, calls, timeout=timeout, procs=procs)
    first_sent = min(c.sent_at for c in calls)
    last_sent = max(c.sent_at for c in calls)
    answered = [a["received_at"] for a in outcome.answers.values()]
    last = max(answered)
    trips = outcome.round_trips()
    limit = default_tool_timeout()
    return {
        "answered": len(answered),
        "missing": outcome.missing(),
        "bad_status": outcome.bad_statuses(),
        "send_spread_ms": (last_sent - first_sent) * 1000,
        "to_last_answer": last - first_sent,
        "ceiling": len(answered) / (last - first_sent),
        "summary": outcome.summary(),
        "late": sum(1 for t in trips if t > limit),
        "types": outcome.answer_types(),
    }


def median_burst(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The burst whose time to the last answer is the median (the middle one of an odd count)."""
    ordered = sorted(rounds, key=lambda r: float(r["to_last_answer"]))
    return ordered[len(ordered) // 2]


def run(d: Deployment) -> Section:
    sim_url = d.simulator()
    web_url = d.start_web()
    d.start_relay()
    d.stop_worker()
    d.flush_redis()  # before the worker starts: flushing would drop a running worker's RQ registration
    d.start_worker(None)
    assert d.web is not None and d.worker is not None
    pool = d.worker_pool_size or default_pool_size()  # the defaults from settings, as `evi-toolhost worker` uses
    per_process = default_worker_concurrency()
    slots = pool * per_process
    floor = math.ceil(CALLS / slots) * TOOL_SECONDS  # waves of `slots` calls, TOOL_SECONDS each
    procs = [d.web, d.worker]
    warm_burst(f"{web_url}/hume-webhook", sim_url, "ccw", procs, "noop")
    d.snapshot("concurrency: default deployment warmed up")
    budget = floor * 1.5 + 30

    inline, inline_url = d.uvicorn_app("inline-app", "bench.inline_app:create_app")
    try:
        # Its first bursts of 1 s calls are slower (all 200 answers leave at once, and its httpx pool first
        # opens, then re-checks, its connections to the control plane): measured and reported; the rows are
        # the bursts after them.
        cold = [burst(f"{inline_url}/hume-webhook", sim_url, f"icc{i}", [inline], 60) for i in range(BASELINE_WARM)]
        ours_rounds: list[dict[str, Any]] = []
        base_rounds: list[dict[str, Any]] = []
        for i in range(ROUNDS):  # in turn, so that a slow stretch of this VM does not fall on one side only
            ours_rounds.append(burst(f"{web_url}/hume-webhook", sim_url, f"cc{i}", procs, budget))
            base_rounds.append(burst(f"{inline_url}/hume-webhook", sim_url, f"ic{i}", [inline], 60))
    finally:
        d.stop_proc(inline)
    d.snapshot("concurrency: after the bursts of 200 concurrent 1 s calls")
    ours, base = median_burst(ours_rounds), median_burst(base_rounds)

    limit = default_tool_timeout()
    section = Section(
        f"4. I/O concurrency: {CALLS} calls of an async tool awaiting {TOOL_SECONDS:g} s, all at once",
        [
            "deployment",
            "answered",
            "time to last answer s",
            "ceiling answers/s",
            "p50 ms",
            "max ms",
            f"answered > {limit:g} s after sending",
        ],
    )

    def row(name: str, r: dict[str, Any]) -> list[str]:
        s = r["summary"]
        return [
            name,
            f"{r['answered']}/{CALLS}",
            fmt(r["to_last_answer"], 2),
            fmt(r["ceiling"], 1),
            fmt(s["p50"], 0),
            fmt(s["max"], 0),
            str(r["late"]),
        ]

    deployment = f"pool size {pool} x {per_process} job(s) per process" if per_process > 1 else f"pool size {pool}"
    section.rows = [
        row(f"**ours**: Procfile defaults (`evi-toolhost worker`: {deployment})", ours),
        row("**baseline**: handler awaited inside the webhook request", base),
    ]
    late = (
        f"{ours['late']} of {CALLS} answers came more than {limit:g} s (the default TOOL_TIMEOUT_SECONDS) after "
        "their webhook: with that default timeout they would have been answered `timeout` instead"
        if ours["late"]
        else f"none came later than the default TOOL_TIMEOUT_SECONDS ({limit:g} s)"
    )
    each = ", ".join(f"{r['to_last_answer']:.2f}" for r in ours_rounds)
    section.goals = [
        Goal(
            f"{CALLS} calls of a {TOOL_SECONDS:g} s tool at once, to the last answer",
            f"{ours['to_last_answer']:.2f} s, median of {each} ({deployment})",
            f"<= {LAST_ANSWER_GOAL_SECONDS:g} s",
            all(r["answered"] == CALLS for r in ours_rounds) and ours["to_last_answer"] <= LAST_ANSWER_GOAL_SECONDS,
        )
    ]
    section.notes += [
        f"**ours answers at most {ours['ceiling']:.1f} calls/s of a 1 s I/O-bound tool, the baseline "
        f"{base['ceiling']:.1f}/s; {late}.** The default deployment runs {slots} calls at once ({deployment}), "
        f"so {CALLS} calls of {TOOL_SECONDS:g} s need at least {floor:g} s; the baseline awaits every handler at "
        f"once, at least {TOOL_SECONDS:g} s.",
        f"Each row is the median of {ROUNDS} bursts, ours and the baseline in turn; to the last answer, ours "
        + ", ".join(f"{r['to_last_answer']:.2f}" for r in ours_rounds)
        + " s, the baseline "
        + ", ".join(f"{r['to_last_answer']:.2f}" for r in base_rounds)
        + " s.",
        f"Warm-up: ours a burst of {CALLS} no-op calls; the baseline {BASELINE_WARM} bursts of the same 1 s calls, "
        "answered in "
        + " and ".join(f"{c['to_last_answer']:.2f} s" for c in cold)
        + " (its httpx pool to the control plane settling under 200 concurrent sends). The tool's own timeout is "
        f"{SLEEP_TOOL_TIMEOUT_SECONDS:g} s so that every call runs. Webhooks sent within "
        f"{ours['send_spread_ms']:.0f} ms (ours) / {base['send_spread_ms']:.0f} ms (baseline); answer types: "
        f"ours {ours['types']}, baseline {base['types']}.",
    ]
    section.data = {
        "ours": ours,
        "baseline": base,
        "ours_rounds": ours_rounds,
        "baseline_rounds": base_rounds,
        "baseline_warm_bursts": cold,
        "pool_size": pool,
        "worker_concurrency": per_process,
        "floor_seconds": floor,
    }
    return section
