"""Sharing in headless Chromium: a shared collection played and seeked logged out,
and a link made from a video's page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from generations import media_store, sharing
from generations.models import GenerationTask, VideoAsset
from tests.browser.conftest import log_in
from tests.factories import make_finished_task, make_mp4, put_media

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # Lets the test read the player's state (evaluate) under the public pages' CSP.
    return {**browser_context_args, "bypass_csp": True}


def long_video(owner: Any, prompt: str, seconds: float = 4.0) -> GenerationTask:
    """A finished task whose MP4 lasts long enough to seek in."""
    task = make_finished_task(owner, prompt=prompt)
    path = media_store.scratch_dir() / f"long-{task.pk}.mp4"
    make_mp4(path, size=96, seconds=seconds)
    size = path.stat().st_size
    put_media(task.video.file.name, path)
    VideoAsset.objects.filter(pk=task.video.pk).update(
        size_bytes=size, duration_seconds=seconds
    )
    return task


def wait_for(page: Page, video: Any, script: str, timeout: float = 10_000) -> None:
    """Wait until ``script`` (a function of the element) returns true."""
    page.wait_for_function(
        script, arg=video.element_handle(), polling=100, timeout=timeout
    )


@pytest.mark.usefixtures("media_storage")
def test_it_plays_and_seeks_a_shared_collection_logged_out(
    page: Page, live_server: Any, alice: Any
) -> None:
    tasks = [long_video(alice, f"take {n}") for n in (1, 2)]
    collection = sharing.create_collection(owner=alice, title="Storm reel")
    sharing.add_to_collection(
        owner=alice, collection=collection, videos=[t.video for t in tasks]
    )
    token = sharing.create_link(owner=alice, collection=collection).token

    response = page.goto(f"{live_server.url}/s/{token}/")
    assert response and response.status == 200
    assert response.headers["x-robots-tag"] == "noindex"
    expect(page.get_by_role("heading", name="Storm reel")).to_be_visible()
    players = page.locator(".public-tile video")
    expect(players).to_have_count(2)
    expect(page.get_by_role("link", name="Download video 2")).to_be_visible()

    video = players.nth(1)
    video.evaluate("v => { v.muted = true; v.play(); }")
    wait_for(page, video, "v => v.readyState >= 2 && v.error === null")
    video.evaluate("v => { v.currentTime = 2.5; }")
    wait_for(page, video, "v => !v.seeking && v.currentTime >= 2.5")
    assert video.evaluate("v => v.error === null")
    assert video.evaluate("v => v.duration") > 3.5
    # The poster and the video came through token-scoped URLs only.
    assert re.fullmatch(
        rf"/s/{token}/p/[0-9a-f]{{20}}\.jpg", video.get_attribute("poster") or ""
    )


def test_it_creates_a_link_on_the_detail_page_and_opens_it(
    page: Page, live_server: Any, alice: Any
) -> None:
    task = long_video(alice, "A lighthouse in a storm", seconds=2.0)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/videos/{task.pk}/")
    page.get_by_label("Show the prompt").check()
    page.get_by_role("button", name="Create public link").click()
    url = page.locator("#new-link-url")
    expect(url).to_be_visible()
    expect(page.get_by_text("shown only this once")).to_be_visible()
    shared = url.inner_text()
    assert shared.startswith(settings.PUBLIC_BASE_URL + "/s/")

    page.context.clear_cookies()  # logged out from here on
    page.goto(live_server.url + shared.removeprefix(settings.PUBLIC_BASE_URL))
    expect(page.locator(".public-prompt")).to_contain_text("A lighthouse in a storm")
    expect(page.locator(".topbar")).to_have_count(0)
    video = page.locator(".public-player video")
    video.evaluate("v => { v.muted = true; v.play(); }")
    wait_for(page, video, "v => v.readyState >= 2 && v.error === null")
