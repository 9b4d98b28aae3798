"""The metrics of the processes that answer tool calls (worker and relay): each finished call by tool, outcome and
transport, counted once by whoever answered it (a worker, or a deadline watchdog in a worker or a relay), the
time each segment of it took, calls in flight, the runtime loop's lag and the HTTP send's retries.

A worker pool's processes record into the directory their parent shares (`service.observability.prometheus`),
so its one endpoint sums them; `evi_tool_calls_in_flight` counts live processes only, and
`evi_event_loop_lag_seconds` has one series per live process (`pid`). Labels are bounded: a tool that is not
registered is "unknown", and past `MAX_TOOL_LABELS` names a process calls any new one "other".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from prometheus_client import Counter, Gauge, Histogram

from service.observability.prometheus import BUCKETS

TOOL_CALLS = Counter(
    "evi_tool_calls",
    "Finished tool calls, by tool, outcome (answered, tool_error, timeout, undeliverable, chat_ended), code and "
    "transport.",
    ["tool", "outcome", "code", "transport"],
)
CALL_SECONDS = Histogram(
    "evi_tool_call_seconds", "Webhook received to answer accepted by the control plane.", ["tool"], buckets=BUCKETS
)
QUEUE_WAIT_SECONDS = Histogram(
    "evi_tool_queue_wait_seconds", "Call queued to its job started.", ["tool"], buckets=BUCKETS
)
HANDLER_SECONDS = Histogram("evi_tool_handler_seconds", "The handler's run time.", ["tool"], buckets=BUCKETS)
DELIVERY_SECONDS = Histogram(
    "evi_tool_delivery_seconds", "Handler done to answer accepted by the control plane.", ["tool"], buckets=BUCKETS
)
IN_FLIGHT = Gauge("evi_tool_calls_in_flight", "Calls whose handler runs now.", multiprocess_mode="livesum")
LOOP_LAG = Gauge(
    "evi_event_loop_lag_seconds",
    "How late the process's runtime event loop ran a timer, at worst over the last few seconds.",
    multiprocess_mode="liveall",
)
DELIVERY_RETRIES = Counter(
    "evi_delivery_retries", "HTTP send attempts retried, by reason (status class like 5xx, 429, 408; or network).",
    ["reason"],
)
WATCHDOG_ANSWERS = Counter(
    "evi_watchdog_answers",
    "Timeout answers sent by the deadline watchdog, by why (its job started, or never started).",
    ["reason"],
)

OUTCOMES = {
    "answered": "answered",
    "failed": "tool_error",
    "cancelled": "tool_error",
    "timeout": "timeout",
    "undeliverable": "undeliverable",
    "chat_ended": "chat_ended",
}
"""A call record's final status → the outcome label: `cancelled` (an interruption) went out as a `tool_error` with
code `cancelled`; a call whose chat ended while it ran is counted `chat_ended`, with nothing sent."""
MAX_TOOL_LABELS = 200
UNKNOWN_TOOL = "unknown"
_tools: set[str] = set()

Record = Mapping[str, str | int | float | None]


def tool_label(name: str, error_code: object = None) -> str:
    """The `tool` label of a call: its name, bounded."""
    if error_code == "unknown_tool":
        return UNKNOWN_TOOL
    if name in _tools:
        return name
    if len(_tools) >= MAX_TOOL_LABELS:
        return "other"
    _tools.add(name)
    return name


def outcome_labels(status: str, error_code: object, transport: object) -> tuple[str, str, str]:
    """(outcome, code, transport) of a call finished with this record status: the code of a tool_error or
    timeout, else ""; "none" when no transport took the answer."""
    outcome = OUTCOMES.get(status, status)
    code = str(error_code) if outcome in ("tool_error", "timeout") and error_code else ""
    return outcome, code, str(transport) if transport else "none"


def _seconds(later: str | float | None, earlier: str | float | None) -> float | None:
    """Seconds between two epoch-ms times of a record (None if either is missing)."""
    if later is None or earlier is None:
        return None
    return max(0.0, (int(later) - int(earlier)) / 1000)


class _ToolSeries(NamedTuple):
    call: Histogram
    queue_wait: Histogram
    handler: Histogram
    delivery: Histogram


_series: dict[str, _ToolSeries] = {}
_counted: dict[tuple[str, str, str, str], Counter] = {}


def _histograms(tool: str) -> _ToolSeries:
    """A tool's histogram children, made once: `labels()` takes a lock and checks its arguments every time."""
    series = _series.get(tool)
    if series is None:
        metrics = (CALL_SECONDS, QUEUE_WAIT_SECONDS, HANDLER_SECONDS, DELIVERY_SECONDS)
        series = _series[tool] = _ToolSeries(*(metric.labels(tool) for metric in metrics))
    return series


def _count(tool: str, outcome: tuple[str, str, str]) -> None:
    key = (tool, *outcome)
    counter = _counted.get(key)
    if counter is None:
        counter = _counted[key] = TOOL_CALLS.labels(*key)
    counter.inc()


def call_finished(record: Record) -> None:
    """Count a call a worker answered (or failed to deliver), with its segments' times, from its record: epoch ms
    `queued_ms` (the intake queued it), `started_ms`, `finished_ms` (its handler), `answered_ms`."""
    error_code = record.get("error_code")
    tool = tool_label(str(record.get("name") or ""), error_code)
    _count(tool, outcome_labels(str(record.get("status")), error_code, record.get("transport")))
    series = _histograms(tool)
    queued, started = record.get("queued_ms"), record.get("started_ms")
    finished, answered = record.get("finished_ms"), record.get("answered_ms")
    if (waited := _seconds(started, queued)) is not None:
        series.queue_wait.observe(waited)
    if record.get("ran") and (ran := _seconds(finished, started)) is not None:
        series.handler.observe(ran)
    if (delivered := _seconds(answered, finished)) is not None:
        series.delivery.observe(delivered)
    if (total := _seconds(answered, queued)) is not None:
        series.call.observe(total)


def watchdog_answered(record: Record, fields: Record) -> None:
    """Count a call the watchdog answered `timeout` (or could not deliver), from the call's record as the intake
    wrote it (`received_ms`: EVI's timestamp of the call) and what the watchdog adds to it."""
    tool = tool_label(str(record.get("name") or ""))
    status = str(fields.get("status"))
    _count(tool, outcome_labels(status, fields.get("error_code"), fields.get("transport")))
    if status == "timeout":
        WATCHDOG_ANSWERS.labels(str(fields.get("note"))).inc()
    if (total := _seconds(fields.get("answered_ms"), record.get("received_ms"))) is not None:
        CALL_SECONDS.labels(tool).observe(total)


def retry_reason(status: int | None) -> str:
    if status is None:
        return "network"
    if status >= 500:
        return "5xx"
    return str(status)


def delivery_retried(status: int | None) -> None:
    """An HTTP send attempt answered `status` (None: a network error) is to be tried again."""
    DELIVERY_RETRIES.labels(retry_reason(status)).inc()
