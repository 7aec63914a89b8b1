"""The staff pages in Russian hold their layout: desktop and phone, light and dark."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from tests.browser.conftest import seed_overview as seed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("provider_balance"),
]

OVERFLOW = """() => [...document.querySelectorAll('main *')].filter(el => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && (box.right > window.innerWidth + 1 || box.left < -1)
        && !el.closest('.table-scroll') && !(el.closest('svg') && el.tagName !== 'svg');
}).map(el => el.tagName + '.' + el.className + ': ' + el.textContent.slice(0, 40))"""


def log_in(page: Page, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    page.set_extra_http_headers({"Accept-Language": "ru"})


@pytest.mark.parametrize("width", [1440, 390])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_it_holds_the_overview_in_russian(
    page: Page, live_server: Any, staff: Any, alice: Any, width: int, scheme: str
) -> None:
    seed(alice)
    log_in(page, live_server, staff)
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]

    page.goto(f"{live_server.url}/staff/overview/")

    expect(page.get_by_role("heading", name="Обзор")).to_be_visible()
    expect(page.locator("#attention")).to_contain_text("Исход неизвестен")
    bar = page.locator("#chart-tasks rect.state-succeeded").first
    assert bar.bounding_box()["height"] > 0  # type: ignore[index]
    page.screenshot(path=f"/tmp/staff-ru-overview-{width}-{scheme}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate(OVERFLOW) == []
