"""`python -m bench [BENCHMARK ...]`: run the benchmarks, print the table, write bench/results/latest.md.

    .venv/bin/python -m bench                      # all of them (about 5 minutes on 2 cores)
    .venv/bin/python -m bench intake round_trip    # some of them
    .venv/bin/python -m bench --no-profile         # without the py-spy profiles of web and worker under load

Each benchmark runs its baseline in the same run, on the same machine, against the same processes.
Everything started (Redis, the simulator, web, worker, relay, baseline apps, load generators) is stopped
at the end, on failure and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from bench.deployment import Deployment
from bench.harness import RESULTS_DIR, BenchError, Section, log, terminate_as_interrupt
from bench.profiling import py_spy

BENCHMARKS = {
    "intake": "bench.intake",
    "round_trip": "bench.round_trip",
    "throughput": "bench.throughput",
    "concurrency": "bench.concurrency",
    "memory": "bench.memory",
    "soak": "bench.soak",
}
DEFAULT = [name for name in BENCHMARKS if name != "soak"]
"""`python -m bench` alone: everything but the 10-minute soak, which runs when named."""


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({model}), Linux {platform.release()}, "
        f"Python {platform.python_version()} ({sys.executable})"
    )


def render(sections: list[Section], failures: list[str], started: float, wall: float, names: list[str]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started))
    lines = [
        "## evi-toolhost benchmarks",
        "",
        f"Run {when}: `{' '.join(['python -m bench', *names])}`, {wall:.0f} s wall.  ",
        f"Machine: {machine()}.",
        "",
    ]
    for section in sections:
        lines += [section.markdown(), ""]
    if failures:
        lines += ["### Not completed", ""] + [f"- {failure}" for failure in failures] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "benchmarks", nargs="*", metavar="BENCHMARK", help=f"any of {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument(
        "--no-profile", action="store_true", help="skip profiling the web and worker under load (py-spy, if installed)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results/latest.md alone")
    args = parser.parse_args(argv)
    unknown = [name for name in args.benchmarks if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.benchmarks or DEFAULT
    started, clock = time.time(), time.monotonic()
    sections: list[Section] = []
    failures: list[str] = []
    with terminate_as_interrupt(), Deployment(profile=not args.no_profile and py_spy() is not None) as deployment:
        try:
            for name in names:
                log(f"--- {name} ---")
                module = importlib.import_module(BENCHMARKS[name])
                began = time.monotonic()
                try:
                    sections.append(module.run(deployment))
                except BenchError as exc:
                    failures.append(f"{name}: {exc}")
                    log(f"{name} could not complete: {exc}")
                except Exception:
                    failures.append(f"{name}: crashed: {traceback.format_exc(limit=3).strip().splitlines()[-1]}")
                    log(f"{name} crashed:\n{traceback.format_exc()}")
                log(f"{name} took {time.monotonic() - began:.0f} s")
        except KeyboardInterrupt:
            log("interrupted: stopping every process")
            return 130
        log("stopping every process")
    wall = time.monotonic() - clock
    report = render(sections, failures, started, wall, args.benchmarks)
    print(report)
    if not args.no_write:
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / "latest.md").write_text(report)
        data = {section.title: section.data for section in sections}
        (RESULTS_DIR / "latest.json").write_text(json.dumps(data, indent=1, default=str))
        log(f"wrote {RESULTS_DIR / 'latest.md'} ({wall:.0f} s in all)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
