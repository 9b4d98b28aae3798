"""`pull` against the simulator over a real socket: a config clicked together (prompt text, a library voice,
tools following their latest version or pinned to an older one, every setting) becomes a file that loads and
that `plan` finds no difference with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from evi_toolhost.as_code.apply import apply_plan
from evi_toolhost.as_code.evi_file import LoadedFile, load_file
from evi_toolhost.as_code.plan import make_plan
from evi_toolhost.as_code.pull import pulled_text
from service.evi.management import HumeManagementClient
from tests.support.hume_api import Sent, posts
from workers.handlers.registry import RegisteredTool


def post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def clicked_config(api: httpx.Client) -> dict[str, Any]:
    crm = post(api, "/v0/evi/tools", {"name": "crm", "parameters": "{}"})
    post(api, f"/v0/evi/tools/{crm['id']}", {"parameters": '{"type":"object"}'})
    calendar = post(api, "/v0/evi/tools", {"name": "calendar", "parameters": "{}"})
    return post(
        api,
        "/v0/evi/configs",
        {
            "name": "support-bot",
            "evi_version": "3",
            "prompt": {"text": "You are a friendly support agent.\nBe brief."},
            "voice": {"name": "Stella", "provider": "HUME_AI"},
            "language_model": {"model_provider": "OPEN_AI", "model_resource": "gpt-4o", "temperature": 0.3},
            "event_messages": {"on_new_chat": {"enabled": True, "text": "Hi!"}},
            "nudges": {"enabled": False},
            "tools": [{"id": crm["id"], "version": 0}, {"id": calendar["id"]}],
            "builtin_tools": [{"name": "web_search"}],
            "webhooks": [{"url": "https://crm.example.test/evi", "events": ["chat_ended"]}],
        },
    )


def test_pull_then_plan_shows_no_difference(
    hume: HumeManagementClient, api: httpx.Client, sent: list[Sent], tmp_path: Path
) -> None:
    config = clicked_config(api)
    text = pulled_text(hume, config["id"])
    path = tmp_path / "evi.yaml"
    path.write_text(text)

    loaded = load_file(path)
    sent.clear()
    plan = make_plan(hume, loaded, [])
    assert not plan.needed, plan
    assert posts(sent) == []
    [entry] = yaml.safe_load(text)["configs"].values()
    assert entry["tools"] == [{"name": "crm", "version": 0}, "calendar"]
    assert entry["voice"] == {"name": "Stella", "provider": "HUME_AI"}
    prompts = yaml.safe_load(text)["prompts"]
    assert prompts == {"support-bot prompt": {"text": "You are a friendly support agent.\nBe brief."}}
    assert "text: |" in text, "a prompt is written as a block"


def test_the_applied_example_pulls_back_to_no_difference(
    hume: HumeManagementClient, example: LoadedFile, example_tools: list[RegisteredTool], tmp_path: Path
) -> None:
    [*_, made] = apply_plan(hume, make_plan(hume, example, example_tools))
    path = tmp_path / "evi.yaml"
    path.write_text(pulled_text(hume, made.id))
    assert not make_plan(hume, load_file(path), example_tools).needed
