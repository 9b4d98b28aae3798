"""The alert rules and the Grafana dashboard in `deploy/` ask only for metrics the processes export, with labels
they have; the rules and every dashboard query pass `promtool check rules` (where promtool is installed); the
names follow Prometheus' conventions whether or not promtool is there."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

import service.metrics
import workers.metrics
import workers.relay.metrics
from service.metrics import QueueState
from workers.relay.metrics import RelaySockets

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus-rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana-dashboard.json"
PROMTOOL = shutil.which("promtool")
ADDED_BY_PROMETHEUS = {"instance", "job", "le", "pid"}
"""Labels a query may name that are not the metric's own: the target's, the bucket bound, the pool's process."""
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported() -> dict[str, tuple[str, set[str]]]:
    """Every sample name the web, worker and relay processes export: its type and label names."""
    found: dict[str, tuple[str, set[str]]] = {}
    modules: list[ModuleType] = [service.metrics, workers.metrics, workers.relay.metrics]
    for metric in (v for m in modules for v in vars(m).values() if isinstance(v, MetricWrapperBase)):
        kind, labels = metric._type, set(metric._labelnames)
        for suffix in SUFFIXES[kind]:
            found[metric._name + suffix] = (kind, labels | ({"le"} if suffix == "_bucket" else set()))
    scraped = [*QueueState({"evi-tools": 0}, 0).collect(), *RelaySockets(SimpleNamespace(sockets={})).collect()]
    for family in scraped:
        found[family.name] = (family.type, {label for sample in family.samples for label in sample.labels})
    return found


def rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def selectors(expression: str) -> list[tuple[str, set[str]]]:
    """Each metric an expression selects, with the label names its matchers and its `by (...)` name."""
    found = []
    for match in re.finditer(r"\b(evi_[a-z0-9_]+)\b(\{[^}]*\})?", expression):
        labels = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", match.group(2) or ""))
        found.append((match.group(1), labels))
    grouped = {name.strip() for group in re.findall(r"\bby \(([^)]*)\)", expression) for name in group.split(",")}
    return [(name, labels | grouped) for name, labels in found]


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_metric_and_label_asked_for_is_exported(source: str) -> None:
    expressions = rule_expressions() if source == "rules" else dashboard_expressions()
    assert expressions
    table = exported()
    for expression in expressions:
        chosen = selectors(expression)
        assert chosen, expression
        for name, _ in chosen:
            assert name in table, f"{name} is not exported: {expression}"
        available = set().union(*(table[name][1] for name, _ in chosen)) | ADDED_BY_PROMETHEUS
        for name, labels in chosen:
            assert labels <= available, f"{name} has no label {labels - available}: {expression}"


def test_the_alerts_cover_what_an_operator_must_hear_about() -> None:
    names = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    assert {
        "EviToolAnswersSlow",
        "EviToolErrorRate",
        "EviToolTimeouts",
        "EviAnswersUndeliverable",
        "EviToolQueueBackingUp",
        "EviNoLiveWorker",
        "EviRelaySocketsFailing",
    } <= names


def test_metric_names_follow_prometheus_conventions() -> None:
    """What `promtool check metrics` checks, and bounded labels, without promtool."""
    for name, (kind, labels) in exported().items():
        assert name.startswith("evi_") and re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        if kind == "counter":
            assert name.endswith("_total"), name
        elif kind == "gauge":
            assert not name.endswith(("_total", "_count", "_sum", "_bucket")), name
        if kind == "histogram" or name.endswith(("_seconds", "_seconds_bucket", "_seconds_count", "_seconds_sum")):
            assert "_seconds" in name and "_milliseconds" not in name, name
        assert not [label for label in labels if label.endswith("_id") or label in ("chat", "call", "arguments")]


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)")
def test_promtool_accepts_the_rules() -> None:
    assert PROMTOOL is not None
    checked = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)")
def test_promtool_accepts_every_dashboard_query(tmp_path: Path) -> None:
    """Each query, with Grafana's interval filled in, as a recording rule: promtool parses it as Prometheus would."""
    assert PROMTOOL is not None
    rules: list[dict[str, Any]] = [
        {"record": f"dashboard:query_{i}", "expr": expression.replace("$__rate_interval", "5m")}
        for i, expression in enumerate(dashboard_expressions())
    ]
    as_rules = tmp_path / "dashboard-rules.yml"
    as_rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run([PROMTOOL, "check", "rules", str(as_rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_reads_one_prometheus_chosen_on_import() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    (variable,) = dashboard["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
