"""Live cards: one refresh request per interval however many cards; retry."""

from __future__ import annotations

import datetime as dt
import re
import time
from itertools import pairwise
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from generations import credits, services
from generations.models import GenerationTask, State
from tests.browser.conftest import log_in
from tests.factories import queue_short

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_sends_one_refresh_per_interval_for_many_cards(
    page: Page, live_server: Any, alice: Any
) -> None:
    prompts = [f"Card number {i}: a lantern swaying in the wind" for i in range(8)]
    tasks = services.create_generations(
        owner=alice,
        variants=[services.GenerationParams(prompt=p, duration=4) for p in prompts],
    )
    refreshes: list[float] = []  # when each refresh request left
    page.on(
        "request",
        lambda r: (
            refreshes.append(time.monotonic()) if "/tasks/refresh/" in r.url else None
        ),
    )
    log_in(page, live_server)
    expect(page.locator("#task-cards > .task-card")).to_have_count(8)
    # Every card changes while we watch.
    GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).update(
        state=State.WAITING, submitted_at=timezone.now(), updated_at=timezone.now()
    )
    for task in tasks:
        expect(page.locator(f"#task-{task.pk} .state-badge")).to_have_text(
            "Waiting at provider", timeout=8000
        )
    before = len(refreshes)
    for _ in range(3):  # the next three refreshes, about one per 2-second interval
        page.wait_for_event(
            "request", lambda r: "/tasks/refresh/" in r.url, timeout=8000
        )
    during = refreshes[before:]
    # One request per interval for the whole list, not one per card (8 cards
    # would send several at once): consecutive refreshes lie an interval apart.
    gaps = [later - earlier for earlier, later in pairwise(during)]
    assert len(during) >= 3, during
    assert all(gap > 1.0 for gap in gaps), gaps


def test_it_retries_a_failed_task_from_its_card(
    page: Page, live_server: Any, alice: Any
) -> None:
    params = services.GenerationParams(prompt="A paper crane unfolding", duration=4)
    [task] = services.create_generations(owner=alice, variants=[params])
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.FAILED, fail_code="GENERATION_FAILED", finished_at=timezone.now()
    )
    credits.release_for_task(task.pk)
    log_in(page, live_server)
    card = page.locator(f"#task-{task.pk}")
    expect(card).to_contain_text("failed to generate")
    card.get_by_role("button", name="Retry").click()
    cards = page.locator("#task-cards > .task-card")
    expect(cards).to_have_count(2)
    expect(cards.first.locator(".state-badge")).to_have_text("Queued")
    expect(cards.first).to_contain_text("A paper crane unfolding")
    retry = GenerationTask.objects.exclude(pk=task.pk).get()
    assert retry.retry_of_id == task.pk
    expect(page.locator("#credit-balance strong")).to_have_text(str(1000 - retry.cost))


def test_a_card_finishes_on_the_page_however_late_its_change_was_committed(
    page: Page, live_server: Any, alice: Any
) -> None:
    task = queue_short(
        alice,
        "A kite over the dunes",
        state=State.DOWNLOADING,
        submitted_at=timezone.now(),
    )
    log_in(page, live_server)
    card = page.locator(f"#task-{task.pk}")
    expect(card).to_have_attribute("data-state", "downloading")
    watches: list[str] = []
    page.on(
        "request",
        lambda r: watches.append(r.url) if "/tasks/refresh/" in r.url else None,
    )
    # Committed with a stamp older than any poll's window (a slow worker).
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.FAILED,
        fail_code="GENERATION_FAILED",
        finished_at=timezone.now(),
        updated_at=timezone.now() - dt.timedelta(minutes=10),
    )
    credits.release_for_task(task.pk)
    expect(card).to_have_attribute("data-state", "failed", timeout=8000)
    expect(page.locator("#credit-balance strong")).to_have_text("1000")
    assert any(f"watch={task.pk}.downloading" in url for url in watches), watches
    # Nothing left in flight on the page: the polling stops.
    expect(page.locator("#task-live")).not_to_have_attribute("hx-get", re.compile("."))
