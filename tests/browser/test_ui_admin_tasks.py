"""The admin's task list in headless Chromium at 1440 px: no sideways scrolling."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from generations.models import GenerationTask, State

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_fits_the_task_list_in_1440_px(
    page: Page, live_server: Any, staff: Any, alice: Any
) -> None:
    for n in range(5):
        GenerationTask.objects.create(
            owner=alice,
            prompt="a lighthouse in a storm",
            cost=48,
            state=State.FAILED if n % 2 else State.WAITING,
            fail_code="SUBMISSION_UNCONFIRMED" if n % 2 else "",
            provider_task_id=f"task_{n:020d}",
            provider_state="queued",
            resolution="720p",
            duration=12,
            aspect_ratio="21:9",
            delivery="webhook",
            routing="official",
        )
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/generations/generationtask/")
    page.locator("#id_username").fill("sam")
    page.locator("#id_password").fill("sam-password")
    page.locator("input[type=submit]").click()
    expect(page.locator("#result_list")).to_be_visible()
    expect(page.locator("#site-name")).to_have_text("Seedance Studio administration")
    expect(page.get_by_text("provider says: queued").first).to_be_visible()
    # The admin scrolls a too-wide table inside its own box (div.results).
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth,"
        " document.documentElement.clientWidth,"
        " document.querySelector('.results').scrollWidth,"
        " document.querySelector('.results').clientWidth]"
    )
    assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
