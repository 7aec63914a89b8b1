"""The staff overview in headless Chromium: charts, attention list, live refresh."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from generations.models import GenerationTask, State
from tests.browser.conftest import log_in
from tests.browser.conftest import seed_overview as seed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("provider_balance"),
]


def test_it_shows_the_overview_to_staff(
    page: Page, live_server: Any, staff: Any, alice: Any
) -> None:
    unknown = seed(alice)
    log_in(page, live_server, "sam")
    page.get_by_role("link", name="Overview").click()

    expect(page).to_have_title("Overview · Seedance Studio")
    expect(page.locator("#kpi-created")).to_have_text("6")
    expect(page.locator("#kpi-success")).to_have_text("80%")
    expect(page.locator("#kpi-balance")).to_contain_text("$74.87")
    bars = page.locator("#chart-tasks rect.state-succeeded")
    expect(bars).to_have_count(3)  # three days with successes
    expect(page.locator("#chart-tasks rect.state-failed")).to_have_count(1)
    row = page.locator("#attention tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"#{unknown.pk}")
    expect(row).to_contain_text("Outcome unknown")
    expect(row).to_contain_text("read timed out")
    expect(page.locator("#failure-codes")).to_contain_text("GENERATION_FAILED")
    expect(page.locator("#overview-live")).to_have_attribute("hx-trigger", "every 10s")

    # The live fragment replaces itself with fresh numbers (the same request its
    # every-10-s trigger sends, made now rather than waited for).
    GenerationTask.objects.filter(pk=unknown.pk).update(state=State.FAILED)
    page.evaluate(
        "htmx.ajax('GET', '/staff/overview/', "
        "{target: '#overview-live', swap: 'outerHTML'})"
    )
    expect(page.locator(".ov-all-clear")).to_be_visible()
    expect(page.locator("#kpi-success")).to_have_text("66.7%")
    expect(page.locator("#overview-live")).to_have_attribute("hx-trigger", "every 10s")


def test_it_forbids_members(page: Page, live_server: Any, alice: Any) -> None:
    log_in(page, live_server, "alice")
    expect(page.get_by_role("link", name="Overview")).to_have_count(0)
    response = page.goto(f"{live_server.url}/staff/overview/")
    assert response is not None and response.status == 403
