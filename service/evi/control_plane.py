"""The control plane: publish a message (`tool_response`, `assistant_input`, ...) into a live chat.

`ControlPlane` is the whole interface. Here: `HttpControlPlane`, `POST /v0/evi/chat/{chat_id}/send` over one
long-lived `httpx.AsyncClient` (keep-alive, so no new TLS handshake per answer), and `RecordingControlPlane`,
the test double. The worker tier adds the one it sends through (`workers.delivery.Delivery`), which picks the
chat's live socket (held by the relay) or this HTTP one per chat.

Retry policy of the HTTP implementation: 408, 425, 429, 5xx and network errors are retried with exponential
backoff and full jitter, honouring `Retry-After`, until the caller's deadline (not a number of attempts: a
control plane down for three seconds must not cost an answer that had eight left); any other 4xx means the
chat is gone or the message is wrong, is not retried, and raises `Undeliverable`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

import httpx

from service.evi.http_pool import OneRequestPerConnectionPool
from service.evi.http_streams import SocketKeepingBackend
from service.evi.messages import PublishMessage, dump_message

log = logging.getLogger("evi_toolhost.control_plane")

API_KEY_HEADER = "X-Hume-Api-Key"
RETRYABLE_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=20, keepalive_expiry=60.0)
"""Keep-alive as many as the pool holds: httpcore (1.0) closes an idle connection whenever the pool has more
connections in all than that limit, so a lower one closed and reopened the surplus in every burst."""
_BODY_EXCERPT = 300
SEND_URLS_KEPT = 1024
"""How many chats' send URLs a control-plane client keeps parsed."""


class Undeliverable(Exception):
    """The control plane did not take the message: a non-retryable answer, or retries ran out.

    `status` is the last HTTP status, or None when the last attempt failed on the network; `attempts` how many
    sends were made.
    """

    def __init__(self, status: int | None, body: str, *, gave_up: bool = False, attempts: int = 1) -> None:
        self.status = status
        self.body = body[:_BODY_EXCERPT]
        self.gave_up = gave_up
        self.attempts = attempts
        what = f"HTTP {status}" if status is not None else "network error"
        reason = "retries exhausted" if gave_up else "not retryable"
        super().__init__(f"control plane did not accept the message: {what} ({reason})")


class ControlPlane(Protocol):
    async def send(self, chat_id: str, message: PublishMessage, *, deadline: float | None = None) -> object:
        """Publish `message` to the chat; retry until `deadline` (epoch seconds) at most; raise `Undeliverable`
        when it cannot be delivered. What it returns is the implementation's own receipt (the HTTP one: how many
        attempts it made, `attempts_made` reads it)."""
        ...


def attempts_made(receipt: object) -> int:
    """How many sends a control plane's receipt says it made: 1 unless it counts them (`HttpControlPlane`)."""
    return receipt if isinstance(receipt, int) and not isinstance(receipt, bool) and receipt > 0 else 1


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle takes milliseconds: once per process (and forked workers inherit it)."""
    return httpx.create_ssl_context()


def make_http_client() -> httpx.AsyncClient:
    """The client a process keeps for its whole life: HTTP/1.1 keep-alive, bounded pool, short timeouts, a pool
    that hands a free connection to one waiting request (`http_pool`), and streams that answer the pool's
    per-request check of each idle connection cheaply (`http_streams`)."""
    transport = httpx.AsyncHTTPTransport(verify=shared_ssl_context(), limits=DEFAULT_LIMITS)
    # httpx takes neither a pool class nor a network backend; its pool (`_pool`, the httpcore pool it builds from
    # these same arguments) is replaced with ours.
    transport._pool = OneRequestPerConnectionPool(
        ssl_context=shared_ssl_context(),
        max_connections=DEFAULT_LIMITS.max_connections,
        max_keepalive_connections=DEFAULT_LIMITS.max_keepalive_connections,
        keepalive_expiry=DEFAULT_LIMITS.keepalive_expiry,
        network_backend=SocketKeepingBackend(),
    )
    return httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, transport=transport)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(max_delay, base_delay * 2**n))."""

    base_delay: float = 0.05
    max_delay: float = 1.0
    max_attempts_without_deadline: int = 8
    """A send with no deadline stops after this many attempts; one with a deadline tries until it."""
    min_attempt_time: float = 0.05
    """Don't start another attempt with less time than this left before the deadline."""
    min_attempt_timeout: float = 1.0
    """However close the deadline, an attempt may take this long: one cut off sooner may still have arrived,
    and be sent a second time."""

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * (2**attempt)))


