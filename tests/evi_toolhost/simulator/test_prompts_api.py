"""/v0/evi/prompts over a real socket: versions from 0 (every posted version kept), Hume's answer shape, and the
routes every versioned kind shares (`records_api`): rename, describe a version, delete a version or the record."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hume.empathic_voice import types as sdk

from tests.support.spec_check import assert_rest


def create(http: httpx.Client, name: str = "support", text: str = "You are kind.", **fields: Any) -> dict[str, Any]:
    response = http.post("/v0/evi/prompts", json={"name": name, "text": text, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert_rest(body, "return_prompt_public")
    sdk.ReturnPrompt.model_validate(body)
    return body


def versions(http: httpx.Client, prompt_id: str) -> list[int]:
    page = http.get(f"/v0/evi/prompts/{prompt_id}").json()
    assert_rest(page, "return_paged_prompts")
    return [prompt["version"] for prompt in page["prompts_page"]]


def test_create_then_versions_count_from_zero_even_for_the_same_text(http: httpx.Client) -> None:
    prompt = create(http, version_description="first", prompt_expansion={"enabled": False})
    assert (prompt["version"], prompt["version_type"], prompt["text"]) == (0, "FIXED", "You are kind.")
    assert prompt["prompt_expansion"] == {"enabled": False}
    for _ in range(2):
        assert http.post(f"/v0/evi/prompts/{prompt['id']}", json={"text": "You are kind."}).status_code == 201
    assert versions(http, prompt["id"]) == [0, 1, 2]
    assert http.get(f"/v0/evi/prompts/{prompt['id']}/version/2").json()["created_on"] == prompt["created_on"]


def test_rename_applies_to_every_version_and_refuses_a_taken_name(http: httpx.Client) -> None:
    prompt = create(http)
    create(http, name="other")
    http.post(f"/v0/evi/prompts/{prompt['id']}", json={"text": "Two."})
    assert http.patch(f"/v0/evi/prompts/{prompt['id']}", json={"name": "renamed"}).json() == {}
    names = {p["name"] for p in http.get(f"/v0/evi/prompts/{prompt['id']}").json()["prompts_page"]}
    assert names == {"renamed"}
    assert http.patch(f"/v0/evi/prompts/{prompt['id']}", json={"name": "other"}).status_code == 409
    assert http.patch(f"/v0/evi/prompts/{prompt['id']}", json={"name": ""}).status_code == 422


def test_describe_a_version(http: httpx.Client) -> None:
    prompt = create(http)
    described = http.patch(f"/v0/evi/prompts/{prompt['id']}/version/0", json={"version_description": "kept"})
    assert described.status_code == 200
    assert_rest(described.json(), "return_prompt_public")
    assert described.json()["version_description"] == "kept"
    assert described.json()["modified_on"] >= prompt["modified_on"]


def test_deleting_versions_then_the_last_one_deletes_the_prompt(http: httpx.Client) -> None:
    prompt = create(http)
    http.post(f"/v0/evi/prompts/{prompt['id']}", json={"text": "Two."})
    assert http.delete(f"/v0/evi/prompts/{prompt['id']}/version/1").json() == {}
    assert http.get(f"/v0/evi/prompts/{prompt['id']}/version/1").status_code == 404
    added = http.post(f"/v0/evi/prompts/{prompt['id']}", json={"text": "Three."}).json()
    assert added["version"] == 2, "a deleted version's number is not given again"
    for number in (0, 2):
        assert http.delete(f"/v0/evi/prompts/{prompt['id']}/version/{number}").status_code == 200
    assert http.get(f"/v0/evi/prompts/{prompt['id']}").status_code == 404


def test_delete_the_prompt(http: httpx.Client) -> None:
    prompt = create(http)
    assert http.delete(f"/v0/evi/prompts/{prompt['id']}").status_code == 200
    assert http.get("/v0/evi/prompts").json()["prompts_page"] == []
    assert http.delete(f"/v0/evi/prompts/{prompt['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "p"}, ["body", "text"]),
        ({"text": "t"}, ["body", "name"]),
        ({"name": "", "text": "t"}, ["body", "name"]),
    ],
)
def test_bad_prompt_is_422_naming_the_field(http: httpx.Client, body: dict[str, Any], loc: list[Any]) -> None:
    response = http.post("/v0/evi/prompts", json=body)
    assert response.status_code == 422
    assert loc in [error["loc"] for error in response.json()["detail"]]


def test_a_method_a_path_lacks_is_405_naming_the_allowed_ones(http: httpx.Client) -> None:
    response = http.put("/v0/evi/prompts")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}
