"""Hume's webhook signature, recomputed independently from evi-facts.md."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from service.evi.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, SignatureFailure, sign, verify

BODY = b'{"event_name":"tool_call","chat_id":"c"}'
KEY = "made-up-signing-key"
NOW = 1_764_000_000


def test_sign_is_hmac_sha256_of_body_dot_timestamp_in_lowercase_hex() -> None:
    headers = sign(BODY, KEY, timestamp=NOW)
    expected = hmac.new(KEY.encode(), BODY + b"." + str(NOW).encode(), hashlib.sha256).hexdigest()
    assert headers == {SIGNATURE_HEADER: expected, TIMESTAMP_HEADER: str(NOW)}
    assert expected == expected.lower()


def test_verify_accepts_any_configured_key() -> None:
    headers = sign(BODY, KEY, timestamp=NOW)
    verify(BODY, headers, ["another-made-up-key", KEY], now=NOW)


def test_verify_accepts_an_uppercase_hex_signature() -> None:
    headers = sign(BODY, KEY, timestamp=NOW)
    headers[SIGNATURE_HEADER] = headers[SIGNATURE_HEADER].upper()
    verify(BODY, headers, [KEY], now=NOW)


@pytest.mark.parametrize(
    ("offset", "failure"),
    [(181, SignatureFailure.STALE_TIMESTAMP), (-181, SignatureFailure.FUTURE_TIMESTAMP)],
)
def test_verify_rejects_timestamps_outside_the_window(offset: int, failure: SignatureFailure) -> None:
    headers = sign(BODY, KEY, timestamp=NOW)
    with pytest.raises(SignatureError) as caught:
        verify(BODY, headers, [KEY], now=NOW + offset)
    assert caught.value.failure is failure
    verify(BODY, headers, [KEY], now=NOW + offset - (1 if offset > 0 else -1))


def test_verify_rejects_a_non_numeric_timestamp() -> None:
    headers = sign(BODY, KEY, timestamp=NOW)
    headers[TIMESTAMP_HEADER] = "yesterday"
    with pytest.raises(SignatureError) as caught:
        verify(BODY, headers, [KEY], now=NOW)
    assert caught.value.failure is SignatureFailure.BAD_TIMESTAMP


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    headers = sign(BODY, KEY, timestamp=NOW)
    headers[TIMESTAMP_HEADER] = str(NOW + 1)
    with pytest.raises(SignatureError) as caught:
        verify(BODY, headers, [KEY], now=NOW)
    assert caught.value.failure is SignatureFailure.MISMATCH


def test_verify_without_keys_fails_closed() -> None:
    with pytest.raises(SignatureError) as caught:
        verify(BODY, sign(BODY, KEY, timestamp=NOW), ["", ""], now=NOW)
    assert caught.value.failure is SignatureFailure.NO_KEYS


def test_failure_messages_never_contain_the_key() -> None:
    for failure in SignatureFailure:
        assert KEY not in failure.value
