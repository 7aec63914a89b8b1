"""The gallery, presets, remix, notifications and frame warnings in Chromium."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from generations import services
from generations.models import Favourite, GenerationTask, Preset, State
from tests.browser.conftest import answer_next_dialog, log_in
from tests.factories import attach_video, make_finished_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_filters_searches_and_stars_in_the_gallery(
    page: Page, live_server: Any, alice: Any, bob: Any
) -> None:
    storm = make_finished_task(alice, prompt="A lighthouse in a storm")
    fox = make_finished_task(bob, prompt="A fox in the snow", aspect_ratio="9:16")
    owl = make_finished_task(bob, prompt="An owl at night", aspect_ratio="9:16")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/gallery/")
    tiles = page.locator("#gallery-grid .tile")
    expect(tiles).to_have_count(3)

    page.get_by_label("Search prompts").fill("lighthouse")
    expect(tiles).to_have_count(1)
    expect(page.locator(f"#tile-{storm.pk}")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/gallery/\?q=lighthouse$"))

    page.get_by_label("Search prompts").fill("")
    page.get_by_label("Aspect ratio").select_option("9:16")
    expect(tiles).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/gallery/\?aspect_ratio=9%3A16$"))

    star = page.locator(f"#star-{fox.pk} button")
    star.focus()  # keyboard: the star shows on focus and toggles with Enter
    page.keyboard.press("Enter")
    expect(page.locator(f"#star-{fox.pk} button")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert Favourite.objects.filter(user=alice, task=fox).exists()

    page.locator("label[for=id_favourites]").click()
    expect(tiles).to_have_count(1)
    expect(page.locator(f"#tile-{fox.pk}")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?favourites=1&aspect_ratio=9%3A16$"))

    page.get_by_role("link", name="Clear filters").first.click()
    expect(tiles).to_have_count(3)
    expect(page.get_by_label("Aspect ratio")).to_have_value("")
    expect(page.locator(f"#tile-{owl.pk}")).to_be_visible()


def test_it_shows_an_empty_state_for_a_search_without_results(
    page: Page, live_server: Any, alice: Any
) -> None:
    make_finished_task(alice, prompt="A lighthouse in a storm")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/gallery/?q=walrus")
    expect(
        page.get_by_role("heading", name="No videos match these filters")
    ).to_be_visible()
    expect(page.get_by_label("Search prompts")).to_have_value("walrus")


def test_it_downloads_the_selected_videos_as_a_zip(
    page: Page, live_server: Any, alice: Any, bob: Any
) -> None:
    first = make_finished_task(alice, prompt="First video")
    make_finished_task(bob, prompt="Not selected")
    third = make_finished_task(bob, prompt="Third video")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/gallery/")
    bar = page.locator("#bulk-form")
    expect(bar).to_be_hidden()
    # Select with the keyboard: tab to a tile's checkbox and press Space.
    page.locator(f"#pick-{first.pk}").focus()
    page.keyboard.press("Space")
    page.locator(f"#pick-{third.pk}").focus()
    page.keyboard.press("Space")
    expect(bar).to_be_visible()
    expect(page.locator("#selection-count")).to_have_text("2")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download zip").click()
    download = download_info.value
    assert re.fullmatch(
        r"seedance-2-videos-\d{8}-\d{4}\.zip", download.suggested_filename
    )
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    assert archive.namelist() == [
        f"{third.pk}-third-video.mp4",
        f"{first.pk}-first-video.mp4",
    ]
    expect(page).to_have_url(f"{live_server.url}/gallery/")  # the page stays
    page.get_by_role("button", name="Clear selection").click()
    expect(bar).to_be_hidden()


def test_it_hides_own_videos_in_bulk(
    page: Page, live_server: Any, alice: Any, bob: Any
) -> None:
    mine = make_finished_task(alice, prompt="Mine")
    theirs = make_finished_task(bob, prompt="Theirs")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/gallery/")
    page.get_by_role("button", name="Select all shown").click()
    expect(page.locator("#selection-count")).to_have_text("2")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Hide mine").click()
    expect(page.locator(f"#tile-{mine.pk}")).to_have_count(0)
    expect(page.locator(f"#tile-{theirs.pk}")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("Hid 1 video")
    expect(page.locator("#selection-count")).to_have_text("1")
    assert GenerationTask.objects.get(pk=mine.pk).hidden


def test_it_saves_applies_and_deletes_a_preset(
    page: Page, live_server: Any, alice: Any
) -> None:
    log_in(page, live_server)
    page.locator("label[for=id_aspect_ratio_2]").click()  # 9:16
    page.locator("label[for=id_resolution_0]").click()  # 480p
    page.locator("label[for=id_duration_0]").click()  # 4 s
    page.get_by_text("Save as preset").click()
    page.get_by_label("Preset name").fill("Vertical teaser")
    page.get_by_label("Preset name").press("Enter")
    expect(page.locator("#toasts")).to_contain_text(
        "Saved the preset “Vertical teaser”."
    )
    preset = Preset.objects.get(owner=alice)
    assert preset.params["aspect_ratio"] == "9:16"
    select = page.get_by_label("Preset", exact=True)
    expect(select).to_have_value(str(preset.pk))

    page.get_by_label("Prompt").fill("A draft that a preset must not touch")
    page.locator("label[for=id_aspect_ratio_1]").click()  # 16:9
    page.locator("label[for=id_resolution_1]").click()  # 720p
    expect(page.locator("#cost-total")).to_have_text("16")  # 720p, sound, 4 s
    select.select_option("")
    select.select_option(str(preset.pk))
    expect(page.locator("#id_aspect_ratio_2")).to_be_checked()
    expect(page.locator("#id_resolution_0")).to_be_checked()
    expect(page.locator("#id_duration_0")).to_be_checked()
    expect(page.locator("#cost-total")).to_have_text("8")  # 480p, sound, 4 s
    expect(page.get_by_label("Prompt")).to_have_value(
        "A draft that a preset must not touch"
    )

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete the chosen preset").click()
    expect(page.locator("#toasts")).to_contain_text("Deleted the preset")
    expect(select.locator("option")).to_have_count(1)
    assert not Preset.objects.exists()


def test_it_opens_a_remix_in_a_new_tab_when_the_form_holds_a_draft(
    page: Page, live_server: Any, alice: Any
) -> None:
    task = make_finished_task(alice, prompt="A lighthouse in a storm")
    log_in(page, live_server)
    page.get_by_label("Prompt").fill("My half-written idea")
    remix = page.locator(f"#task-{task.pk}").get_by_role("link", name="Remix")
    with page.context.expect_page() as new_tab:
        remix.click()
    remixed = new_tab.value
    expect(remixed.get_by_label("Prompt")).to_have_value("A lighthouse in a storm")
    expect(page.get_by_label("Prompt")).to_have_value("My half-written idea")
    expect(page.locator("#toasts")).to_contain_text("Opened in a new tab")
    remixed.close()

    page.get_by_label("Prompt").fill("")
    remix.click()  # nothing typed: the remix opens right here
    expect(page).to_have_url(re.compile(r"/\?mode=text-to-video&prompt=A\+lighthouse"))
    expect(page.get_by_label("Prompt")).to_have_value("A lighthouse in a storm")


# Records notifications instead of showing them, and pretends the tab is in the
# background (a visible, focused tab is not notified: the card says it all).
NOTIFICATION_STUB = """
window.Notification = function (title, options) {
  document.documentElement.dataset.notified = title + " | " + (options.body || "");
};
window.Notification.permission = "default";
window.Notification.requestPermission = function () {
  window.Notification.permission = "granted";
  return Promise.resolve("granted");
};
Object.defineProperty(document, "hidden", { get: function () { return true; } });
document.hasFocus = function () { return false; };
"""


def test_it_sends_a_desktop_notification_when_a_video_is_ready(
    page: Page, live_server: Any, alice: Any
) -> None:
    params = services.GenerationParams(prompt="A paper boat", duration=4)
    [task] = services.create_generations(owner=alice, variants=[params])
    page.add_init_script(NOTIFICATION_STUB)
    log_in(page, live_server)
    button = page.get_by_role("button", name="Notify me when done")
    expect(button).to_be_visible()
    button.click()
    expect(button).to_be_hidden()
    attach_video(task)
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.SUCCEEDED, finished_at=timezone.now(), updated_at=timezone.now()
    )
    expect(page.locator(f"#task-{task.pk} .state-badge")).to_have_text(
        "Done", timeout=8000
    )
    expect(page.locator("html")).to_have_attribute(
        "data-notified", "Your video is ready | A paper boat"
    )


def test_it_warns_when_a_frame_does_not_match_the_aspect_ratio(
    page: Page, live_server: Any, alice: Any, tmp_path: Path
) -> None:
    picture = tmp_path / "wide.png"
    Image.new("RGB", (320, 180), (30, 120, 250)).save(picture, "PNG")
    log_in(page, live_server)
    page.locator("label[for=id_mode_1]").click()  # image to video; 1:1 chosen
    page.locator("#id_start_image").set_input_files(str(picture))
    warning = page.locator(".frame-slot[data-slot=start] [data-frame-warning]")
    expect(warning).to_have_text(
        "This image is 16:9 (320×180) but the video is 1:1: it will be cropped to "
        "fit. Choose the 16:9 shape to keep all of it."
    )
    page.locator("label[for=id_aspect_ratio_1]").click()  # 16:9
    expect(warning).to_be_hidden()
    page.locator("label[for=id_aspect_ratio_2]").click()  # 9:16
    expect(warning).to_contain_text("but the video is 9:16")


def test_it_makes_a_video_private_after_asking_and_back(
    page: Page, live_server: Any, alice: Any, violations: list[str]
) -> None:
    task = make_finished_task(alice, prompt="A lighthouse in a storm")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/videos/{task.pk}/")
    section = page.locator("#privacy")
    expect(section).to_contain_text("Your team sees it in the gallery.")
    questions = answer_next_dialog(page, accept=False)
    section.get_by_role("button", name="Make private").click()
    page.wait_for_load_state()
    assert questions and "your own links keep working" in questions[0]
    assert not GenerationTask.objects.get(pk=task.pk).is_private

    page.once("dialog", lambda dialog: dialog.accept())
    section.get_by_role("button", name="Make private").click()
    expect(page.locator("#toasts")).to_contain_text("teammates no longer see")
    expect(section).to_contain_text("Private: only you see it.")
    assert GenerationTask.objects.get(pk=task.pk).is_private
    page.set_viewport_size({"width": 390, "height": 844})
    section.get_by_role("button", name="Show to the team").focus()
    page.keyboard.press("Enter")  # making it the team's again asks nothing
    expect(page.locator("#toasts")).to_contain_text("Your team sees this video again.")
    assert not GenerationTask.objects.get(pk=task.pk).is_private
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390
    assert violations == []
