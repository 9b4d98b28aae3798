"""Profiles of a process under load with py-spy (optional), summarised as shares of samples."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def start_profile(
    pid: int, seconds: float, out: Path, *, subprocesses: bool = False, gil: bool = False, idle: bool = False
) -> subprocess.Popen[bytes] | None:
    """`py-spy record --format raw` (collapsed stacks) of `pid` for `seconds`; None if py-spy is missing.

    `gil`: only samples of the thread holding the GIL (where the Python CPU goes); `idle`: also samples of
    waiting threads (where the wall-clock time goes).
    """
    binary = py_spy()
    if binary is None:
        return None
    args = [binary, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", "250"]
    args += ["--format", "raw", "--output", str(out), "--nonblocking", "--function"]
    args += ["--subprocesses"] if subprocesses else []
    args += ["--gil"] if gil else []
    args += ["--idle"] if idle else []
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stacks(path: Path, only: str | None) -> list[tuple[list[str], int]]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    stacks = []
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit() or (only is not None and only not in stack):
            continue
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if frames:
            stacks.append((frames, int(count_text)))
    return stacks


def profile_shares(
    path: Path, needles: Sequence[str], *, only: str | None = None, top: int = 8
) -> tuple[int, dict[str, float], list[tuple[str, float]]]:
    """From collapsed stacks (restricted to stacks containing `only`): the number of samples, the share of
    samples whose stack contains each needle (inclusive), and the frames with the most own samples."""
    stacks = _stacks(path, only)
    total = sum(count for _, count in stacks)
    if not total:
        return 0, {}, []
    hits = dict.fromkeys(needles, 0)
    own: dict[str, int] = {}
    for frames, count in stacks:
        joined = ";".join(frames)
        for needle in needles:
            if needle in joined:
                hits[needle] += count
        leaf = re.sub(r":\d+\)$", ")", frames[-1])
        own[leaf] = own.get(leaf, 0) + count
    busiest = sorted(own, key=own.__getitem__, reverse=True)[:top]
    return total, {n: hits[n] / total for n in needles}, [(frame, own[frame] / total) for frame in busiest]


def profile_notes(path: Path, what: str, needles: Mapping[str, str], *, only: str | None = None) -> list[str]:
    total, shares, top = profile_shares(path, list(needles), only=only)
    if not total:
        return [f"profile of the {what}: no samples (py-spy needs ptrace permission)"]
    parts = [f"{label} {shares[needle] * 100:.0f}%" for needle, label in needles.items()]
    return [
        f"Profile of the {what} ({total} samples, share of samples whose stack is in): " + "; ".join(parts) + ".",
        f"Frames of the {what} with the most own samples: "
        + "; ".join(f"`{frame}` {share * 100:.0f}%" for frame, share in top)
        + f". Raw collapsed stacks: `bench/results/{path.name}`.",
    ]
