"""`/ops` on the web app: off without OPS_TOKEN; with it, the login form, the page, its assets and the API behind
the token, every answer under a strict Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator

import fakeredis
import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.ops.routes import CONTENT_SECURITY_POLICY
from tests.conftest import make_settings

TOKEN = "a-made-up-ops-token-of-some-length"


@pytest.fixture
def client(fake_aredis: fakeredis.FakeAsyncRedis) -> Iterator[TestClient]:
    app = create_app(make_settings(ops_token=TOKEN), redis=fake_aredis)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as test_client:
        yield test_client


def test_without_ops_token_there_is_no_ops_page(fake_aredis: fakeredis.FakeAsyncRedis) -> None:
    with TestClient(create_app(make_settings(), redis=fake_aredis)) as client:
        for path in ("/ops", "/ops/api/overview", "/ops/static/ops.js"):
            assert client.get(path).status_code == 404


def test_the_page_is_refused_with_the_login_form(client: TestClient) -> None:
    refused = client.get("/ops")
    assert refused.status_code == 401
    assert '<form method="post" action="/ops/login"' in refused.text and "Enter the OPS_TOKEN" in refused.text
    assert refused.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    api = client.get("/ops/api/overview")
    assert (api.status_code, api.json()["error"]) == (401, "unauthorized")
    assert api.headers["www-authenticate"].startswith("Bearer")


def test_logging_in_sets_the_session_and_the_page_loads_its_own_script(client: TestClient) -> None:
    wrong = client.post("/ops/login", data={"token": "wrong"})
    assert wrong.status_code == 401 and "not the OPS_TOKEN" in wrong.text and "set-cookie" not in wrong.headers
    right = client.post("/ops/login", data={"token": TOKEN})
    assert (right.status_code, right.headers["location"]) == (303, "/ops")
    cookie = right.headers["set-cookie"].split(";")[0]
    page = client.get("/ops", headers={"Cookie": cookie})
    assert page.status_code == 200 and '<script src="/ops/static/ops.js" defer></script>' in page.text
    assert "<script>" not in page.text and "style=" not in page.text and TOKEN not in page.text
    assert client.get("/ops", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    out = client.post("/ops/logout", headers={"Cookie": cookie})
    assert out.status_code == 303 and 'evi_ops_session=""' in out.headers["set-cookie"]


def test_assets_are_the_package_s_files_and_nothing_else(client: TestClient) -> None:
    script = client.get("/ops/static/ops.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "fetch(" in script.text and "innerHTML" not in script.text
    assert client.get("/ops/static/ops.css").headers["content-type"].startswith("text/css")
    assert client.get("/ops/static/login.html").status_code == 404
    assert client.get("/ops/static/..%2Fapi.py").status_code == 404


def test_a_login_form_too_large_is_refused(client: TestClient) -> None:
    response = client.post("/ops/login", content=b"token=" + b"x" * 5000)
    assert response.status_code == 413
