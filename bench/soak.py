"""Soak: 10 minutes of 100 calls/s against web, the default worker pool and the relay, with a mix of tools that
answer at once, take a second, fail, and time out; half the chats hold a live socket, half are answered by HTTP.

Every call acknowledged with a 202 must get exactly one answer (0 lost, 0 double), and the resident memory of
every process must stay flat: within 10 % between the first minute and the last. `SOAK_SECONDS` shortens it
(for trying the benchmark out); the table says how long it ran.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from bench import driver
from bench.deployment import Deployment
from bench.harness import Goal, Section, fmt, log
from bench.memory import PROCESS_RSS_GOAL_MB
from bench.processes import descendants, rss_kb
from service.queue import contract
from service.redis_client import text

RATE = 100
SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
BATCH_SECONDS = 30
MIX = {"noop": 70, "soak_slow": 10, "soak_failing": 10, "soak_timeout": 10}
EXPECTED = {
    "noop": "tool_response",
    "soak_slow": "tool_response",
    "soak_failing": "tool_error:tool_failed",
    "soak_timeout": "tool_error:timeout",
}
FLAT_WITHIN = 0.10
UNEXPECTED_SHOWN = 5
FACTS = ("status", "answered_by", "note", "answer_error", "worker", "transport")
TIMES = ("queued_ms", "job_started_ms", "started_ms", "finished_ms", "deadline_ms", "answered_ms")


def explain(tool: str, kind: str, record: dict[str, str]) -> str:
    """One unexpected answer, with what its call record says happened (times in ms after EVI triggered it)."""
    base = int(record["received_ms"]) if record.get("received_ms", "").isdigit() else 0
    times = ", ".join(
        f"{name.removesuffix('_ms')} +{int(record[name]) - base}" for name in TIMES if record.get(name, "").isdigit()
    )
    facts = ", ".join(f"{name} {record[name]}" for name in FACTS if record.get(name))
    return f"{tool} answered {kind}: {facts or 'no record'}; {times or 'no times'}"


@dataclass
class Memory:
    """RSS (MB) of each process, sampled once per batch."""

    samples: dict[str, list[float]] = field(default_factory=dict)

    def sample(self, deployment: Deployment) -> None:
        for name, proc in (("web", deployment.web), ("worker", deployment.worker), ("relay", deployment.relay)):
            if proc is None or not proc.running():
                continue
            for index, pid in enumerate([proc.pid, *descendants(proc.pid)]):
                label = name if index == 0 else f"{name} child {index}"
                self.samples.setdefault(label, []).append(rss_kb(pid) / 1024)

    def warm(self, label: str) -> float:
        """The sample at the end of the first minute."""
        values = self.samples[label]
        return values[min(len(values) - 1, max(1, 60 // BATCH_SECONDS) - 1)]

    def growth(self, label: str) -> float:
        """From the end of the first minute to the last sample."""
        warm = self.warm(label)
        return (self.samples[label][-1] - warm) / warm if warm else 0.0


def run(deployment: Deployment) -> Section:
    sim = deployment.simulator()
    web = deployment.start_web()
    deployment.start_relay()
    deployment.start_worker()
    webhook = f"{web}/hume-webhook"
    rng = random.Random(1)
    memory = Memory()
    chats: list[tuple[str, list[driver.Call]]] = []
    tool_of: dict[str, str] = {}
    started = time.monotonic()
    batches = max(1, SECONDS // BATCH_SECONDS)
    log(f"soak: {batches} batches of {BATCH_SECONDS} s at {RATE} calls/s")
    for number in range(batches):
        socket_chat = number % 2 == 0
        chat_id = driver.start_chat(sim, allow_connection=socket_chat)
        if socket_chat:
            driver.post_chat_started(webhook, chat_id)
        calls: list[driver.Call] = []
        for second in range(BATCH_SECONDS):
            # Built each second, so every call's timestamp is when it is sent (its deadline counts from it).
            tools = rng.choices(list(MIX), weights=list(MIX.values()), k=RATE)
            batch = [
                driver.make_calls(chat_id, tool, 1, f"soak{number}_{second}_{i}")[0] for i, tool in enumerate(tools)
            ]
            tool_of.update((call.tool_call_id, tool) for call, tool in zip(batch, tools, strict=True))
            driver.send_at_rate(webhook, batch, RATE)
            calls += batch
        chats.append((chat_id, calls))
        memory.sample(deployment)
        for proc in (deployment.web, deployment.worker, deployment.relay):
            if proc is not None:
                proc.check_alive()
    elapsed = time.monotonic() - started
    log("soak: waiting for the last answers")
    time.sleep(5)  # the slowest tool answers 3 s after its call; then a quiet period for late duplicates
    acknowledged = lost = doubled = unexpected = refused = 0
    unexpected_shown: list[str] = []
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for chat_id, calls in chats:
        answers: dict[str, list[dict[str, object]]] = {}
        for item in driver.received(sim, chat_id):
            message = item["message"]
            if message.get("type") in ("tool_response", "tool_error"):
                answers.setdefault(str(message.get("tool_call_id")), []).append(message)
        for call in calls:
            statuses[str(call.status or call.error)] += 1
            if call.status != 202:
                refused += 1
                continue
            acknowledged += 1
            got = answers.get(call.tool_call_id, [])
            lost += not got
            doubled += len(got) > 1
            if got:
                kind = str(got[0]["type"]) + (f":{got[0]['code']}" if got[0].get("code") else "")
                kinds[kind] += 1
                tool = tool_of[call.tool_call_id]
                if kind != EXPECTED[tool]:
                    unexpected += 1
                    if len(unexpected_shown) < UNEXPECTED_SHOWN:
                        raw = deployment.redis.hgetall(contract.call_record(call.tool_call_id))
                        record = {str(text(name)): str(text(value)) for name, value in raw.items()}
                        unexpected_shown.append(explain(tool, kind, record))
    rows, flat = [], True
    for label, values in memory.samples.items():
        growth = memory.growth(label)
        flat &= abs(growth) <= FLAT_WITHIN
        rows.append(
            [
                label,
                fmt(memory.warm(label)),
                fmt(values[-1]),
                fmt(max(values)),
                f"{growth * 100:+.1f} %",
                "yes" if abs(growth) <= FLAT_WITHIN else "NO",
            ]
        )
    notes = [
        f"**{acknowledged} calls acknowledged in {elapsed:.0f} s ({acknowledged / elapsed:.0f}/s): {lost} lost, "
        f"{doubled} double, {unexpected} answered other than their tool answers**; {refused} not acknowledged "
        f"(intake answers: {', '.join(f'{status} {count}' for status, count in sorted(statuses.items()))}).",
        "Answers: "
        + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        + " (mix: "
        + ", ".join(f"{tool} {weight} %" for tool, weight in MIX.items())
        + ").",
        f"Memory {'flat' if flat else 'NOT flat'} within {FLAT_WITHIN:.0%}: RSS of each process from the end of the "
        "first minute (warm) to the end; worker children are the pool's worker processes.",
        f"Chats alternate every {BATCH_SECONDS} s between one whose socket the relay holds and one answered by HTTP.",
    ]
    if unexpected_shown:
        notes.append(
            f"Answered other than their tool answers (the first {len(unexpected_shown)}, from their call records; "
            "ms after EVI triggered the call): " + "; ".join(unexpected_shown) + "."
        )
    largest = max((max(values) for values in memory.samples.values()), default=0.0)
    goals = [
        Goal("acknowledged calls lost", str(lost), "0", lost == 0),
        Goal("acknowledged calls answered twice", str(doubled), "0", doubled == 0),
        Goal(
            "RSS growth of any process, minute 1 to end",
            "flat" if flat else "NOT flat",
            f"within {FLAT_WITHIN:.0%}",
            flat,
        ),
        Goal(
            "largest single process, RSS",
            f"{largest:.1f} MB",
            f"<= {PROCESS_RSS_GOAL_MB} MB",
            largest <= PROCESS_RSS_GOAL_MB,
        ),
    ]
    return Section(
        f"Soak: {elapsed / 60:.1f} minutes at {RATE} calls/s, mixed tools",
        ["process", "RSS at 1 min MB", "RSS at end MB", "max MB", "growth", "flat"],
        rows,
        notes,
        goals,
        data={"acknowledged": acknowledged, "lost": lost, "double": doubled, "memory": memory.samples, "kinds": kinds},
    )
