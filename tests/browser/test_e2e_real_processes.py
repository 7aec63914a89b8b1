"""The whole product path against real processes: web (runserver), workers
(qcluster), dispatcher and simulator over HTTP, driven in headless Chromium.

Log in, submit a text-to-video and an image-to-video job (two uploaded frames),
watch both cards move through their states without reloading, then play both
videos from the gallery and seek in them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from PIL import Image
from playwright.sync_api import Page, Request, expect

from generations.models import GenerationTask, State
from tests.browser.conftest import log_in
from tests.processes import Stack

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # Lets the test read the player's state (page.evaluate) whatever the CSP.
    return {**browser_context_args, "bypass_csp": True}


def frame(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (640, 360), colour).save(path)
    return path


def seek_and_check(page: Page) -> None:
    video = page.locator("video").first
    expect(video).to_be_visible()
    element = video.element_handle()
    page.wait_for_function(
        "v => v.readyState >= 1", arg=element, polling=100, timeout=30_000
    )
    assert video.evaluate("v => v.error === null")
    duration = video.evaluate("v => v.duration")
    assert duration > 3
    video.evaluate("v => { v.muted = true; v.currentTime = v.duration - 1.5; }")
    page.wait_for_function(
        "v => !v.seeking && v.currentTime > v.duration - 2",
        arg=element,
        polling=100,
        timeout=30_000,
    )
    assert video.evaluate("v => v.currentTime") > duration - 2
    assert video.evaluate("v => v.error === null")


def test_it_generates_and_plays_videos_end_to_end(
    page: Page, stack: Stack, alice: Any, tmp_path: Path
) -> None:
    stack.start_simulator()
    stack.start_workers()
    if connection.vendor == "postgresql":
        stack.start_workers("worker2")  # scale-out: two clusters share the broker
    stack.start_dispatcher()
    stack.start_web()
    documents: list[str] = []

    def note(request: Request) -> None:
        if request.resource_type == "document":
            documents.append(request.url)

    page.on("request", note)
    log_in(page, stack.web_url)
    expect(page.locator("#create-form")).to_be_visible()
    loaded = len(documents)

    # Text to video.
    page.get_by_label("Prompt").fill(
        "Waves rolling onto a beach at dawn, slow dolly in"
    )
    page.locator("label[for=id_resolution_0]").click()  # 480p
    page.locator("label[for=id_duration_0]").click()  # 4 s
    page.get_by_role("button", name="Generate").click()
    cards = page.locator("#task-cards > .task-card")
    expect(cards).to_have_count(1)

    # Image to video with a start and an end frame, uploaded.
    page.locator("label[for=id_mode_1]").click()
    page.locator("#id_start_image").set_input_files(
        str(frame(tmp_path / "a.png", (220, 40, 40)))
    )
    page.locator("#id_end_image").set_input_files(
        str(frame(tmp_path / "b.png", (40, 40, 220)))
    )
    page.get_by_label("Prompt").fill("The red dawn fades into a deep blue night")
    page.get_by_role("button", name="Generate").click()
    expect(cards).to_have_count(2)

    # Both cards reach Done with no reload.
    for i in range(2):
        expect(cards.nth(i).locator(".state-badge")).to_have_text(
            "Done", timeout=90_000
        )
    assert len(documents) == loaded, documents[loaded:]
    for task in GenerationTask.objects.all():
        assert task.state == State.SUCCEEDED, (task.pk, task.last_error)
        passed = list(task.transitions.values_list("to_state", flat=True))
        assert passed[:3] == ["queued", "submitting", "waiting"], passed
        assert passed[-2:] == ["downloading", "succeeded"], passed
    i2v = GenerationTask.objects.get(mode="image-to-video")
    assert all("/i/" in url for url in i2v.image_urls)  # signed URLs of our own

    # Play and seek both from the gallery.
    page.goto(f"{stack.web_url}/gallery/")
    tiles = page.locator("a[href^='/videos/']")
    expect(tiles.first).to_be_visible()
    hrefs = sorted(
        set(tiles.evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    )
    assert len(hrefs) == 2
    for href in hrefs:
        page.goto(stack.web_url + href)
        seek_and_check(page)
