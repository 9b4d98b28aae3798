"""The ops page in a real headless Chromium (Debian's `chromium`, driven by playwright), against a real stack:
refused without the token, and after the login form, showing a call made by the test with its latency.

Playwright drives the system's Chromium (`executable_path`); it never downloads a browser of its own. Without a
Chromium on the machine the test is skipped, saying so. `EVI_OPS_SCREENSHOT=docs/ops-page.png` saves the
screenshot the README shows there (by default it goes to the test's temporary folder).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evi_toolhost.embedded_redis import EmbeddedRedis
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

OPS_TOKEN = "ops-token-made-up-for-the-browser-test"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium); the ops page is not browsed")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    return found


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    stack = Stack(redis_server.url, "tests.integration.call_log_tools", OPS_TOKEN=OPS_TOKEN).start()
    try:
        stack.start_worker(2)
        stack.start_relay()
        yield stack
    finally:
        stack.close()


def traffic(stack: Stack) -> None:
    """Calls of every kind for the page to show: quick and slower answers, tool errors, a timeout."""
    socket_chat = stack.chat(allow_connection=True, announce=True)
    http_chat = stack.chat(allow_connection=False, announce=True)
    calls = []
    for index in range(12):
        chat = socket_chat if index % 2 else http_chat
        calls.append(stack.call("lookup_order", {"order_id": f"O-{index}", "delay_ms": 40 * index}, chat)[0])
    calls.append(stack.call("lookup_order", {"order_id": "missing-1"}, http_chat)[0])
    calls.append(stack.call("pay", {"card_number": "4929000011112222", "amount": 30}, socket_chat)[0])
    calls.append(stack.call("slow_report", {"seconds": 5}, http_chat)[0])
    for call_id in calls:
        stack.record(call_id)


def test_the_ops_page_refuses_without_the_token_and_shows_a_call_and_its_latency(
    stack: Stack, tmp_path: Path
) -> None:
    executable = chromium()
    from playwright.sync_api import ConsoleMessage, expect, sync_playwright

    chat_id = stack.chat(allow_connection=False)
    call_id, _ = stack.call("lookup_order", {"order_id": "P-1", "delay_ms": 120}, chat_id)
    record = stack.record(call_id)
    latency = int(record["answered_ms"]) - int(record["received_ms"])
    screenshot = Path(os.environ.get("EVI_OPS_SCREENSHOT") or tmp_path / "ops-page.png")
    if "EVI_OPS_SCREENSHOT" in os.environ:
        traffic(stack)

    assert httpx.get(f"{stack.web_url}/ops/api/overview").status_code == 401
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            problems: list[str] = []  # script errors, CSP violations, requests leaving this machine

            def console(message: ConsoleMessage) -> None:
                # The refusals are 401s on purpose, and there is no favicon: those loads may fail.
                if message.type == "error" and not message.text.startswith("Failed to load resource"):
                    problems.append(message.text)

            page.on("console", console)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("request", lambda request: problems.append(request.url) if "127.0.0.1" not in request.url else None)

            refused = page.goto(f"{stack.web_url}/ops")
            assert refused is not None and refused.status == 401
            csp = refused.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
            expect(page.locator("#recent")).to_have_count(0)

            page.fill("#token", "not-the-token-at-all")
            page.click("button[type=submit]")
            expect(page.locator(".message")).to_contain_text("not the OPS_TOKEN")

            page.fill("#token", OPS_TOKEN)
            page.click("button[type=submit]")
            row = page.locator(f'#recent tr[data-id="{call_id}"]')
            expect(row).to_contain_text("lookup_order")
            expect(row).to_contain_text(f"{latency} ms")
            expect(row).to_contain_text("answered")

            row.click()
            expect(page.locator("#detail")).to_contain_text(call_id)
            expect(page.locator("#detail")).to_contain_text("handler")
            expect(page.locator("#tools")).to_contain_text("lookup_order")
            expect(page.locator("#workers tbody tr")).to_have_count(2)

            (cookie,) = page.context.cookies()
            assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Strict")
            assert OPS_TOKEN not in cookie["value"] and OPS_TOKEN not in page.content()
            if "EVI_OPS_SCREENSHOT" in os.environ:
                stack.call("lookup_order", {"order_id": "O-slow", "delay_ms": 4000}, chat_id)
                expect(page.locator("#in-flight tbody td.id")).to_have_count(2)
                time.sleep(0.5)  # the charts' last redraw, for the picture only: nothing is asserted after it
            page.screenshot(path=str(screenshot), full_page=True)
            assert not problems, problems
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
