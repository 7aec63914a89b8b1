from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from generations import credits
from generations.models import GenerationTask, State
from generations.views.credits import spend_by_week
from tests.factories import queue_task

pytestmark = pytest.mark.django_db


def test_it_shows_the_members_ledger(client: Client, alice: Any, bob: Any) -> None:
    task = queue_task(alice, prompt="a lighthouse in a storm at night")
    credits.release_for_task(task.pk, "No video delivered")
    queue_task(bob, prompt="bob's secret prompt")
    client.force_login(alice)
    response = client.get("/credits/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "a lighthouse in a storm" in body
    assert "Grant" in body and "Hold" in body and "Release" in body
    assert "bob&#x27;s secret prompt" not in body and "bob's secret prompt" not in body
    assert response.context["account"].balance == 1000


def test_it_counts_open_holds(client: Client, alice: Any) -> None:
    queue_task(alice, duration=8)  # 480p silent: 8 credits held
    client.force_login(alice)
    assert client.get("/credits/").context["held"] == 8


def test_it_pages_the_ledger(client: Client, alice: Any) -> None:
    for _ in range(60):
        credits.grant(user=alice, amount=1, reason="drip")
    client.force_login(alice)
    first = client.get("/credits/")
    assert len(first.context["entries"]) == 50
    older = client.get(f"/credits/?before={first.context['next_before']}")
    assert len(older.context["entries"]) == 11  # 10 drips + the fixture's grant
    assert client.get("/credits/?before=x").status_code == 400


def test_it_sums_delivered_videos_by_week(alice: Any) -> None:
    now = timezone.now()
    for days_ago, cost_duration in [(0, 4), (0, 8), (8, 12)]:
        task = queue_task(alice, duration=cost_duration)
        GenerationTask.objects.filter(pk=task.pk).update(
            state=State.SUCCEEDED, finished_at=now - dt.timedelta(days=days_ago)
        )
    failed = queue_task(alice, duration=12)
    GenerationTask.objects.filter(pk=failed.pk).update(
        state=State.FAILED, finished_at=now
    )
    weeks = spend_by_week(alice.pk, now)
    assert len(weeks) == 12
    assert weeks[-1].credits == 12  # 4 + 8 this week; the failed one is not spent
    assert sum(w.credits for w in weeks) == 24
    assert weeks[-1].height > 0


def test_it_needs_a_login_and_get(client: Client, alice: Any) -> None:
    assert client.get("/credits/").status_code == 302
    client.force_login(alice)
    assert client.post("/credits/").status_code == 405


def test_it_links_the_header_balance_to_the_page(client: Client, alice: Any) -> None:
    client.force_login(alice)
    body = client.get("/").content.decode()
    assert 'id="credit-balance" class="balance" href="/credits/"' in body


def test_it_refuses_a_superscript_page_marker(client: Client, alice: Any) -> None:
    client.force_login(alice)
    assert client.get("/credits/?before=²").status_code == 400
