"""`POST /hume-webhook`: size limit → verify signature → JSON → schema → claim and enqueue → 202."""

from __future__ import annotations

import json
import logging

from pydantic import ValidationError
from redis import Redis
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.evi.signing import SignatureError, verify
from service.evi.webhooks import KNOWN_EVENT_NAMES, webhook_event_adapter
from service.queue.enqueue import enqueue
from service.responses import error_response
from service.settings import Settings

log = logging.getLogger("evi_toolhost.webhooks")


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
    redis: Redis = request.app.state.redis
    try:
        body = await read_body(request, settings.webhook_max_body_bytes)
    except BodyTooLarge:
        return error_response(
            413, "body_too_large", f"the body is larger than {settings.webhook_max_body_bytes} bytes"
        )
    try:
        verify(body, request.headers, settings.webhook_keys, settings.webhook_tolerance_seconds)
    except SignatureError as exc:
        log.warning("webhook rejected: %s", exc.failure.value)
        return error_response(401, "invalid_signature", exc.failure.value)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return error_response(400, "malformed_json", f"the body is not valid JSON: {exc}")
    if not isinstance(payload, dict):
        return error_response(422, "invalid_payload", "the body must be a JSON object")
    event_name = payload.get("event_name")
    if event_name is None:
        return invalid_payload([{"field": "event_name", "problem": "Field required"}])
    if event_name not in KNOWN_EVENT_NAMES:
        log.info("webhook ignored: unknown event_name %r", event_name)
        return JSONResponse({"status": "ignored"}, status_code=202)
    try:
        event = webhook_event_adapter.validate_python(payload)
    except ValidationError as exc:
        return invalid_payload(describe_validation_error(exc, str(event_name)))
    try:
        outcome = await run_in_threadpool(enqueue, redis, event, settings.claim_ttl_seconds)
    except RedisError as exc:
        log.error("webhook not queued, Redis unavailable: %s", type(exc).__name__)
        return error_response(
            503,
            "unavailable",
            "the queue is unavailable; retry later",
            headers={"Retry-After": str(settings.retry_after_seconds)},
        )
    if outcome.status == "duplicate":
        return JSONResponse({"status": "duplicate", "job_id": outcome.job_id}, status_code=200)
    log.info("webhook queued: %s as job %s", event.event_name, outcome.job_id)
    return JSONResponse({"status": "queued", "job_id": outcome.job_id}, status_code=202)