class HttpControlPlane:
    """`POST {base_url}/v0/evi/chat/{chat_id}/send` with the API key header.

    Pass a shared `client` to reuse its connections; otherwise one is created and `aclose()` closes it.

    Each POST goes to the client's transport for the URL (its pool, or the proxy the environment names), with the
    client's default headers. The client's own layers, auth, redirects and cookies, serve nothing here, and took
    about a third of the CPU of each answer's POST in a burst. OpenTelemetry's httpx instrumentation wraps the
    transport, so each POST still gets its span and its traceparent header.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        client: httpx.AsyncClient | None = None,
        *,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        on_retry: Callable[[int | None], None] | None = None,
    ) -> None:
        """`on_retry(status)` is told of each attempt to be retried (status None: a network error): a metric."""
        self.base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self.client = client if client is not None else make_http_client()
        self._headers = httpx.Headers(self.client.headers)
        self._headers.update({API_KEY_HEADER: api_key, "Content-Type": "application/json"})
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._on_retry = on_retry
        self._send_url = functools.lru_cache(maxsize=SEND_URLS_KEPT)(self._build_send_url)
        """A chat's send URL, parsed once: a chat asks for several answers, and httpx parses a URL in Python."""

    def __repr__(self) -> str:
        return f"HttpControlPlane(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    async def send(self, chat_id: str, message: PublishMessage, *, deadline: float | None = None) -> int:
        """Returns how many attempts it took (1: no retry)."""
        url = self._send_url(chat_id)
        body = json.dumps(dump_message(message), ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        attempt = 0
        while True:
            timeout = self._attempt_timeout(deadline)
            status: int | None
            try:
                response = await self._post(url, body, timeout)
            except httpx.TransportError as exc:
                status, text, retry_after = None, f"{type(exc).__name__}", None
            else:
                status = response.status_code
                if status < 300:
                    return attempt + 1
                text = response.text
                if status not in RETRYABLE_STATUSES:
                    log.warning("control plane refused %s for chat %s: HTTP %s", message.type, chat_id, status)
                    raise Undeliverable(status, text, attempts=attempt + 1)
                retry_after = _retry_after_seconds(response)
            attempt += 1
            wait = max(self.retry.delay(attempt - 1, self._rng), retry_after or 0.0)
            if not self._may_retry(attempt, wait, deadline):
                log.warning(
                    "control plane send of %s for chat %s failed after %d attempts: %s",
                    message.type,
                    chat_id,
                    attempt,
                    status if status is not None else text,
                )
                raise Undeliverable(status, text, gave_up=True, attempts=attempt)
            if self._on_retry is not None:
                self._on_retry(status)
            log.info(
                "control plane send of %s for chat %s: %s, retry %d in %.0f ms",
                message.type,
                chat_id,
                status if status is not None else text,
                attempt,
                wait * 1000,
            )
            await asyncio.sleep(wait)

    def _build_send_url(self, chat_id: str) -> httpx.URL:
        return httpx.URL(f"{self.base_url}/v0/evi/chat/{quote(chat_id, safe='')}/send")

    async def _post(self, url: httpx.URL, body: bytes, timeout: httpx.Timeout) -> httpx.Response:
        extensions = {"timeout": timeout.as_dict()}
        request = httpx.Request("POST", url, headers=self._headers, content=body, extensions=extensions)
        response = await self.client._transport_for_url(url).handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _attempt_timeout(self, deadline: float | None) -> httpx.Timeout:
        if deadline is None:
            return DEFAULT_TIMEOUT
        left = max(deadline - time.time(), self.retry.min_attempt_timeout)
        return httpx.Timeout(min(5.0, left), connect=min(2.0, left))

    def _may_retry(self, attempts_made: int, wait: float, deadline: float | None) -> bool:
        if deadline is None:
            return attempts_made < self.retry.max_attempts_without_deadline
        return time.time() + wait + self.retry.min_attempt_time <= deadline


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class SentMessage:
    chat_id: str
    message: PublishMessage
    sent_at: float = field(default_factory=time.time)


class RecordingControlPlane:
    """A control plane that only records what it is asked to send (for tests)."""

    def __init__(self) -> None:
        self.sent: list[SentMessage] = []

    async def send(self, chat_id: str, message: PublishMessage, *, deadline: float | None = None) -> None:
        self.sent.append(SentMessage(chat_id, message))

    def messages(self, chat_id: str | None = None) -> list[PublishMessage]:
        return [item.message for item in self.sent if chat_id is None or item.chat_id == chat_id]
