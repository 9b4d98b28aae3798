"""Reading a process's `/metrics` as Prometheus would: samples by name and labels, summed over what is not asked."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


class Scrape:
    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: list[Sample] = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def names(self) -> set[str]:
        return {sample.name for sample in self.samples}

    def value(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples whose labels include `labels` (0 when there is none)."""
        return sum(s.value for s in self.samples if s.name == name and _has(s.labels, labels))

    def by(self, name: str, *keys: str, **labels: str) -> dict[tuple[str, ...], float]:
        """`name`'s samples matching `labels`, summed by the values of `keys` (as Prometheus' `sum by`)."""
        sums: dict[tuple[str, ...], float] = {}
        for sample in self.samples:
            if sample.name == name and _has(sample.labels, labels):
                key = tuple(sample.labels.get(k, "") for k in keys)
                sums[key] = sums.get(key, 0) + sample.value
        return sums


def _has(found: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(found.get(k) == v for k, v in wanted.items())


def scrape(url: str) -> Scrape:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


def add(*counts: Mapping[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    """Several processes' `by(...)` summed, as Prometheus sums one series over its targets."""
    total: dict[tuple[str, ...], float] = {}
    for each in counts:
        for key, value in each.items():
            total[key] = total.get(key, 0) + value
    return {key: value for key, value in total.items() if value}
