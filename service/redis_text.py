"""Redis replies as text: redis-py types them `bytes | str` (it depends on `decode_responses`)."""

from __future__ import annotations


def text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
