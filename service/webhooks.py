"""`POST /hume-webhook`: size limit → verify signature → JSON → shape → schema → claim and enqueue → 202.

Every refusal is a 4xx naming the problem, so no input can make a 500 (which would also close the
connection): a body that is not UTF-8 JSON, nests deeper than any event, names its event with something other
than a string, or holds a string Redis cannot store (a lone UTF-16 surrogate) is refused before it reaches
the schema. The intake is async end to end: the claim and the job go out in one Redis round trip from the
event loop (`service.queue.enqueue`).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from pydantic import ValidationError
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.evi.signing import SignatureError, verify
from service.evi.webhooks import KNOWN_EVENT_NAMES, webhook_event_adapter
from service.metrics import note_event
from service.queue.enqueue import Enqueuer
from service.responses import error_response
from service.settings import Settings

log = logging.getLogger("evi_toolhost.webhooks")

MAX_NESTING = 32
"""Deeper than any EVI event nests (the deepest, a tool call, is 3 levels), and far from Python's own limit."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def nests_too_deep(text: str, payload: Any) -> bool:
    """Whether `payload` (parsed from `text`) nests deeper than MAX_NESTING; text with fewer brackets than that
    cannot, and is not walked."""
    if text.count("{") + text.count("[") <= MAX_NESTING:
        return False
    return nesting(payload) > MAX_NESTING


def nesting(value: Any) -> int:
    """How deep objects and arrays nest in a parsed JSON value (a scalar is 0)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > MAX_NESTING:
                return depth
            pending.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def storable(text: str, payload: Any) -> bool:
    """False when a string holds a lone surrogate: valid JSON, but no UTF-8 for Redis (or Hume) to carry."""
    if not _SURROGATE_ESCAPE.search(text):
        return True
    try:
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def describe_validation_error(exc: ValidationError, event_name: str) -> list[dict[str, str]]:
    """Each failing field as a dotted path inside the event (the union's tag left out)."""
    fields = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = list(error["loc"])
        if loc and loc[0] == event_name:
            loc = loc[1:]
        fields.append({"field": ".".join(str(part) for part in loc) or "(body)", "problem": error["msg"]})
    return fields


def invalid_payload(fields: list[dict[str, str]]) -> Response:
    names = ", ".join(f"{f['field']} ({f['problem']})" for f in fields)
    return error_response(422, "invalid_payload", f"the event does not match the schema: {names}", fields=fields)


async def hume_webhook(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    enqueuer: Enqueuer = request.app.state.enqueuer
    try:
        body = await read_body(request, settings.webhook_max_body_bytes)
    except BodyTooLarge:
        return error_response(413, "body_too_large", f"the body is larger than {settings.webhook_max_body_bytes} bytes")
    try:
        verify(body, request.headers, settings.webhook_keys, settings.webhook_tolerance_seconds)
    except SignatureError as exc:
        log.warning("webhook rejected: %s", exc.failure.value)
        return error_response(401, "invalid_signature", exc.failure.value)
    try:
        text = body.decode("utf-8")
        payload = json.loads(text)
    except UnicodeDecodeError:
        return error_response(400, "malformed_json", "the body is not UTF-8")
    except RecursionError:
        return error_response(400, "malformed_json", f"the body nests deeper than any event ({MAX_NESTING} levels)")
    except ValueError as exc:
        return error_response(400, "malformed_json", f"the body is not valid JSON: {exc}")
    if not isinstance(payload, dict):
        return error_response(422, "invalid_payload", "the body must be a JSON object")
    if nests_too_deep(text, payload):
        return error_response(422, "invalid_payload", f"the body nests deeper than any event ({MAX_NESTING} levels)")
    event_name = payload.get("event_name")
    if event_name is None:
        return invalid_payload([{"field": "event_name", "problem": "Field required"}])
    if not isinstance(event_name, str):
        return invalid_payload([{"field": "event_name", "problem": "Input should be a valid string"}])
    if event_name not in KNOWN_EVENT_NAMES:
        log.info("webhook ignored: unknown event_name %r", event_name[:100])
        return JSONResponse({"status": "ignored"}, status_code=202)
    note_event(request, event_name)
    if not storable(text, payload):
        return error_response(422, "invalid_payload", "a string in the event holds a lone UTF-16 surrogate (\\ud800)")
    try:
        event = webhook_event_adapter.validate_python(payload)
    except ValidationError as exc:
        return invalid_payload(describe_validation_error(exc, event_name))
    try:
        outcome = await enqueuer.enqueue(event, body)  # bounded: TimeoutError after REQUEST_TIMEOUT_SECONDS
    except (RedisError, TimeoutError) as exc:
        log.error("webhook not queued, Redis unavailable: %s", type(exc).__name__)
        return error_response(
            503,
            "unavailable",
            "the queue is unavailable; retry later",
            headers={"Retry-After": str(settings.retry_after_seconds)},
        )
    log.debug("webhook %s: %s as job %s", outcome.status, event.event_name, outcome.job_id)
    # Job ids are [A-Za-z0-9_-] (`contract.job_id`): the answer needs no JSON encoder.
    answer = f'{{"status":"{outcome.status}","job_id":"{outcome.job_id}"}}'.encode()
    return Response(answer, status_code=200 if outcome.status == "duplicate" else 202, media_type="application/json")
