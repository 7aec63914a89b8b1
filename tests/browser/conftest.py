"""What browser tests share: logging in through the real form, overview data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Dialog, Locator, Page, expect

from generations import overview
from generations.models import GenerationTask, State


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


@pytest.fixture
def provider_balance(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider's balance as the scheduled worker job would have cached it."""

    class Balance:
        def get_balance(self) -> float:
            return 74.87

    monkeypatch.setattr("generations.pipeline.common.get_client", Balance)
    overview.refresh_provider_balance()  # what the scheduled worker job does


def seed_overview(owner: Any) -> GenerationTask:
    now = timezone.now()
    for days in (0, 0, 1, 3):
        GenerationTask.objects.create(
            owner=owner,
            prompt="a fox in the snow",
            cost=16,
            state=State.SUCCEEDED,
            created_at=now - dt.timedelta(days=days),
        )
    GenerationTask.objects.create(
        owner=owner,
        prompt="a fox in the rain",
        cost=16,
        state=State.FAILED,
        fail_code="GENERATION_FAILED",
        created_at=now,
    )
    return GenerationTask.objects.create(
        owner=owner,
        prompt="a fox at night",
        cost=16,
        state=State.UNKNOWN,
        created_at=now - dt.timedelta(minutes=30),
        state_changed_at=now - dt.timedelta(minutes=30),
        last_error="read timed out",
    )


@pytest.fixture
def violations(page: Page) -> Iterator[list[str]]:
    """CSP violations and page errors seen while the test runs."""
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: found.append(f"{page.url}: {error}"))
    yield found


# axe-core findings that fail a test.
BLOCKING = {"serious", "critical"}


def describe(path: str, response: dict[str, Any]) -> list[str]:
    """axe-core's serious and critical findings on ``path``, one line each."""
    return [
        f"{path}: {v['id']} ({v['impact']}) at "
        + ", ".join(
            f"{n['target']} {n['failureSummary'][-160:-60]!r}" for n in v["nodes"][:3]
        )
        for v in response["violations"]
        if v.get("impact") in BLOCKING
    ]


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until ``target`` has the keyboard focus (as a keyboard user)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("node => node === document.activeElement"):
            return
    raise AssertionError(f"never reached by Tab: {target}")


def answer_next_dialog(page: Page, *, accept: bool) -> list[str]:
    """Answer the page's next dialog (a confirmation); the list gets its question."""
    asked: list[str] = []

    def reply(dialog: Dialog) -> None:
        asked.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", reply)
    return asked
