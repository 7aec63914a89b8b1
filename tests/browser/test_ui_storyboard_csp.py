"""The storyboard pages under the enforced CSP: no violation, and the preview and
reorder scripts run (external file, no inline code)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from generations.models import Shot
from tests.browser.conftest import log_in
from tests.storyboard_helpers import board_with_takes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_renders_the_storyboard_pages_without_a_violation(
    page: Page,
    live_server: Any,
    alice: Any,
    violations: list[str],
) -> None:
    board = board_with_takes(alice, takes=[(4, True), (4, True), (4, False)])
    take = Shot.objects.get(board=board, position=1).chosen_take
    assert take is not None
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/storyboards/")
    expect(page.get_by_role("link", name="Test film")).to_be_visible()
    page.goto(f"{live_server.url}/storyboards/{board.pk}/")
    expect(page.locator(".shot")).to_have_count(3)
    # The preview plays the chosen takes one after the other.
    player = page.locator("video[data-sequence]")
    player.evaluate(
        "v => { v.muted = true; v.currentTime = v.duration - 0.2; v.play(); }"
    )
    expect(player).to_have_attribute("data-index", "1", timeout=15_000)
    # Keyboard order: move shot 3 up with its button.
    page.get_by_role("button", name="Move shot 3 up").click()
    expect(page.locator(".shot h3").nth(1)).to_contain_text("Shot 2")
    assert list(
        Shot.objects.filter(board=board)
        .order_by("position")
        .values_list("prompt", flat=True)
    ) == ["shot 0", "shot 2", "shot 1"]
    # Use this frame: the form carries the player's time.
    page.goto(f"{live_server.url}/videos/{take.pk}/")
    page.locator(".player-wrap video").evaluate("v => { v.currentTime = 2; }")
    page.get_by_role("button", name="Use this frame").click()
    expect(page.locator("#create-form")).to_be_visible()
    expect(page.locator(".frame-preview").first).to_be_visible()
    assert violations == []
