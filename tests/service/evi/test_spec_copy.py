"""The vendored spec files are the ones their README names (checksums), and match an upstream copy when given."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from service.evi.spec_files import ASYNCAPI, OPENAPI, spec_path

UPSTREAM_VARIABLE = "EVI_SPEC_UPSTREAM_DIR"


def recorded_checksums() -> dict[str, str]:
    readme = spec_path("README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| (evi-[a-z]+\.yml) \| ([0-9a-f]{64}) \|$", readme, re.M))


@pytest.mark.parametrize("file_name", [OPENAPI, ASYNCAPI])
def test_each_vendored_file_has_the_checksum_its_readme_records(file_name: str) -> None:
    digest = hashlib.sha256(spec_path(file_name).read_bytes()).hexdigest()
    assert recorded_checksums()[file_name] == digest, f"{file_name} changed: update service/evi/spec/README.md"


@pytest.mark.parametrize("file_name", [OPENAPI, ASYNCAPI])
def test_the_vendored_file_equals_the_upstream_copy(file_name: str) -> None:
    """Opt-in: set EVI_SPEC_UPSTREAM_DIR to a folder holding Hume's current files (CI does, where it has one)."""
    upstream = os.environ.get(UPSTREAM_VARIABLE)
    if not upstream:
        pytest.skip(f"{UPSTREAM_VARIABLE} is not set: no upstream copy to compare with")
    theirs = Path(upstream) / file_name
    assert theirs.read_bytes() == spec_path(file_name).read_bytes(), f"{file_name} differs from {theirs}"
