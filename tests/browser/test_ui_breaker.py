"""The breaker banner in headless Chromium: it appears while the provider is
down, nothing is submitted meanwhile, and it goes away by itself after recovery."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from generations.apixo.simulator.running import RunningSimulator
from generations.models import GenerationTask, ProviderBreaker, State
from generations.ops import breaker
from generations.pipeline import dispatch
from generations.pipeline.common import reset_client
from generations.templatetags import ops as ops_tags
from tests.browser.conftest import log_in
from tests.factories import queue_task
from tests.processes import free_port
from tests.sim import drive, run_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_shows_the_outage_banner_until_the_provider_is_back(
    page: Page,
    live_server: Any,
    sim: RunningSimulator,
    alice: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ops_tags, "REFRESH_SECONDS", 1)
    settings.BREAKER_FAILURE_THRESHOLD = 2
    settings.BREAKER_PROBE_SECONDS = 3600
    settings.APIXO_BASE_URL = f"http://127.0.0.1:{free_port()}"  # provider down
    reset_client()
    queue_task(alice)
    queue_task(alice)
    dispatch.dispatch_once(enqueue=run_job)
    assert breaker.status().state == "open"

    log_in(page, live_server, "alice")
    banner = page.locator("#ops-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The provider is not answering since")
    expect(banner).to_contain_text("your jobs are safe")

    settings.APIXO_BASE_URL = sim.base_url  # the provider is back
    reset_client()
    for _ in range(3):
        GenerationTask.objects.update(next_action_at=timezone.now(), lease_until=None)
        dispatch.dispatch_once(enqueue=run_job)
    assert sim.stats().get("generate_calls", 0) == 0  # nothing sent while open
    expect(banner).to_be_visible()

    ProviderBreaker.objects.update(probe_at=timezone.now() - dt.timedelta(seconds=1))
    dispatch.dispatch_once(enqueue=run_job)  # the probe answers: closed
    expect(page.locator("#ops-banner")).to_be_hidden(timeout=10_000)
    GenerationTask.objects.update(next_action_at=timezone.now())
    drive(timeout=60)
    states = set(GenerationTask.objects.values_list("state", flat=True))
    assert states == {State.SUCCEEDED}
