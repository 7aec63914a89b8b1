"""A 3-shot storyboard end to end on real processes (web, workers, dispatcher,
simulator) in headless Chromium: shots 2 and 3 continue, Generate all, the shots
chain by themselves, Make the film, and the film plays and seeks with the
duration of its takes (minus the crossfade's overlap)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from generations.models import Film, GenerationTask, Shot, State
from tests.browser.test_e2e_real_processes import seek_and_check
from tests.processes import Stack

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "bypass_csp": True}


def test_it_makes_a_film_of_a_three_shot_board(
    page: Page, stack: Stack, alice: Any
) -> None:
    stack.start_simulator()
    stack.start_workers()
    stack.start_dispatcher()
    stack.start_web()
    page.goto(f"{stack.web_url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password")
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Storyboards").click()
    page.get_by_label("Title").fill("Fox at dawn")
    page.locator("#board-resolution").select_option("480p")
    page.get_by_role("button", name="Create storyboard").click()
    prompts = [
        ("A red fox trots through fresh snow at dawn", "text"),
        ("The fox breaks into a run across the field", "continue"),
        ("The fox leaps over a frozen stream", "continue"),
    ]
    for prompt, start in prompts:
        page.locator("#shot-prompt").fill(prompt)
        page.locator("#shot-duration").select_option("4")
        page.locator(f"input[name=start][value={start}]").check()
        page.get_by_test_id("add-shot").click()
    shots = page.locator(".shot")
    expect(shots).to_have_count(3)
    # The third shot enters with a 0.5 s crossfade.
    third = shots.nth(2)
    third.locator("select[name=cut]").select_option("crossfade")
    third.locator("input[name=crossfade_seconds]").fill("0.5")
    third.get_by_role("button", name="Save").click()
    expect(page.locator(".board-summary")).to_contain_text("Estimate:")

    page.get_by_test_id("generate-all").click()
    states = page.get_by_test_id("shot-state")
    for i in range(3):
        expect(states.nth(i)).to_have_text("Done", timeout=120_000)
    takes = [
        Shot.objects.select_related("chosen_take").get(position=n).chosen_take
        for n in (1, 2, 3)
    ]
    assert all(t is not None and t.state == State.SUCCEEDED for t in takes)
    for before, after in zip(takes, takes[1:], strict=False):
        assert before is not None and after is not None
        assert after.submitted_at > before.finished_at  # type: ignore[operator]

    page.get_by_test_id("make-film").click()
    link = page.get_by_test_id("film-link")
    expect(link).to_be_visible(timeout=120_000)
    if os.environ.get("STORYBOARD_SCREENSHOT"):  # the README's picture
        page.set_viewport_size({"width": 1280, "height": 1100})
        page.screenshot(path=os.environ["STORYBOARD_SCREENSHOT"], full_page=True)
    film = Film.objects.get()
    assert film.state == Film.State.SUCCEEDED and film.stream_copy is False
    link.click()
    seek_and_check(page)
    duration = page.locator("video").first.evaluate("v => v.duration")
    expected = sum(t.video.duration_seconds for t in takes if t) - 0.5
    assert abs(duration - expected) <= 2 / 24 + 0.05, (duration, expected)
    assert GenerationTask.objects.filter(kind="film").count() == 1
