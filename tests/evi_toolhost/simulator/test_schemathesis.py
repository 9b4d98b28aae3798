"""schemathesis, the standard OpenAPI fuzzer, against the simulator on a real socket: every operation of the
vendored spec, with generated valid and invalid inputs, must never answer 5xx, and every answer the spec
documents must fit its schema.

The spec documents only each operation's success (and 422 for the control-plane send). Statuses it leaves out
are allowed only as listed in `UNDOCUMENTED`, each for its reason, and then their bodies must be Hume's error
shapes. Made-up ids would only ever reach the not-found branch, so most examples are pointed at records that
exist (`Seeds`): ids are swapped before the request, which leaves the generated values otherwise as they are.
Bounded for CI: `MAX_EXAMPLES` per operation and generation mode, a fixed seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from evi_toolhost.simulator import SimulatorState, create_simulator_app
from service.evi.spec_files import OPENAPI, spec_path
from tests.conftest import TEST_API_KEY
from tests.support.servers import UvicornThread
from tests.support.spec_check import assert_rest

MAX_EXAMPLES = 10

UNDOCUMENTED: dict[int, str] = {
    401: "the negative mode left out or changed the X-Hume-Api-Key header the spec requires (checked: only then)",
    405: "schemathesis tries a method the path does not have (the answer names the allowed ones in Allow)",
    404: "the path names a prompt, tool, config (version), chat or chat group that does not exist (or no longer "
    "does: an earlier example deleted it); the spec documents no error answers at all",
    409: "a created or renamed prompt, tool or config takes a name another record has; Hume's names are unique",
    422: "a value the spec's schema allows but Hume refuses: page_size outside 1-100 and a negative page_number "
    "(stated in the spec's prose), ranges from Hume's documentation (timeouts 30-1800 s, turn detection, "
    "interruption, temperature 0-1), an EVI version Hume no longer runs, a reference that does not resolve "
    "(prompt, voice, tool); and every invalid input of the negative mode",
}

schema = schemathesis.openapi.from_path(
    spec_path(OPENAPI),
    config=schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "parameters": {"X-Hume-Api-Key": TEST_API_KEY},
        }
    ),
)


@dataclass
class Seeds:
    """Records the examples are pointed at, made again when an example deleted them."""

    state: SimulatorState
    ids: dict[str, str]

    @classmethod
    def planted(cls, state: SimulatorState) -> Seeds:
        seeds = cls(state, {})
        seeds.refresh()
        return seeds

    def refresh(self) -> None:
        state = self.state
        for kind, catalog, fields in (
            ("prompts", state.prompts, {"text": "You are kind."}),
            ("tools", state.tools, {"parameters": "{}"}),
            ("configs", state.configs, {"evi_version": "3"}),
        ):
            if kind not in self.ids or catalog.find(self.ids[kind]) is None:
                name = f"seed-{kind}-{len(catalog.listing())}-{hashlib.sha1(str(self.ids).encode()).hexdigest()[:6]}"
                made = catalog.create(name, dict(fields))
                catalog.add_version(made.id, dict(fields))
                self.ids[kind] = made.id
        if "chats" not in self.ids:
            ended = state.start_chat(config_id=self.ids["configs"])
            state.add_user_message(ended.id, "Hello there")
            state.end_chat(ended.id)
            active = state.start_chat(chat_group_id=ended.chat_group_id, config_id=self.ids["configs"])
            self.ids.update(chats=ended.id, chat_groups=ended.chat_group_id, chat=active.id)

    def point(self, case: schemathesis.Case) -> None:
        """Most examples (four in five, by a hash of the generated values): the path's id and version swapped for
        a seeded record's, paging within 1-100, and a config or tool body that Hume would take: a running EVI
        version, references that resolve, numbers within Hume's ranges, parameters that are a JSON Schema."""
        if int(hashlib.sha1(repr(case.path_parameters).encode() + repr(case.body).encode()).hexdigest(), 16) % 5 == 0:
            return
        kind = case.path.split("/")[3]
        parameters = case.path_parameters or {}
        for key in ("id", "chat_id"):
            if key in parameters and kind in self.ids:
                parameters[key] = self.ids[kind]
        if isinstance(parameters.get("version"), int):
            parameters["version"] = abs(parameters["version"]) % 3
        query = case.query or {}
        if isinstance(query.get("page_size"), int):
            query["page_size"] = 1 + abs(query["page_size"]) % 100
        if isinstance(query.get("page_number"), int):
            query["page_number"] = abs(query["page_number"]) % 3
        if isinstance(case.body, dict) and kind in ("configs", "tools") and case.method == "POST":
            steer_body(case.body, self.ids)


RANGES = {
    ("timeouts", "inactivity", "duration_secs"): (30, 1800),
    ("timeouts", "max_duration", "duration_secs"): (30, 1800),
    ("turn_detection", "end_of_turn_silence_ms"): (500, 3000),
    ("turn_detection", "prefix_padding_ms"): (0, 1000),
    ("turn_detection", "speech_detection_threshold"): (0, 1),
    ("interruption", "min_interruption_ms"): (50, 2000),
    ("language_model", "temperature"): (0, 1),
    ("nudges", "interval_secs"): (1, 600),
}


def steer_body(body: dict[str, Any], ids: dict[str, str]) -> None:
    if "parameters" in body:
        body["parameters"] = "{}"
    if "evi_version" not in body:
        return
    if body.get("name") == "":
        body["name"] = f"fuzzed-{hashlib.sha1(repr(body).encode()).hexdigest()[:8]}"
    if isinstance(body.get("webhooks"), list):
        body["webhooks"] = [{"url": "https://example.test/hook", "events": ["tool_call"]}]
    body["evi_version"] = "3"
    body["prompt"] = {"id": ids["prompts"]}
    body["voice"] = {"name": "Kora", "provider": "HUME_AI"}
    body["tools"] = [{"id": ids["tools"], "version": 0}]
    for path, (low, high) in RANGES.items():
        *parents, leaf = path
        holder: Any = body
        for parent in parents:
            holder = holder.get(parent) if isinstance(holder, dict) else None
        value = holder.get(leaf) if isinstance(holder, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            holder[leaf] = min(max(value, low), high)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[UvicornThread, Starlette]]:
    app = create_simulator_app(TEST_API_KEY)
    with UvicornThread(app) as server:
        yield server, app


@pytest.fixture(scope="module")
def seeds(served: tuple[UvicornThread, Starlette]) -> Seeds:
    state: SimulatorState = served[1].state.simulator
    return Seeds.planted(state)


def check_error_body(status: int, body: Any) -> None:
    if status == 422:
        assert_rest(body, "HTTPValidationError")
        assert all(item["loc"] and item["msg"] for item in body["detail"])
    else:
        assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"]


@schema.parametrize()
def test_the_simulator_under_schemathesis(
    case: schemathesis.Case, served: tuple[UvicornThread, Starlette], seeds: Seeds
) -> None:
    server, _ = served
    seeds.refresh()
    seeds.point(case)
    response = case.call(base_url=server.url, headers={"X-Hume-Api-Key": TEST_API_KEY})
    documented = case.operation.definition.raw["responses"]
    if str(response.status_code) not in documented:
        where = f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
        assert response.status_code in UNDOCUMENTED, where
        if response.status_code == 405:
            assert response.headers.get("allow"), where
        if response.status_code == 401:
            assert response.request.headers.get("X-Hume-Api-Key") != TEST_API_KEY, where
            assert response.json()["fault"]["faultstring"], where
            return
        check_error_body(response.status_code, response.json())
        return
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
