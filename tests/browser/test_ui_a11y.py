"""Every page through axe-core (desktop and phone, light and dark), with no
console errors along the way; and the create flow by keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from generations import credits, sharing
from generations.models import GenerationTask
from tests.browser.conftest import describe, log_in, tab_to
from tests.factories import make_finished_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def every_page(staff: Any) -> list[str]:
    """One address of each page kind, with something on it."""
    credits.grant(user=staff, amount=500, reason="test")
    task = make_finished_task(staff, prompt="A lighthouse in a storm")
    collection = sharing.create_collection(owner=staff, title="Storm reel")
    sharing.add_to_collection(owner=staff, collection=collection, videos=[task.video])
    video_token = sharing.create_link(owner=staff, video=task.video).token
    reel_token = sharing.create_link(owner=staff, collection=collection).token
    return [
        "/",
        "/gallery/",
        f"/videos/{task.pk}/",
        "/collections/",
        f"/collections/{collection.pk}/",
        "/links/",
        "/credits/",
        "/staff/overview/",
        f"/s/{video_token}/",
        f"/s/{reel_token}/",
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_it_has_no_serious_accessibility_violation_nor_console_error(
    browser: Browser, live_server: Any, staff: Any, size: str, scheme: str
) -> None:
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        color_scheme=scheme,  # type: ignore[arg-type]
        is_mobile=size == "phone",
        has_touch=size == "phone",
        reduced_motion="reduce",  # colours at rest, not mid-transition
        bypass_csp=True,  # axe is injected as a script; the pages' CSP stays on
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    found: list[str] = []
    axe = Axe()
    login_results = axe.run(page.goto(f"{live_server.url}/login/") and page)
    found += describe("/login/", login_results.response)
    log_in(page, live_server, "sam")
    for path in every_page(staff):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("main")).to_be_visible()
        found += describe(path, axe.run(page).response)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{path} scrolls sideways ({scroll_width}px)"
    context.close()
    assert found == [], "\n".join(found)
    assert errors == []


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "bypass_csp": True}


def test_it_creates_a_video_with_the_keyboard_alone(
    page: Page, live_server: Any, alice: Any
) -> None:
    log_in(page, live_server, "alice")
    page.locator("body").focus()
    tab_to(page, page.locator("#id_mode_0"))
    page.keyboard.press("ArrowRight")
    expect(page.locator("#id_mode_1")).to_be_checked()
    expect(page.locator("#frames")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#id_mode_0")).to_be_checked()
    tab_to(page, page.get_by_label("Prompt"))
    page.keyboard.type("A paper boat drifting down a rainy street")
    tab_to(page, page.locator("#id_aspect_ratio_0"))
    page.keyboard.press("ArrowRight")
    expect(page.locator("#id_aspect_ratio_1")).to_be_checked()
    tab_to(page, page.locator("#id_sound"))
    page.keyboard.press("Space")
    expect(page.locator("#cost-total")).to_have_text("16")  # 720p silent, 8 s
    tab_to(page, page.get_by_role("button", name="Generate"))
    page.keyboard.press("Enter")
    expect(page.locator("#task-cards > .task-card")).to_have_count(1)
    task = GenerationTask.objects.get()
    assert (task.aspect_ratio, task.sound) == ("16:9", False)
