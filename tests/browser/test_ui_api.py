"""The API pages in a real browser, under the site's strict CSP."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.test_ui_finish import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_renders_the_api_reference_from_local_assets(
    page: Page, live_server: Any
) -> None:
    refused: list[str] = []
    outside: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text and "script" in message.text:
            refused.append(message.text)

    page.on("console", watch)
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if not r.url.startswith(live_server.url) and not r.url.startswith("data:")
            else None
        ),
    )
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.get_by_text("/api/v1/generations").first).to_be_visible()
    assert refused == []
    assert outside == []


def test_it_creates_a_token_and_shows_it_once(
    page: Page, live_server: Any, alice: Any
) -> None:
    log_in(page, live_server)
    page.get_by_role("link", name="API").click()
    page.get_by_label("Name").fill("nightly batch")
    page.get_by_label("Read tasks, videos, credits and links").check()
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token-value")).to_contain_text("sst_")
    page.reload()
    expect(page.locator("#new-token-value")).to_have_count(0)
    expect(page.get_by_role("cell", name="nightly batch")).to_be_visible()
