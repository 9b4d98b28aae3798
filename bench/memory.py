"""Benchmark 5, memory: RSS of the web, worker (pool parent + children) and relay processes.

Read from /proc/PID/status (VmRSS) after each process warmed up and after each benchmark run that used
it, so growth across runs shows. The web and relay processes live for the whole run; worker processes
are started per benchmark (pool size 1 for throughput, the default pool otherwise). PSS (from
/proc/PID/smaps_rollup) is shown too: forked pool children share their parent's pages, which RSS
counts once per process and PSS splits between them.
Run alone (`python -m bench memory`), it starts the default deployment and warms it up first.
"""

from __future__ import annotations

from bench.deployment import Deployment, Snapshot
from bench.harness import Goal, Section, log

PROCESS_RSS_GOAL_MB = 100


def run(d: Deployment) -> Section:
    if not d.snapshots:
        from bench.round_trip import warm_up

        sim_url = d.simulator()
        web_url = d.start_web()
        d.start_relay()
        d.start_worker(None)
        log("memory: warming up the default deployment")
        warm_up(f"{web_url}/hume-webhook", sim_url, "mem", [])
        d.snapshot("default deployment warmed up (50 calls)")
    section = Section(
        "5. Memory: RSS (PSS) in MB after warm-up and after each run",
        ["stage", "web", "worker (parent + children)", "relay"],
    )
    stages: dict[str, dict[str, Snapshot]] = {}
    for snap in d.snapshots:
        stages.setdefault(snap.stage, {})[snap.process] = snap

    def cell(snap: Snapshot | None, detail: bool = False) -> str:
        if snap is None:
            return "-"
        text = f"{snap.rss_kb / 1024:.1f} ({snap.pss_kb / 1024:.1f})"
        return f"{text}: {snap.detail}" if detail else text

    for stage, snaps in stages.items():
        section.rows.append(
            [stage, cell(snaps.get("web")), cell(snaps.get("worker"), detail=True), cell(snaps.get("relay"))]
        )
    by_process: dict[str, list[int]] = {}
    for snap in d.snapshots:
        by_process.setdefault(snap.process, []).append(snap.rss_kb)
    growth = [
        f"{name} {values[0] / 1024:.1f} → {values[-1] / 1024:.1f} MB"
        for name, values in by_process.items()
        if name != "worker" and len(values) > 1
    ]
    if growth:
        section.notes.append("The same process from its first to its last snapshot: " + "; ".join(growth) + ".")
    section.notes.append(
        "RSS from /proc/PID/status (VmRSS), PSS from /proc/PID/smaps_rollup. The worker column sums the pool "
        "parent, its worker children and RQ's scheduler child (the children's sizes in MB RSS listed); RSS counts "
        "the pages they share after the fork once per process, PSS divides them between the processes."
    )
    largest = max(d.snapshots, key=lambda snap: snap.largest_kb, default=None)
    if largest is not None:
        section.goals = [
            Goal(
                "largest single process, RSS",
                f"{largest.largest_kb / 1024:.1f} MB ({largest.process}, {largest.stage})",
                f"<= {PROCESS_RSS_GOAL_MB} MB",
                largest.largest_kb / 1024 <= PROCESS_RSS_GOAL_MB,
            )
        ]
    section.data = {"snapshots": [snap.__dict__ for snap in d.snapshots]}
    return section
