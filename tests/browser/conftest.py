"""What every browser test shares: logging a member in through the real form."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect


def log_in(
    page: Page,
    server: Any,
    username: str = "alice",
    password: str | None = None,
) -> None:
    """Log in through /login/ on ``server`` (a live server or a base URL).

    The cast's passwords are ``<username>-password``. Returns once the landing
    page has loaded with the member's top bar (shown only when logged in).
    """
    base_url = server if isinstance(server, str) else server.url
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or f"{username}-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".topbar")).to_be_visible()
    page.wait_for_load_state("load")
