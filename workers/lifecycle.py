"""Chat lifecycle: the chat record, the transcript when a chat ends, and the user's hooks. A chat's end is first
told to the workers running its calls (`workers.chat_signals`), which stop or finish them by their tools' policy.

A failing hook never stops the others: each failure is logged with its traceback and recorded in the chat
record, and after all hooks ran the job raises `HookFailed`, so it lands in RQ's failed registry where it
can be requeued (which runs every hook of that event again: hooks should be idempotent).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from service.evi.chats import fetch_chat_events
from service.evi.messages import PublishMessage
from service.evi.timestamps import now_ms
from service.evi.webhooks import WebhookEventBase, WebhookEventChatEnded, WebhookEventChatStarted
from service.queue import contract
from workers import chat_signals, history
from workers.handlers.context import ChatContext
from workers.handlers.registry import Hook
from workers.handlers.threads import HANDLER_THREADS
from workers.records import ChatStatus, update_chat
from workers.relay.chats import announce_chat, retire_chat
from workers.runtime import Runtime
from workers.transcripts import TranscriptLine, transcript_from_events

log = logging.getLogger("evi_toolhost.lifecycle")

SEND_TIMEOUT_SECONDS = 10.0


class HookFailed(Exception):
    """One or more lifecycle hooks raised; the job fails so RQ keeps it for requeue."""


def chat_started(runtime: Runtime, event: WebhookEventChatStarted) -> None:
    if runtime.settings.relay_enabled:
        announce_chat(runtime.redis, event.chat_id, event.start_time)
    update_chat(
        runtime.redis,
        event.chat_id,
        runtime.settings.record_ttl_seconds,
        {**_context_ids(event), "chat_start_type": event.chat_start_type.value, "start_time_ms": event.start_time},
        only_if_missing={"status": ChatStatus.ACTIVE},
    )

    async def send(message: PublishMessage) -> None:
        await runtime.call(runtime.delivery.send(event.chat_id, message, deadline=time.time() + SEND_TIMEOUT_SECONDS))

    ctx = ChatContext(**_context_ids(event), _sender=send)
    _run_hooks(runtime, event, runtime.registry.hooks("chat_started"), (event, ctx))


def chat_ended(runtime: Runtime, event: WebhookEventChatEnded) -> int:
    """Returns the number of transcript lines handed to the hooks."""
    settings = runtime.settings
    chat_signals.publish(runtime.redis, runtime.running_calls, event.chat_id, "ended")
    retire_chat(runtime.redis, event.chat_id)
    history.forget(runtime.redis, event.chat_group_id)
    update_chat(
        runtime.redis,
        event.chat_id,
        settings.record_ttl_seconds,
        {
            **_context_ids(event),
            "status": ChatStatus.ENDED,
            "end_time_ms": event.end_time,
            "end_reason": event.end_reason.value,
            "duration_seconds": event.duration_seconds,
        },
    )
    transcript: list[TranscriptLine] = []
    if settings.transcripts_enabled:
        try:
            events = runtime.run(
                fetch_chat_events(
                    runtime.http, settings.hume_api_base_url, settings.hume_api_key.get_secret_value(), event.chat_id
                )
            )
        except Exception as exc:
            update_chat(
                runtime.redis,
                event.chat_id,
                settings.record_ttl_seconds,
                {"transcript_error": f"{type(exc).__name__}: {exc}"[:300]},
            )
            log.error("chat %s: transcript not fetched, hooks not run: %s", event.chat_id, exc)
            raise
        transcript = transcript_from_events(events)
        runtime.redis.set(
            contract.transcript(event.chat_id),
            json.dumps([line.to_dict() for line in transcript]),
            ex=settings.record_ttl_seconds,
        )
        update_chat(
            runtime.redis,
            event.chat_id,
            settings.record_ttl_seconds,
            {"transcript_lines": len(transcript), "transcript_events": len(events)},
        )
    ctx = ChatContext(**_context_ids(event))
    _run_hooks(runtime, event, runtime.registry.hooks("chat_ended"), (event, ctx, transcript))
    return len(transcript)


def _run_hooks(runtime: Runtime, event: WebhookEventBase, hooks: Sequence[Hook], args: tuple[Any, ...]) -> None:
    """Each hook on this job thread's loop, each within HOOK_TIMEOUT_SECONDS."""
    if not hooks:
        return
    failures = runtime.job_loop().run_until_complete(_call_all(hooks, args, runtime.settings.hook_timeout_seconds))
    kind = hooks[0].kind
    if not failures:
        return
    update_chat(
        runtime.redis,
        event.chat_id,
        runtime.settings.record_ttl_seconds,
        {
            f"{kind}_hook_errors": json.dumps(failures),
            f"{kind}_hooks_failed_ms": now_ms(),
        },
    )
    names = ", ".join(f"{f['hook']} ({f['error']})" for f in failures)
    raise HookFailed(f"{len(failures)} of {len(hooks)} {kind} hooks failed for chat {event.chat_id}: {names}")


async def _call_all(hooks: Sequence[Hook], args: tuple[Any, ...], timeout: float) -> list[dict[str, str]]:
    failures: list[dict[str, str]] = []
    loop = asyncio.get_running_loop()
    for hook in hooks:
        hook_args = args[: hook.arity]
        if hook.is_async:
            running: asyncio.Future[Any] = asyncio.ensure_future(hook.func(*hook_args))
        else:
            running = loop.run_in_executor(HANDLER_THREADS, functools.partial(hook.func, *hook_args))
        try:
            await asyncio.wait_for(running, timeout)
        except TimeoutError:
            log.error("%s hook %s did not finish within %g s; it is abandoned", hook.kind, hook.name, timeout)
            failures.append({"hook": hook.name, "error": f"timeout after {timeout:g} s"})
        except Exception as exc:
            log.exception("%s hook %s failed", hook.kind, hook.name)
            failures.append({"hook": hook.name, "error": type(exc).__name__})
    return failures


def _context_ids(event: WebhookEventBase) -> dict[str, Any]:
    return {
        "chat_id": event.chat_id,
        "chat_group_id": event.chat_group_id,
        "custom_session_id": event.custom_session_id,
        "caller_number": event.caller_number,
        "config_id": event.config_id,
    }
