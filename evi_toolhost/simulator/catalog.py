"""Versioned records, kept the way Hume keeps tools and configs: versions count from 0, a change is a new version."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

from evi_toolhost.simulator.errors import ApiError
from service.evi.timestamps import now_ms


@dataclass(frozen=True)
class Version:
    """One version of a tool or config; `fields` is the posted body, as received."""

    id: str
    version: int
    name: str
    created_on: int
    modified_on: int
    fields: dict[str, Any]


class Catalog:
    """Tools or configs (`kind` names them in error messages); thread-safe."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._versions: dict[str, list[Version]] = {}
        self._lock = threading.Lock()

    def create(self, name: str, fields: dict[str, Any]) -> Version:
        with self._lock:
            if any(versions[0].name == name for versions in self._versions.values()):
                raise ApiError(409, f"a {self.kind} named {name!r} already exists; post a new version to its id")
            now = now_ms()
            first = Version(str(uuid.uuid4()), 0, name, now, now, fields)
            self._versions[first.id] = [first]
            return first

    def add_version(self, record_id: str, fields: dict[str, Any]) -> Version:
        with self._lock:
            versions = self._get(record_id)
            latest = versions[-1]
            added = Version(record_id, latest.version + 1, latest.name, versions[0].created_on, now_ms(), fields)
            versions.append(added)
            return added

    def versions(self, record_id: str) -> list[Version]:
        with self._lock:
            return list(self._get(record_id))

    def get(self, record_id: str, version: int | None = None) -> Version:
        """A given version, or the latest when `version` is None."""
        versions = self.versions(record_id)
        if version is None:
            return versions[-1]
        for candidate in versions:
            if candidate.version == version:
                return candidate
        raise ApiError(404, f"{self.kind} {record_id} has no version {version}")

    def find(self, record_id: str, version: int | None = None) -> Version | None:
        try:
            return self.get(record_id, version)
        except ApiError:
            return None

    def listing(self, *, name: str | None = None, most_recent: bool = True) -> list[Version]:
        """Every record (oldest first), its latest version only unless `most_recent` is False."""
        with self._lock:
            groups = [list(v) for v in self._versions.values() if name is None or v[0].name == name]
        if most_recent:
            return [versions[-1] for versions in groups]
        return [version for versions in groups for version in versions]

    def _get(self, record_id: str) -> list[Version]:
        versions = self._versions.get(record_id)
        if versions is None:
            raise ApiError(404, f"{self.kind} {record_id} not found")
        return versions
