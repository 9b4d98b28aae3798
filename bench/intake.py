"""Benchmark 1, intake: signed tool_call webhooks at the maximum rate into one web process.

Ours: `evi-toolhost web` (one uvicorn process) with a real Redis; every request is a unique, validly
signed tool call, so each one is verified, parsed, claimed and queued (202). No worker runs: the jobs
just queue, and Redis is flushed between runs.
Baseline: `bench.bare_app`, a Starlette endpoint that reads the body and returns 200, under the same
uvicorn options, fed the very same requests.

Each is driven by `bench.loadgen` (a separate process) with 32 keep-alive connections for 2 s of
warm-up and 10 s measured. Ours and the floor run at the maximum rate in turn, ROUNDS times each; each is
reported by its median round, and the ratio is the median of the rounds' own ratios. Then each once at the
fixed rate. The bare app runs again with the same 32 connections split over two generator processes: if the
generator were the bottleneck, the total would rise with the second one.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.deployment import Deployment
from bench.harness import REPO, RESULTS_DIR, BenchError, Goal, Section, fmt, log
from bench.intake_steps import step_costs
from bench.profiling import profile_notes, start_profile

CONNECTIONS = 32
WARMUP_SECONDS = 2.0
DURATION_SECONDS = 10.0
FIXED_RATE = 1000
ROUNDS = 3
"""On this VM one 10 s window of the same web code gave 0.50x, 0.61x and 0.63x the floor within an hour."""
RATIO_GOAL = 0.6
P99_GOAL_MS = 5.0


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
    rate: float = 0.0,
) -> dict[str, Any]:
    """Run `generators` loadgen processes side by side (started together); their summed result."""
    procs: list[subprocess.Popen[str]] = []
    try:
        for g in range(generators):
            args = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--wait-go"]
            args += ["--connections", str(connections // generators), "--warmup", str(warmup)]
            args += ["--duration", str(duration), "--count", str(count), "--prefix", f"{prefix}{g}"]
            args += ["--cycle"] if cycle else []
            args += ["--rate", str(rate / generators)] if rate else []
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
        "rate": sum(out["rate"] for out in outputs),
        "late": sum(out["late"] for out in outputs),
    }


def _row(name: str, result: dict[str, Any], ok_status: str) -> list[str]:
    bad = sum(v for k, v in result["statuses"].items() if k != ok_status) + sum(result["errors"].values())
    gens = "+".join(f"{c:.2f}" for c in result["generator_cpu"])
    server = result["server_cpu"]
    load = f"{result['rate']:g}/s open loop" if result.get("rate") else "max"
    return [
        name,
        f"{load}, {result['generators']} x {result['connections'] // result['generators']} conns",
        fmt(result["rps"], 0),
        fmt(result["p50_ms"], 2),
        fmt(result["p99_ms"], 2),
        fmt(server.get("server", float("nan")), 2),
        fmt(server["redis"], 2) if "redis" in server else "-",
        gens,
        f"{bad}" + (" (ran out of prepared requests)" if result["exhausted"] else ""),
    ]


def _loadgen(port: int, watch: dict[str, int], prefix: str, **options: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "generators": 1,
        "connections": CONNECTIONS,
        "warmup": WARMUP_SECONDS,
        "duration": DURATION_SECONDS,
        "count": 30000,
        "cycle": False,
        "rate": 0.0,
    }
    settings.update(options)
    return run_loadgens(port, watch=watch, prefix=prefix, **settings)


def _median_round(results: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(results, key=lambda result: float(result["rps"]))[len(results) // 2]


def run(d: Deployment) -> Section:
    web_url = d.start_web()
    web_port = int(web_url.rsplit(":", 1)[1])
    assert d.web is not None
    redis_pid = d.redis_pid()
    with_redis = {"redis": redis_pid} if redis_pid else {}
    watch_ours = {"server": d.web.pid, **with_redis}
    d.flush_redis()

    log("intake: warm-up of the web process")
    warm = _loadgen(web_port, watch_ours, "warm", warmup=0.5, duration=1.5, count=20000)
    d.snapshot("intake: web warmed up")
    # Enough unique requests for a whole run at up to 3x the warm-up rate (and at least 30k).
    count = max(30000, int(warm["rps"] * 3 * (WARMUP_SECONDS + DURATION_SECONDS)))
    d.flush_redis()

    results: dict[str, Any] = {}
    rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
    floor, floor_url = d.uvicorn_app("floor-app", "bench.floor_app:create_app")
    watch_floor = {"server": floor.pid, **with_redis}
    try:
        for r in range(ROUNDS):  # the floor reuses its requests (`cycle`): it does not mind a tool call twice
            log(f"intake: round {r + 1}, ours then the floor, maximum rate, {CONNECTIONS} connections")
            ours_max = _loadgen(web_port, watch_ours, f"ours{r}m", count=count)
            d.flush_redis()
            floor_max = _loadgen(_port(floor_url), watch_floor, f"floor{r}m", count=count, cycle=True)
            d.flush_redis()
            rounds.append((ours_max, floor_max))
        log(f"intake: ours, then the floor, {FIXED_RATE} req/s, {DURATION_SECONDS:g} s")
        results["ours-rate"] = _loadgen(web_port, watch_ours, "oursr", rate=FIXED_RATE, count=count)
        d.flush_redis()
        results["floor-rate"] = _loadgen(
            _port(floor_url), watch_floor, "floorr", rate=FIXED_RATE, count=count, cycle=True
        )
        d.flush_redis()
    finally:
        d.stop_proc(floor)
    d.snapshot("intake: web after its runs")
    results["ours-max"] = _median_round([ours_max for ours_max, _ in rounds])
    results["floor-max"] = _median_round([floor_max for _, floor_max in rounds])
    results["rounds"] = [[ours_max["rps"], floor_max["rps"]] for ours_max, floor_max in rounds]

    bare, bare_url = d.uvicorn_app("bare-app", "bench.bare_app:create_app")
    try:
        for generators in (1, 2):
            log(f"intake: bare, {generators} generator(s) x {CONNECTIONS // generators} connections")
            results[f"bare-{generators}"] = _loadgen(
                _port(bare_url), {"server": bare.pid}, f"b{generators}g", generators=generators, cycle=True
            )
    finally:
        d.stop_proc(bare)

    section = _report(results, count)
    section.data["warmup"] = warm
    steps = step_costs(d)
    section.data["step_costs_us"] = steps
    section.notes.append(_where_it_goes(results, steps))
    if d.profile:
        section.notes += profile_web(d, web_port, watch_ours)
    return section


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _report(results: dict[str, Any], count: int) -> Section:
    ours, floor, bare = results["ours-max"], results["floor-max"], results["bare-1"]
    ours_rate, floor_rate = results["ours-rate"], results["floor-rate"]
    section = Section(
        "1. Intake: signed tool_call webhooks into one uvicorn process",
        [
            "server",
            "load",
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
        _row("**ours** (`evi-toolhost web` + Redis)", ours, "202"),
        _row("ours", ours_rate, "202"),
        _row("**floor**: bare Starlette + one async Redis LPUSH", floor, "202"),
        _row("floor", floor_rate, "202"),
        _row("bare Starlette (read body, 200)", bare, "200"),
        _row("bare Starlette, 2 generators", results["bare-2"], "200"),
    ]
    round_ratios = [o / f if f else float("nan") for o, f in results["rounds"]]
    ratio = statistics.median(round_ratios)
    section.goals = [
        Goal(
            "intake req/s, ours / floor",
            f"{ratio:.2f}x (median of rounds {', '.join(f'{r:.2f}' for r in round_ratios)}; median rates "
            f"{fmt(ours['rps'], 0)} / {fmt(floor['rps'], 0)})",
            f">= {RATIO_GOAL}x",
            ratio >= RATIO_GOAL,
        ),
        Goal(
            f"intake p99 at {FIXED_RATE} req/s",
            f"{ours_rate['p99_ms']:.2f} ms (floor {floor_rate['p99_ms']:.2f})",
            f"<= {P99_GOAL_MS:g} ms",
            ours_rate["p99_ms"] <= P99_GOAL_MS and _clean(ours_rate, "202"),
        ),
    ]
    second = results["bare-2"]["rps"] / bare["rps"] - 1
    section.notes += [
        f"Ours and the floor ran at the maximum rate in turn, {len(round_ratios)} times each; each row is its median "
        "round, the ratio the median of the rounds' own ratios. Req/s by round, ours / floor: "
        + ", ".join(f"{fmt(o, 0)} / {fmt(f, 0)}" for o, f in results["rounds"])
        + ".",
        f"ours / bare Starlette: {ours['rps'] / bare['rps']:.3f}x; floor / bare: {floor['rps'] / bare['rps']:.3f}x.",
        f"max: {CONNECTIONS} keep-alive connections, one request in flight on each, as fast as the server answers; "
        f"{FIXED_RATE}/s: open loop (request i due at start + i/{FIXED_RATE} s, latency from when it was due) on the "
        f"same connections. {DURATION_SECONDS:g} s measured after {WARMUP_SECONDS:g} s of warm-up; every request of "
        f"ours a unique signed tool call (up to {count} prepared), each claimed and queued (no worker runs; Redis is "
        "emptied between runs).",
        f"The generator is not the limit: one generator process used {max(bare['generator_cpu']):.2f} of a core "
        f"against the bare app, and splitting the same connections over two generator processes changed its total "
        f"by {second:+.0%}. CPU columns: CPU seconds per wall second over the measured window (1.00 = one core).",
    ]
    section.data = {"results": results, "ratio_rps_floor": ratio, "prepared_requests": count}
    return section


def _clean(result: dict[str, Any], ok_status: str) -> bool:
    return not sum(v for k, v in result["statuses"].items() if k != ok_status) and not result["errors"]


def _where_it_goes(results: dict[str, Any], steps: dict[str, float]) -> str:
    def cpu_us(name: str) -> float:
        result = results[name]
        return float(result["server_cpu"]["server"] / result["rps"] * 1e6) if result["rps"] else float("nan")

    return (
        f"Where it goes: CPU per request of the server process: ours {cpu_us('ours-max'):.0f} us, the floor "
        f"{cpu_us('floor-max'):.0f} us, bare {cpu_us('bare-1'):.0f} us. Each step alone, one request at a time in "
        f"this process against the same Redis: signature check {steps['verify']:.1f} us, JSON + pydantic "
        f"validation {steps['json + validate']:.1f} us, `Enqueuer.enqueue` (RQ's job hash built, claim + job + "
        f"deadline in one Lua call) {steps['enqueue']:.0f} us wall, of which the job's own fields "
        f"{steps['job hash']:.0f} us; one async Redis LPUSH {steps['lpush']:.0f} us."
    )


NEEDLES = {
    "hume_webhook (service/webhooks.py": "the endpoint",
    "enqueue (service/queue/enqueue.py": "`Enqueuer.enqueue`",
    "job_hash (service/queue/enqueue.py": "of which RQ's job hash",
    "redis/asyncio": "redis-py (asyncio client)",
    "verify (service/evi/signing.py": "signature check",
    "validate_python (pydantic": "event validation",
    "starlette/": "Starlette",
    "uvicorn/": "uvicorn",
    "logging/": "logging",
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
