"""Every page under the enforced CSP in headless Chromium: no violation reported
in the console, htmx still swaps (its script carries the nonce)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from generations import sharing
from tests.browser.conftest import log_in
from tests.factories import make_finished_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _provider(monkeypatch: pytest.MonkeyPatch) -> None:
    class Balance:
        def get_balance(self) -> float:
            return 12.5

    monkeypatch.setattr("generations.pipeline.common.get_client", Balance)


def png_file(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "frame.png"
    out = io.BytesIO()
    Image.new("RGB", (160, 90), (200, 120, 40)).save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def test_it_renders_every_member_page_without_a_violation(
    page: Page, live_server: Any, alice: Any, violations: list[str], tmp_path: Path
) -> None:
    task = make_finished_task(alice, prompt="a glass of water catching sunlight")
    collection = sharing.create_collection(owner=alice, title="Light studies")
    sharing.add_to_collection(owner=alice, collection=collection, videos=[task.video])
    log_in(page, live_server, "alice")
    for path in (
        "/",
        "/gallery/",
        f"/videos/{task.pk}/",
        "/collections/",
        f"/collections/{collection.pk}/",
        "/links/",
        "/credits/",
        "/no-such-page/",
    ):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
    # htmx runs under the policy: submitting adds a card without a reload.
    page.goto(live_server.url + "/")
    page.locator("label[for=id_mode_1]").click()  # image to video
    page.locator("input[name=start_image]").set_input_files(png_file(tmp_path))
    expect(page.locator(".frame-preview").first).to_be_visible()
    page.locator("label[for=id_mode_0]").click()  # back to text to video
    page.get_by_label("Prompt").fill("A kite over a windy beach, slow pan")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#task-cards > .task-card").first).to_contain_text("kite")
    assert violations == []


def test_it_renders_public_and_staff_pages_without_a_violation(
    page: Page, live_server: Any, alice: Any, staff: Any, violations: list[str]
) -> None:
    task = make_finished_task(alice, prompt="rain on a tin roof")
    new = sharing.create_link(owner=alice, video=task.video, show_prompt=True)
    page.goto(f"{live_server.url}/s/{new.token}/")
    expect(page.locator("video")).to_be_visible()
    page.goto(f"{live_server.url}/login/")
    log_in(page, live_server, "sam")
    for path in ("/staff/overview/", "/admin/", "/admin/generations/generationtask/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
    page.goto(f"{live_server.url}/admin/generations/generationtask/{task.pk}/change/")
    page.wait_for_load_state("load")
    assert violations == []


def test_it_takes_a_linked_frame_without_a_violation(
    page: Page, live_server: Any, alice: Any, violations: list[str]
) -> None:
    log_in(page, live_server, "alice")
    page.locator("label[for=id_mode_1]").click()
    field = page.locator("input[name=start_image_url]")
    field.fill("https://example.com/frame.png")
    field.dispatch_event("input")
    field.dispatch_event("change")
    # The handlers ran during the dispatch; a blocked image load is what would
    # report a violation, so wait until no image is still loading.
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
    preview = page.locator(".frame-slot").filter(has=field).locator(".frame-preview")
    expect(preview).to_be_hidden()
    assert preview.get_attribute("src") is None
    assert violations == []
