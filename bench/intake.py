"""Benchmark 1, intake: signed tool_call webhooks at the maximum rate into one web process.

Ours: `evi-toolhost web` (one uvicorn process) with a real Redis; every request is a unique, validly
signed tool call, so each one is verified, parsed, claimed and queued (202). No worker runs: the jobs
just queue, and Redis is flushed between runs.
Baseline: `bench.bare_app`, a Starlette endpoint that reads the body and returns 200, under the same
uvicorn options, fed the very same requests.

Each is driven by `bench.loadgen` (a separate process) with 32 keep-alive connections for 2 s of
warm-up and 10 s measured; then again with the same 32 connections split over two generator processes:
if the generator were the bottleneck, the total would rise with the second one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.harness import (
    REPO,
    RESULTS_DIR,
    SIGNING_KEY,
    BenchError,
    Deployment,
    Section,
    fmt,
    log,
    profile_notes,
    start_profile,
)
from service.evi.signing import verify
from service.evi.webhooks import webhook_event_adapter
from service.queue.enqueue import enqueue
from service.redis_client import connect
from tests.support.webhooks import signed, tool_call_payload

CONNECTIONS = 32
WARMUP_SECONDS = 2.0
DURATION_SECONDS = 10.0


def run_loadgens(
    port: int,
    *,
    generators: int,
    connections: int,
    warmup: float,
    duration: float,
    count: int,
    cycle: bool,
    watch: dict[str, int],
    prefix: str,
) -> dict[str, Any]:
    """Run `generators` loadgen processes side by side (started together); their summed result."""
    procs: list[subprocess.Popen[str]] = []
    try:
        for g in range(generators):
            args = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--wait-go"]
            args += ["--connections", str(connections // generators), "--warmup", str(warmup)]
            args += ["--duration", str(duration), "--count", str(count), "--prefix", f"{prefix}{g}"]
            args += ["--cycle"] if cycle else []
            for pid in watch.values():
                args += ["--watch-pid", str(pid)]
            procs.append(
                subprocess.Popen(
                    args, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
            )
        for proc in procs:  # each prints "ready" once its requests are built
            assert proc.stderr is not None
            line = proc.stderr.readline()
            if line.strip() != "ready":
                raise BenchError(f"load generator failed to start: {line}{proc.stderr.read()[-2000:]}")
        start_at = time.time() + 0.2
        outputs = []
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"{start_at}\n")
            proc.stdin.flush()
        for proc in procs:
            out, err = proc.communicate(timeout=warmup + duration + 60)
            if proc.returncode != 0 or not out.strip():
                raise BenchError(f"load generator failed (code {proc.returncode}): {err[-2000:]}")
            outputs.append(json.loads(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return combine(outputs, watch)


def combine(outputs: list[dict[str, Any]], watch: dict[str, int]) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    for out in outputs:
        for key, value in out["statuses"].items():
            statuses[key] = statuses.get(key, 0) + value
        for key, value in out["errors"].items():
            errors[key] = errors.get(key, 0) + value
    # Latency percentiles of the union are not the mean of each; with equal connection counts and
    # similar rates the per-generator figures are close, so report the completed-weighted mean and the max.
    total = sum(out["completed"] for out in outputs) or 1
    return {
        "generators": len(outputs),
        "connections": sum(out["connections"] for out in outputs),
        "rps": sum(out["rps"] for out in outputs),
        "completed": sum(out["completed"] for out in outputs),
        "p50_ms": sum(out["p50_ms"] * out["completed"] for out in outputs) / total,
        "p99_ms": max(out["p99_ms"] for out in outputs),
        "statuses": statuses,
        "errors": errors,
        "exhausted": any(out["exhausted"] for out in outputs),
        "generator_cpu": [out["generator_cpu"] for out in outputs],
        "server_cpu": {
            name: max(out["watched_cpu"].get(str(pid), 0.0) for out in outputs) for name, pid in watch.items()
        },
        "server_sys": {
            name: max(out["watched_sys"].get(str(pid), 0.0) for out in outputs) for name, pid in watch.items()
        },
        "loop": outputs[0]["loop"],
    }


def _row(name: str, result: dict[str, Any], ok_status: str) -> list[str]:
    bad = sum(v for k, v in result["statuses"].items() if k != ok_status) + sum(result["errors"].values())
    gens = "+".join(f"{c:.2f}" for c in result["generator_cpu"])
    server = result["server_cpu"]
    return [
        name,
        f"{result['generators']} x {result['connections'] // result['generators']}",
        fmt(result["rps"], 0),
        fmt(result["p50_ms"], 2),
        fmt(result["p99_ms"], 2),
        fmt(server.get("server", float("nan")), 2),
        fmt(server["redis"], 2) if "redis" in server else "-",
        gens,
        f"{bad}" + (" (ran out of prepared requests)" if result["exhausted"] else ""),
    ]


def run(d: Deployment) -> Section:
    web_url = d.start_web()
    web_port = int(web_url.rsplit(":", 1)[1])
    assert d.web is not None
    redis_pid = d.redis_pid()
    watch_ours = {"server": d.web.pid, **({"redis": redis_pid} if redis_pid else {})}
    d.flush_redis()

    log("intake: warm-up of the web process")
    warm = run_loadgens(
        web_port,
        generators=1,
        connections=CONNECTIONS,
        warmup=0.5,
        duration=1.5,
        count=20000,
        cycle=False,
        watch=watch_ours,
        prefix="warm",
    )
    d.snapshot("intake: web warmed up")
    # Enough unique requests for the whole run at up to 3x the warm-up rate (and at least 30k).
    count = max(30000, int(warm["rps"] * 3 * (WARMUP_SECONDS + DURATION_SECONDS)))
    d.flush_redis()

    results: dict[str, dict[str, Any]] = {}
    for generators in (1, 2):
        log(
            f"intake: ours, {generators} generator(s) x {CONNECTIONS // generators} connections, {DURATION_SECONDS:g} s"
        )
        results[f"ours-{generators}"] = run_loadgens(
            web_port,
            generators=generators,
            connections=CONNECTIONS,
            warmup=WARMUP_SECONDS,
            duration=DURATION_SECONDS,
            count=count // generators,
            cycle=False,
            watch=watch_ours,
            prefix=f"r{generators}g",
        )
        queued = int(d.redis.llen("rq:queue:evi-tools"))
        results[f"ours-{generators}"]["queued"] = queued
        d.flush_redis()
    d.snapshot("intake: web after its runs")

    bare, bare_url = d.uvicorn_app("bare-app", "bench.bare_app:create_app")
    try:
        for generators in (1, 2):
            log(f"intake: baseline, {generators} generator(s) x {CONNECTIONS // generators} connections")
            results[f"bare-{generators}"] = run_loadgens(
                int(bare_url.rsplit(":", 1)[1]),
                generators=generators,
                connections=CONNECTIONS,
                warmup=WARMUP_SECONDS,
                duration=DURATION_SECONDS,
                count=20000,
                cycle=True,
                watch={"server": bare.pid},
                prefix=f"b{generators}g",
            )
    finally:
        d.stop_proc(bare)

    ours, base = results["ours-1"], results["bare-1"]
    section = Section(
        "1. Intake: signed tool_call webhooks at maximum rate (one uvicorn process)",
        [
            "server",
            "generators x conns",
            "req/s",
            "p50 ms",
            "p99 ms",
            "server CPU",
            "Redis CPU",
            "generator CPU",
            "non-2xx/errors",
        ],
    )
    section.rows = [
        _row("**ours** (`evi-toolhost web` + Redis)", results["ours-1"], "202"),
        _row("ours, 2 generators", results["ours-2"], "202"),
        _row("**baseline** (bare Starlette, read body, 200)", results["bare-1"], "200"),
        _row("baseline, 2 generators", results["bare-2"], "200"),
    ]
    ratio = ours["rps"] / base["rps"] if base["rps"] else float("nan")
    second_ours = results["ours-2"]["rps"] / ours["rps"] - 1
    second_base = results["bare-2"]["rps"] / base["rps"] - 1
    section.notes += [
        f"**ratio ours / baseline: {ratio:.3f}x the requests/s** ({fmt(ours['rps'], 0)} vs {fmt(base['rps'], 0)}); "
        f"p50 {fmt(ours['p50_ms'], 2)} ms vs {fmt(base['p50_ms'], 2)} ms "
        f"({ours['p50_ms'] / base['p50_ms']:.1f}x), p99 {fmt(ours['p99_ms'], 2)} vs {fmt(base['p99_ms'], 2)} ms.",
        f"{DURATION_SECONDS:g} s measured after {WARMUP_SECONDS:g} s of warm-up, {CONNECTIONS} keep-alive connections, "
        f"one request in flight on each; every request of ours a unique signed tool call "
        f"({ours['queued']} jobs were queued by the 1-generator run).",
        f"One generator process used {max(ours['generator_cpu']):.2f} of a core against ours and "
        f"{max(base['generator_cpu']):.2f} against the baseline, while each server used a full core; with the same "
        f"{CONNECTIONS} connections split over two generator processes the total changed by {second_ours:+.0%} "
        f"(ours) and {second_base:+.0%} (baseline)"
        + (
            ": the generator was not the limit."
            if second_base < 0.05 and max(base["generator_cpu"]) < 0.7
            else ": CHECK, a second generator raised the baseline's total, the generator may have limited it."
        ),
        "CPU columns are CPU seconds per wall second over the measured window (1.00 = one core busy): the "
        "server process is the bottleneck when it is at ~1.0 while the generator is well below, and the total "
        "does not rise with a second generator process.",
    ]
    steps = step_costs(d)
    ours_cpu_us = ours["server_cpu"]["server"] / ours["rps"] * 1e6
    base_cpu_us = base["server_cpu"]["server"] / base["rps"] * 1e6
    kernel = ours["server_sys"]["server"] / ours["server_cpu"]["server"] if ours["server_cpu"]["server"] else 0.0
    section.notes.append(
        f"Where it goes: the web process spends {ours_cpu_us:.0f} us of CPU per webhook ({kernel * 100:.0f}% of it "
        f"in the kernel), the baseline {base_cpu_us:.0f} us. Each step alone, one request at a time in this "
        f"process against the same Redis: signature check {steps['verify']:.1f} us, JSON + pydantic validation "
        f"{steps['json + validate']:.1f} us, `dispatch()` (claim + RQ enqueue: WATCH, EXISTS, MULTI..EXEC = 3 "
        f"round trips, 9 commands) {steps['dispatch']:.0f} us wall; one Redis PING round trip is "
        f"{steps['redis ping']:.0f} us here. In the server, dispatch() runs in anyio's thread pool "
        "(`run_in_threadpool`), so every request also pays a thread hand-off and GIL switches."
    )
    section.data = {
        "results": results,
        "ratio_rps": ratio,
        "prepared_requests": count,
        "warmup": warm,
        "step_costs_us": steps,
        "cpu_us_per_request": {"ours": ours_cpu_us, "baseline": base_cpu_us, "ours_kernel_share": kernel},
    }
    if d.profile:
        section.notes += profile_web(d, web_port, watch_ours)
    return section


NEEDLES = {
    "hume_webhook (service/webhooks.py": "the endpoint on the event loop (without dispatch)",
    "enqueue (service/queue/enqueue.py": "dispatch() in a worker thread",
    "Queue.enqueue_call (rq/queue.py": "of which RQ enqueue (Job build, serialize)",
    "redis/connection.py": "redis-py connection I/O, command packing, reply parsing",
    "WorkerThread.run (anyio": "anyio worker threads (dispatch and the hop)",
    "run_sync_in_worker_thread (anyio": "run_in_threadpool on the loop side",
    "verify (service/evi/signing.py": "signature check",
    "TypeAdapter.validate_python (pydantic": "event validation",
    "RequestResponseCycle.send (uvicorn": "uvicorn writing responses",
    "Logger.info (logging": "logging",
}


def profile_web(d: Deployment, port: int, watch: dict[str, int]) -> list[str]:
    """py-spy (GIL holders only: where the Python CPU goes) of the web process under the same load."""
    assert d.web is not None
    out = RESULTS_DIR / "profile-intake-web.txt"
    RESULTS_DIR.mkdir(exist_ok=True)
    log("intake: profiling the web process under load (py-spy --gil)")
    spy = start_profile(d.web.pid, 6, out, gil=True)
    if spy is None:
        return ["profile: py-spy is not installed (pip install -e '.[test,bench]')"]
    try:
        run_loadgens(
            port,
            generators=1,
            connections=CONNECTIONS,
            warmup=0.5,
            duration=7,
            count=20000,
            cycle=False,
            watch=watch,
            prefix="prof",
        )
        spy.wait(timeout=30)
    finally:
        if spy.poll() is None:
            spy.kill()
        d.flush_redis()
    return profile_notes(out, "web process (samples holding the GIL)", NEEDLES)


def step_costs(d: Deployment, count: int = 2000) -> dict[str, float]:
    """Microseconds per request of each intake step, run sequentially in this process against the same Redis."""
    requests = [
        signed(tool_call_payload("noop", {}, tool_call_id=f"toolu_step_{i:06d}"), SIGNING_KEY) for i in range(count)
    ]
    redis = connect(d.redis_url)
    costs: dict[str, float] = {}

    def timed(name: str, step: Callable[[bytes, dict[str, str]], object]) -> None:
        started = time.perf_counter()
        for body, headers in requests:
            step(body, headers)
        costs[name] = (time.perf_counter() - started) / count * 1e6

    try:
        timed("verify", lambda body, headers: verify(body, headers, [SIGNING_KEY], 180))
        timed("json + validate", lambda body, headers: webhook_event_adapter.validate_python(json.loads(body)))
        events = iter([webhook_event_adapter.validate_python(json.loads(body)) for body, _ in requests])
        timed("dispatch", lambda body, headers: enqueue(redis, next(events), 86400))
        timed("redis ping", lambda body, headers: redis.ping())
    finally:
        redis.close()
        d.flush_redis()
    return costs
