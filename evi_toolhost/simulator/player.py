"""Play a conversation script as EVI would: drive a simulator (over its admin API, so it may run in
another process), post signed webhooks to the service under test, and wait for its answers.

Per tool turn, `via` says how EVI delivers the call: `webhook` (the call is in the chat's history but
not on its sockets), `socket` (on the sockets only, no webhook) or `both`. What the chat is told around each
call (`assistant_input` while EVI waits, a background tool's result after its answer) is collected with its time.
A script that `resumes` an earlier chat has that chat played into the group's history (and ended) first.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
from pydantic import BaseModel

from evi_toolhost.simulator.auth import API_KEY_HEADER
from evi_toolhost.simulator.report import CallReport, PlayReport, WebhookDelivery
from evi_toolhost.simulator.script import AssistantTurn, Expect, Script, ToolTurn, UserTurn
from service.evi.messages import ToolCallMessage
from service.evi.signing import sign
from service.evi.timestamps import now_ms
from service.evi.webhooks import (
    ChatStartType,
    ChatStatus,
    WebhookEventChatEnded,
    WebhookEventChatStarted,
    WebhookEventToolCall,
)

_POLL_MARGIN = 5.0


class PlayerError(Exception):
    """The simulator could not be driven (unreachable, wrong key, refused a call)."""


def evaluate(
    expect: Expect,
    response_required: bool,
    answers: list[dict[str, Any]],
    said: list[str] | None = None,
    announced: str | None = None,
) -> str | None:
    """Why the answers (and what was said during the call, and after it) do not meet the expectation, or None."""
    problem = _evaluate_answer(expect, response_required, answers)
    if problem is not None:
        return problem
    remaining = list(said or [])
    for wanted in expect.said:
        found = next((i for i, text in enumerate(remaining) if wanted in text), None)
        if found is None:
            return f"nothing said while waiting contained {wanted!r} (said: {said or []})"
        remaining = remaining[found + 1 :]
    if expect.announced is not None and (announced is None or expect.announced not in announced):
        return f"no announcement after the answer contained {expect.announced!r}"
    return None


def _evaluate_answer(expect: Expect, response_required: bool, answers: list[dict[str, Any]]) -> str | None:
    wanted = expect.type or ("any" if response_required else "none")
    if len(answers) > 1:
        return f"{len(answers)} answers for one call; EVI takes exactly one"
    if wanted == "none":
        return f"expected no answer, got {answers[0]['type']}" if answers else None
    if not answers:
        return "no answer before the deadline"
    answer = answers[0]
    if expect.type is not None and answer["type"] != expect.type:
        return f"expected {expect.type}, got {answer['type']}"
    if expect.code is not None and answer.get("code") != expect.code:
        return f"expected code {expect.code!r}, got {answer.get('code')!r}"
    if expect.content_contains is not None and expect.content_contains not in (answer.get("content") or ""):
        return f"content does not contain {expect.content_contains!r}"
    return None


class _Player:
    def __init__(
        self,
        script: Script,
        admin: httpx.AsyncClient,
        hooks: httpx.AsyncClient,
        webhook_url: str,
        signing_key: str,
        answer_timeout: float,
    ) -> None:
        self.script = script
        self.admin = admin
        self.hooks = hooks
        self.webhook_url = webhook_url
        self.signing_key = signing_key
        self.answer_timeout = script.answer_timeout or answer_timeout
        self.chat: dict[str, Any] = {}

    async def run(self) -> PlayReport:
        spec = self.script.chat.model_dump()
        if self.script.resumes:
            spec["chat_group_id"] = await self._earlier_chat(spec.get("chat_group_id"))
        self.chat = await self._admin("POST", "/_sim/chats", json=spec, expect=201)
        report = PlayReport(
            chat_id=self.chat["id"],
            chat_group_id=self.chat["chat_group_id"],
            resumed=self.chat["chat_start_type"] == ChatStartType.RESUMED_CHAT_GROUP,
        )
        started = WebhookEventChatStarted(
            **self._ids(),
            chat_start_type=ChatStartType(self.chat["chat_start_type"]),
            start_time=self.chat["start_timestamp"],
        )
        report.lifecycle.append(await self._webhook(started))
        for number, turn in enumerate(self.script.turns, start=1):
            if isinstance(turn, UserTurn):
                await self._event({"type": "user_message", "text": turn.user})
            elif isinstance(turn, AssistantTurn):
                await self._event({"type": "assistant_message", "text": turn.assistant})
                await self._event({"type": "assistant_end"})
            else:
                report.calls.append(await self._tool_call(number, turn))
        await self._settle(report.calls)
        ended = await self._admin(
            "POST", f"/_sim/chats/{self.chat['id']}/end", json={"status": self.script.end_reason.value}, expect=200
        )
        end_time = ended["end_timestamp"]
        finished = WebhookEventChatEnded(
            **self._ids(),
            duration_seconds=round((end_time - self.chat["start_timestamp"]) / 1000),
            end_reason=ChatStatus(ended["status"]),
            end_time=end_time,
        )
        report.lifecycle.append(await self._webhook(finished))
        return report

    async def _earlier_chat(self, chat_group_id: str | None) -> str:
        """Play the chat this script resumes (history only: no webhooks), end it; its group id."""
        earlier = await self._admin("POST", "/_sim/chats", json={"chat_group_id": chat_group_id}, expect=201)
        path = f"/_sim/chats/{earlier['id']}"
        for turn in self.script.resumes or []:
            if isinstance(turn, UserTurn):
                body = {"type": "user_message", "text": turn.user}
            else:
                body = {"type": "assistant_message", "text": turn.assistant}
            await self._admin("POST", f"{path}/events", json=body, expect=201)
        await self._admin("POST", f"{path}/end", json={}, expect=200)
        group: str = earlier["chat_group_id"]
        return group

    async def _tool_call(self, number: int, turn: ToolTurn) -> CallReport:
        call = CallReport(
            turn=number,
            tool=turn.tool,
            tool_type=turn.tool_type.value,
            arguments=turn.arguments,
            tool_call_id=turn.tool_call_id or f"toolu_{uuid.uuid4().hex[:24]}",
            via=turn.via,
            response_required=turn.requires_response,
            expect=turn.expect,
        )
        event = {
            "type": "tool_call",
            "name": turn.tool,
            "parameters": json.dumps(turn.arguments),
            "tool_call_id": call.tool_call_id,
            "tool_type": turn.tool_type.value,
            "response_required": call.response_required,
            "broadcast": turn.via != "webhook",
        }
        before = len(await self._received())
        if turn.via == "webhook":
            recorded = await self._event(event)
            sent_at, started = time.time(), time.perf_counter()
        else:
            sent_at, started = time.time(), time.perf_counter()
            recorded = await self._event(event)
        interrupting = None
        if turn.interrupt_after is not None:
            interrupting = asyncio.create_task(self._interrupt(turn.interrupt_after))
        if turn.via != "socket":
            message = ToolCallMessage.model_validate(recorded["tool_call"])
            call.webhook = await self._webhook(
                WebhookEventToolCall(**self._ids(), timestamp=now_ms(), tool_call_message=message)
            )
        timeout = turn.timeout or self.answer_timeout
        if call.response_required:
            answers = await self._answers(call.tool_call_id, timeout)
            if answers:
                call.player_ms = (time.perf_counter() - started) * 1000
                call.server_ms = (answers[0]["received_at"] - sent_at) * 1000
                self._note_answer(call, answers)
                await self._note_speech(call, before, sent_at, answers[0]["received_at"], timeout)
        if interrupting is not None:
            await interrupting
        return call

    async def _interrupt(self, after: float) -> None:
        await asyncio.sleep(after)
        await self._event({"type": "user_interruption"})

    async def _note_speech(
        self, call: CallReport, before: int, sent_at: float, answered_at: float, timeout: float
    ) -> None:
        """What was said while EVI waited; and, when the turn expects one, what a background run said after."""
        received = (await self._received())[before:]
        call.said = [
            (item["received_at"] - sent_at, item["message"]["text"])
            for item in received
            if item["message"].get("type") == "assistant_input" and item["received_at"] <= answered_at
        ]
        if call.expect.announced is None:
            return
        until = time.monotonic() + timeout
        seen = before + len(received)
        while time.monotonic() < until:
            later = [item for item in received if item["received_at"] > answered_at]
            spoken = [item for item in later if item["message"].get("type") == "assistant_input"]
            if spoken:
                call.announced = (spoken[0]["received_at"] - sent_at, spoken[0]["message"]["text"])
                return
            everything = await self._received(after=seen, timeout=until - time.monotonic())
            received, seen = everything[before:], len(everything)

    async def _received(self, after: int | None = None, timeout: float = 0.0) -> list[dict[str, Any]]:
        params = {} if after is None else {"after": str(after), "timeout": str(max(0.0, timeout))}
        answer = await self._admin(
            "GET",
            f"/_sim/chats/{self.chat['id']}/received",
            params=params,
            expect=200,
            read_timeout=timeout + _POLL_MARGIN,
        )
        received: list[dict[str, Any]] = answer["received"]
        return received

    async def _settle(self, calls: list[CallReport]) -> None:
        """Collect late, duplicate and unrequested answers, then judge every call."""
        for call in calls:
            answers = await self._answers(call.tool_call_id, 0)
            self._note_answer(call, answers)
            said = [text for _, text in call.said]
            announced = call.announced[1] if call.announced else None
            problem = evaluate(call.expect, call.response_required, [a["message"] for a in answers], said, announced)
            if problem is None and answers and call.response_required and call.player_ms is None:
                problem = "the answer arrived after the deadline"
            if problem and call.webhook is not None and not call.webhook.delivered:
                problem = f"webhook {call.webhook.describe()}; {problem}"
            call.problem = problem
            call.met = problem is None

    @staticmethod
    def _note_answer(call: CallReport, answers: list[dict[str, Any]]) -> None:
        call.answers = len(answers)
        if not answers or call.answer_type is not None:
            return
        message = answers[0]["message"]
        call.answer_type = message.get("type")
        call.content = message.get("content")
        call.code = message.get("code")
        call.error = message.get("error")
        call.transport = answers[0]["transport"]

    async def _answers(self, tool_call_id: str, timeout: float) -> list[dict[str, Any]]:
        answer = await self._admin(
            "GET",
            f"/_sim/chats/{self.chat['id']}/received",
            params={"tool_call_id": tool_call_id, "timeout": str(timeout)},
            expect=200,
            read_timeout=timeout + _POLL_MARGIN,
        )
        received: list[dict[str, Any]] = answer["received"]
        return received

    def _ids(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat["id"],
            "chat_group_id": self.chat["chat_group_id"],
            "config_id": self.chat["config_id"],
            "caller_number": self.chat["caller_number"],
            "custom_session_id": self.chat["custom_session_id"],
        }

    async def _event(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._admin("POST", f"/_sim/chats/{self.chat['id']}/events", json=body, expect=201)

    async def _admin(
        self, method: str, path: str, *, expect: int, read_timeout: float = 10.0, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            response = await self.admin.request(
                method, path, timeout=httpx.Timeout(read_timeout, connect=5.0), **kwargs
            )
        except httpx.HTTPError as exc:
            raise PlayerError(f"cannot reach the simulator at {self.admin.base_url}: {exc!r}") from None
        if response.status_code != expect:
            raise PlayerError(f"simulator answered {response.status_code} to {method} {path}: {response.text[:300]}")
        result: dict[str, Any] = response.json()
        return result

    async def _webhook(self, event: BaseModel) -> WebhookDelivery:
        """POST the event as Hume does: JSON body (nulls included), signed over the exact bytes sent."""
        event_name = str(getattr(event, "event_name", "event"))
        body = json.dumps(event.model_dump(mode="json")).encode()
        headers = {"Content-Type": "application/json", **sign(body, self.signing_key)}
        try:
            response = await self.hooks.post(self.webhook_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return WebhookDelivery(event_name, error=f"{type(exc).__name__}: {exc}")
        return WebhookDelivery(event_name, status=response.status_code)


async def play(
    script: Script,
    *,
    webhook_url: str,
    simulator_url: str,
    api_key: str,
    signing_key: str,
    answer_timeout: float = 10.0,
) -> PlayReport:
    """Play `script` against the service at `webhook_url`, with EVI simulated at `simulator_url`.

    `answer_timeout` is how long to wait for each answer unless the script or the turn says otherwise.
    Raises PlayerError if the simulator cannot be driven.
    """
    async with (
        httpx.AsyncClient(base_url=simulator_url, headers={API_KEY_HEADER: api_key}) as admin,
        httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as hooks,
    ):
        return await _Player(script, admin, hooks, webhook_url, signing_key, answer_timeout).run()


def play_sync(
    script: Script,
    *,
    webhook_url: str,
    simulator_url: str,
    api_key: str,
    signing_key: str,
    answer_timeout: float = 10.0,
) -> PlayReport:
    """`play` for code that is not async (runs its own event loop)."""
    return asyncio.run(
        play(
            script,
            webhook_url=webhook_url,
            simulator_url=simulator_url,
            api_key=api_key,
            signing_key=signing_key,
            answer_timeout=answer_timeout,
        )
    )
