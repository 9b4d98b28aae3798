"""Versioned records, kept the way Hume keeps prompts, tools and configs: versions count from 0, a change is a new
version; a name belongs to one record; deleting a record's last version deletes the record."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, replace
from typing import Any

from evi_toolhost.simulator.errors import ApiError
from service.evi.timestamps import now_ms


@dataclass(frozen=True)
class Version:
    """One version of a prompt, tool or config; `fields` is what was posted (as the kind's API keeps it)."""

    id: str
    version: int
    name: str
    created_on: int
    modified_on: int
    fields: dict[str, Any]


class Catalog:
    """Prompts, tools or configs (`kind` names them in error messages); thread-safe."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._versions: dict[str, list[Version]] = {}
        self._next_version: dict[str, int] = {}
        """A deleted version's number is never given again."""
        self._lock = threading.RLock()

    def create(self, name: str, fields: dict[str, Any]) -> Version:
        with self._lock:
            self.check_name_free(name)
            now = now_ms()
            first = Version(str(uuid.uuid4()), 0, name, now, now, fields)
            self._versions[first.id] = [first]
            self._next_version[first.id] = 1
            return first

    def add_version(self, record_id: str, fields: dict[str, Any]) -> Version:
        with self._lock:
            versions = self._get(record_id)
            number = self._next_version[record_id]
            added = Version(record_id, number, versions[0].name, versions[0].created_on, now_ms(), fields)
            versions.append(added)
            self._next_version[record_id] = number + 1
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

    def named(self, name: str) -> Version | None:
        """The latest version of the record called `name`, if there is one."""
        with self._lock:
            found = [versions[-1] for versions in self._versions.values() if versions[0].name == name]
        return found[0] if found else None

    def rename(self, record_id: str, name: str) -> None:
        """Every version of the record takes the new name."""
        with self._lock:
            versions = self._get(record_id)
            if versions[0].name != name:
                self.check_name_free(name)
            now = now_ms()
            versions[:] = [replace(version, name=name, modified_on=now) for version in versions]

    def describe_version(self, record_id: str, version: int, description: str | None) -> Version:
        """Set one version's `version_description`; the version, as it now is."""
        with self._lock:
            versions = self._get(record_id)
            index = self._index(record_id, versions, version)
            fields = {**versions[index].fields, "version_description": description}
            versions[index] = replace(versions[index], fields=fields, modified_on=now_ms())
            return versions[index]

    def delete(self, record_id: str) -> None:
        with self._lock:
            self._get(record_id)
            del self._versions[record_id]

    def delete_version(self, record_id: str, version: int) -> None:
        """Remove one version; removing the only one left removes the record."""
        with self._lock:
            versions = self._get(record_id)
            del versions[self._index(record_id, versions, version)]
            if not versions:
                del self._versions[record_id]

    def check_name_free(self, name: str) -> None:
        """ApiError 409 if a record already has this name."""
        with self._lock:
            taken = any(versions[0].name == name for versions in self._versions.values())
        if taken:
            raise ApiError(409, f"a {self.kind} named {name!r} already exists; post a new version to its id")

    def _index(self, record_id: str, versions: list[Version], version: int) -> int:
        for index, candidate in enumerate(versions):
            if candidate.version == version:
                return index
        raise ApiError(404, f"{self.kind} {record_id} has no version {version}")

    def _get(self, record_id: str) -> list[Version]:
        versions = self._versions.get(record_id)
        if versions is None:
            raise ApiError(404, f"{self.kind} {record_id} not found")
        return versions
