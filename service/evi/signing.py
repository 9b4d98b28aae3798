"""Hume's webhook signature: HMAC-SHA256 over `body + b"." + timestamp`, as lowercase hex.

Verification works on the raw body bytes, before any parsing, and accepts several keys so a
signing key can be rotated (or the API key used, as Hume still allows).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from enum import StrEnum

SIGNATURE_HEADER = "X-Hume-AI-Webhook-Signature"
TIMESTAMP_HEADER = "X-Hume-AI-Webhook-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 180


class SignatureFailure(StrEnum):
    """Which check failed; safe to tell the caller (it never contains a key)."""

    MISSING_SIGNATURE = "missing X-Hume-AI-Webhook-Signature header"
    MISSING_TIMESTAMP = "missing X-Hume-AI-Webhook-Timestamp header"
    BAD_TIMESTAMP = "X-Hume-AI-Webhook-Timestamp is not an integer number of seconds"
    STALE_TIMESTAMP = "X-Hume-AI-Webhook-Timestamp is too old"
    FUTURE_TIMESTAMP = "X-Hume-AI-Webhook-Timestamp is in the future"
    MISMATCH = "signature does not match the body"
    NO_KEYS = "no signing key is configured"


class SignatureError(Exception):
    def __init__(self, failure: SignatureFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


def compute_signature(body: bytes, timestamp: str, key: str) -> str:
    message = body + b"." + timestamp.encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def sign(body: bytes, key: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Hume sends with a webhook whose raw body is `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {SIGNATURE_HEADER: compute_signature(body, ts, key), TIMESTAMP_HEADER: ts}


def verify(
    body: bytes,
    headers: Mapping[str, str],
    keys: Iterable[str],
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless `body` was signed by one of `keys` within the time window.

    `headers` must be case-insensitive for the header names (Starlette's and httpx's are).
    """
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise SignatureError(SignatureFailure.MISSING_SIGNATURE)
    timestamp = headers.get(TIMESTAMP_HEADER)
    if not timestamp:
        raise SignatureError(SignatureFailure.MISSING_TIMESTAMP)
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError(SignatureFailure.BAD_TIMESTAMP) from None
    age = (time.time() if now is None else now) - sent_at
    if age > tolerance_seconds:
        raise SignatureError(SignatureFailure.STALE_TIMESTAMP)
    if age < -tolerance_seconds:
        raise SignatureError(SignatureFailure.FUTURE_TIMESTAMP)
    candidates = [key for key in keys if key]
    if not candidates:
        raise SignatureError(SignatureFailure.NO_KEYS)
    presented = signature.strip().lower().encode()
    matched = False
    for key in candidates:
        expected = compute_signature(body, timestamp, key).encode()
        matched |= hmac.compare_digest(expected, presented)
    if not matched:
        raise SignatureError(SignatureFailure.MISMATCH)
