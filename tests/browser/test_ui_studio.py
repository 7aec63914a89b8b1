"""The Studio in headless Chromium: create, live cost, frames, live cards, phones."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from generations import services
from generations.models import GenerationTask, State
from tests.browser.conftest import log_in
from tests.factories import attach_video, make_finished_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_submits_a_text_to_video_job_and_shows_its_card(
    page: Page, live_server: Any, alice: Any
) -> None:
    log_in(page, live_server)
    expect(page.locator(".empty-state")).to_be_visible()
    page.get_by_label("Prompt").fill("A paper boat drifting down a rainy street")
    page.locator("label[for=id_aspect_ratio_1]").click()  # 16:9
    page.get_by_role("button", name="Generate").click()
    card = page.locator("#task-cards > .task-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("A paper boat drifting down a rainy street")
    expect(card).to_contain_text("Queued")
    expect(card).to_contain_text("16:9")
    expect(page.get_by_label("Prompt")).to_have_value("")
    expect(page.locator("#credit-balance strong")).to_have_text("968")
    expect(page.locator(".empty-state")).to_be_hidden()
    expect(page).to_have_title("(1 running) Seedance Studio")
    expect(page.locator("#task-live")).to_have_attribute("hx-trigger", "every 2s")
    task = GenerationTask.objects.get()
    assert task.aspect_ratio == "16:9"
    assert task.owner == alice


def test_it_shows_field_errors_without_spending(
    page: Page, live_server: Any, alice: Any
) -> None:
    log_in(page, live_server)
    page.locator("label[for=id_mode_1]").click()  # image to video, no frame
    page.get_by_label("Prompt").fill("A cat")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator(".field-error")).to_contain_text("needs a start frame")
    expect(page.locator("#credit-balance strong")).to_have_text("1000")
    assert not GenerationTask.objects.exists()


def test_it_updates_the_cost_as_parameters_change(
    page: Page, live_server: Any, alice: Any
) -> None:
    log_in(page, live_server)
    total = page.locator("#cost-total")
    after = page.locator("#cost-after")
    expect(total).to_have_text("32")  # 720p with sound, 8 s: 4 credits/s
    expect(after).to_have_text("968")
    page.locator("label[for=id_duration_2]").click()  # 12 s
    expect(total).to_have_text("48")
    page.locator("label[for=id_resolution_0]").click()  # 480p
    expect(total).to_have_text("24")
    page.locator("label[for=id_sound]").click()  # silent
    expect(total).to_have_text("12")
    expect(after).to_have_text("988")
    page.get_by_text("Batch variants").click()
    page.locator("label[for=id_extra_aspect_ratios_2]").click()  # also 9:16
    expect(total).to_have_text("24")
    expect(page.locator("#cost-variants")).to_have_text("for 2 videos")


def make_picture(path: Path, colour: tuple[int, int, int], fmt: str) -> Path:
    Image.new("RGB", (320, 180), colour).save(path, fmt)
    return path


def test_it_creates_an_image_to_video_task_from_two_uploads(
    page: Page, live_server: Any, alice: Any, tmp_path: Path
) -> None:
    start = make_picture(tmp_path / "start.jpg", (250, 120, 30), "JPEG")
    end = make_picture(tmp_path / "end.png", (30, 120, 250), "PNG")
    log_in(page, live_server)
    frames = page.locator("#frames")
    expect(frames).to_be_hidden()
    page.locator("label[for=id_mode_1]").click()
    expect(frames).to_be_visible()
    page.locator("#id_start_image").set_input_files(str(start))
    page.locator("#id_end_image").set_input_files(str(end))
    previews = page.locator(".frame-preview")
    expect(previews.nth(0)).to_be_visible()
    expect(previews.nth(0)).to_have_attribute("src", re.compile("^blob:"))
    expect(previews.nth(1)).to_be_visible()
    page.get_by_label("Prompt").fill("The sunset turns into a blue night")
    page.get_by_role("button", name="Generate").click()
    card = page.locator("#task-cards > .task-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Image → video")
    task = GenerationTask.objects.get()
    assert task.mode == "image-to-video"
    assert [image.position for image in task.images.order_by("position")] == [0, 1]


def test_it_updates_a_card_live_and_then_stops_polling(
    page: Page, live_server: Any, alice: Any
) -> None:
    params = services.GenerationParams(prompt="A lighthouse in a storm", duration=4)
    [task] = services.create_generations(owner=alice, variants=[params])
    ajax: list[str] = []
    page.on(
        "request",
        lambda r: ajax.append(r.url) if r.resource_type in {"xhr", "fetch"} else None,
    )
    log_in(page, live_server)
    card = page.locator(f"#task-{task.pk}")
    expect(card.locator(".state-badge")).to_have_text("Queued")
    expect(page).to_have_title("(1 running) Seedance Studio")

    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.GENERATING,
        submitted_at=timezone.now(),
        updated_at=timezone.now(),
    )
    expect(card.locator(".state-badge")).to_have_text("Generating", timeout=8000)
    expect(card.locator("progress")).to_be_visible()

    attach_video(task)
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.SUCCEEDED, finished_at=timezone.now(), updated_at=timezone.now()
    )
    expect(card.locator(".state-badge")).to_have_text("Done", timeout=8000)
    expect(card.locator(".card-thumb img")).to_be_visible()
    live = page.locator("#task-live")
    expect(live).to_have_attribute("data-running", "0")
    expect(live).not_to_have_attribute("hx-trigger", "every 2s")
    expect(page).to_have_title("Seedance Studio")
    # One request per tab, never one per card; and none once nothing is in flight.
    # (A finished task moves the balance: the form's cost line asks once.)
    polls_only = [url for url in ajax if not url.endswith("/tasks/cost/")]
    assert polls_only and all("/tasks/refresh/?since=" in url for url in polls_only)
    assert len(ajax) - len(polls_only) <= 1
    polls = len(ajax)
    # No element polls any more, and no request comes within two intervals
    # (one would end the wait, and the test, at once).
    expect(page.locator("[hx-trigger^=every]")).to_have_count(0)
    with pytest.raises(PlaywrightTimeoutError):
        page.wait_for_event(
            "request",
            lambda r: r.resource_type in {"xhr", "fetch"},
            timeout=4500,
        )
    assert len(ajax) == polls


def test_it_goes_to_login_when_the_session_ends_while_polling(
    page: Page, live_server: Any, alice: Any
) -> None:
    params = services.GenerationParams(prompt="Still running", duration=4)
    services.create_generations(owner=alice, variants=[params])
    log_in(page, live_server)
    page.context.clear_cookies()
    expect(page).to_have_url(re.compile(r"/login/\?next=%2F$"), timeout=8000)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_it_cancels_a_queued_task(page: Page, live_server: Any, alice: Any) -> None:
    params = services.GenerationParams(prompt="Cancel me please", duration=4)
    [task] = services.create_generations(owner=alice, variants=[params])
    log_in(page, live_server)
    card = page.locator(f"#task-{task.pk}")
    card.get_by_role("button", name="Cancel").click()
    expect(card.locator(".state-badge")).to_have_text("Cancelled")
    expect(page.locator("#credit-balance strong")).to_have_text("1000")


def test_it_previews_a_gallery_video_on_hover(
    page: Page, live_server: Any, alice: Any
) -> None:
    task = make_finished_task(alice, prompt="A fox in the snow")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/gallery/")
    tile = page.locator(".tile-link").first
    tile.hover()
    expect(tile.locator("video")).to_have_attribute(
        "src", f"/media/videos/{task.pk}.mp4"
    )
    tile.click()
    expect(page.locator("video.player")).to_be_visible()
    expect(page.locator("#prompt-text")).to_have_text("A fox in the snow")


@pytest.mark.parametrize("path", ["/", "/gallery/", "video", "/login/"])
def test_it_fits_a_phone_screen(
    page: Page, live_server: Any, alice: Any, path: str
) -> None:
    task = make_finished_task(alice, prompt="A very long prompt " * 20)
    services.create_generations(
        owner=alice,
        variants=[services.GenerationParams(prompt="Another " * 50, duration=12)],
    )
    GenerationTask.objects.filter(pk=task.pk).update(state=State.SUCCEEDED)
    page.set_viewport_size({"width": 375, "height": 812})
    if path != "/login/":
        log_in(page, live_server)
    url = f"/videos/{task.pk}/" if path == "video" else path
    page.goto(f"{live_server.url}{url}")
    expect(page.locator("main")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
