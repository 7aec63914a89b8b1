"""The live cost on the create form, for every parameter combination, and a
refused submission for lack of credits that keeps the form filled in."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from generations import credits
from generations.models import GenerationTask, PriceRule
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_shows_the_right_cost_for_every_combination(
    page: Page, live_server: Any, alice: Any
) -> None:
    # Routing-specific prices, so that the routing choice matters too.
    PriceRule.objects.create(
        resolution="720p", sound=True, routing="official", credits_per_second=5
    )
    PriceRule.objects.create(
        resolution="480p", sound=False, routing="value", credits_per_second=3
    )
    log_in(page, live_server, "alice", "alice-password")
    page.get_by_text("Routing and delivery").click()
    total = page.locator("#cost-total")
    after = page.locator("#cost-after")
    sound_on = True  # the form's default
    combos = itertools.product(
        [(0, "480p"), (1, "720p")],
        [True, False],
        [(0, 4), (1, 8), (2, 12)],
        ["auto", "value", "official"],
    )
    checked = 0
    for (res_index, resolution), sound, (dur_index, duration), routing in combos:
        page.locator(f"label[for=id_resolution_{res_index}]").click()
        page.locator(f"label[for=id_duration_{dur_index}]").click()
        page.locator("#id_routing").select_option(routing)
        if sound != sound_on:
            page.locator("label[for=id_sound]").click()
            sound_on = sound
        expected = credits.cost_of(
            resolution=resolution, sound=sound, duration=duration, routing=routing
        )
        expect(total).to_have_text(str(expected))
        expect(after).to_have_text(str(1000 - expected))
        checked += 1
    assert checked == 36


def test_it_keeps_the_form_when_credits_are_short(
    page: Page, live_server: Any, django_user_model: Any
) -> None:
    member = django_user_model.objects.create_user("carol", password="carol-password")
    credits.grant(user=member, amount=10, reason="test")
    log_in(page, live_server, "carol", "carol-password")
    prompt = "A slow orbit around a glass sculpture, ocean waves in the background"
    page.get_by_label("Prompt").fill(prompt)
    page.locator("label[for=id_duration_2]").click()  # 12 s, 720p with sound: 48
    page.locator("label[for=id_aspect_ratio_2]").click()  # 9:16
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#create-form")).to_contain_text("48 credits")
    expect(page.get_by_label("Prompt")).to_have_value(prompt)
    expect(page.locator("#id_duration_2")).to_be_checked()
    expect(page.locator("#id_aspect_ratio_2")).to_be_checked()
    expect(page.locator("#credit-balance strong")).to_have_text("10")
    assert not GenerationTask.objects.exists()
