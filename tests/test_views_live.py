"""The live poll never loses a card the page shows in flight.

A worker stamps ``updated_at`` when it saves and commits a moment later; under
load that moment can outlast the poll's overlap, and a count read after the
cards can say "nothing running" for a card the page still shows running. The
page's watch (the states it shows) closes both gaps.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from generations import services
from generations.models import GenerationTask, State
from generations.views import live
from tests.factories import queue_short as queue

HTMX = {"HTTP_HX_REQUEST": "true"}


def poll(client: Any, *, since: dt.datetime, after: int, watch: str = "") -> Any:
    query = {"since": int(since.timestamp() * 1000), "after": after}
    if watch:
        query["watch"] = watch
    return client.get("/tasks/refresh/", query, **HTMX)


def header(page: str) -> str:
    found = re.search(r'<div id="task-live"[^>]*>', page, re.S)
    assert found, page[:300]
    return found.group(0)


def finish_stamped_long_ago(task: GenerationTask) -> None:
    """What a slow commit looks like to the poll: the row changed, its stamp is old."""
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.FAILED,
        fail_code="GENERATION_FAILED",
        finished_at=timezone.now(),
        updated_at=timezone.now() - dt.timedelta(minutes=10),
    )


@pytest.mark.django_db
def test_a_watched_card_comes_back_however_early_its_change_was_stamped(
    client: Any, alice: Any
) -> None:
    task = queue(alice, state=State.DOWNLOADING, submitted_at=timezone.now())
    finish_stamped_long_ago(task)
    client.force_login(alice)
    since = timezone.now() - dt.timedelta(seconds=2)
    # Without the watch, the time window alone misses it (the bug this closes) ...
    blind = poll(client, since=since, after=task.pk).content.decode()
    assert f'<li id="task-{task.pk}"' not in blind
    # ... with it, the card comes back in its final state, and the balance with it.
    response = poll(client, since=since, after=task.pk, watch=f"{task.pk}.downloading")
    page = response.content.decode()
    card = re.search(rf'<li id="task-{task.pk}"[^>]*>', page, re.S)
    assert card and 'hx-swap-oob="true"' in card.group(0)
    assert 'data-state="failed"' in card.group(0)
    assert "credits-changed" in response["HX-Trigger-After-Settle"]


@pytest.mark.django_db
def test_the_poll_that_brings_the_last_card_home_ends_the_polling(
    client: Any, alice: Any
) -> None:
    task = queue(alice, state=State.DOWNLOADING, submitted_at=timezone.now())
    finish_stamped_long_ago(task)
    client.force_login(alice)
    page = poll(
        client, since=timezone.now(), after=task.pk, watch=f"{task.pk}.downloading"
    ).content.decode()
    # Counted before the cards were read: nothing in flight, and the card the page
    # still showed downloading comes in its final state with this very answer.
    assert 'data-state="failed"' in page
    assert 'data-running="0"' in header(page)
    assert "hx-trigger" not in header(page)


@pytest.mark.django_db
def test_a_watched_card_that_did_not_move_is_not_sent_again(
    client: Any, alice: Any, django_assert_max_num_queries: Any
) -> None:
    at = timezone.now() - dt.timedelta(minutes=1)
    queued = queue(alice, "waiting its turn")
    running = queue(alice, "at the provider", state=State.GENERATING, submitted_at=at)
    GenerationTask.objects.update(updated_at=at)
    client.force_login(alice)
    watch = f"{running.pk}.generating,{queued.pk}.queued"
    since = timezone.now() - dt.timedelta(seconds=2)
    with django_assert_max_num_queries(8) as few:
        page = poll(client, since=since, after=running.pk, watch=watch).content.decode()
    assert 'class="task-card' not in page  # only the clock of the running one
    assert f'id="task-{running.pk}-progress"' in page
    # A watch that matches costs no query more than none at all.
    with django_assert_max_num_queries(len(few.captured_queries)):
        poll(client, since=since, after=running.pk)
    # One that moved in between is sent, with its new state.
    GenerationTask.objects.filter(pk=queued.pk).update(state=State.SUBMITTING)
    page = poll(client, since=since, after=running.pk, watch=watch).content.decode()
    card = re.search(rf'<li id="task-{queued.pk}"[^>]*>', page, re.S)
    assert card and 'data-state="submitting"' in card.group(0)
    assert f'<li id="task-{running.pk}"' not in page


@pytest.mark.django_db
def test_a_watch_never_shows_someone_elses_task(
    client: Any, alice: Any, bob: Any
) -> None:
    theirs = queue(bob, "Bob's secret", state=State.GENERATING)
    client.force_login(alice)
    page = poll(
        client, since=timezone.now(), after=0, watch=f"{theirs.pk}.queued"
    ).content.decode()
    assert f"task-{theirs.pk}" not in page
    assert "Bob's secret" not in page


@pytest.mark.parametrize(
    "watch", ["x.queued", "12", "12.succeeded", "12.queued;13.queued", "-1.queued"]
)
@pytest.mark.django_db
def test_it_rejects_a_malformed_watch(client: Any, alice: Any, watch: str) -> None:
    client.force_login(alice)
    response = poll(client, since=timezone.now(), after=0, watch=watch)
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_page_polls_while_it_shows_a_card_in_flight(
    client: Any, alice: Any, monkeypatch: Any
) -> None:
    queue(alice, state=State.DOWNLOADING, submitted_at=timezone.now())
    client.force_login(alice)
    # The count is read after the cards: the task finished in between.
    monkeypatch.setattr(live, "in_flight_counts", lambda request: {})
    page = client.get("/").content.decode()
    assert 'hx-trigger="every 2s"' in header(page)


def queue_slot(page: str) -> str:
    found = re.search(
        r'<div id="queue-slot" hx-swap-oob="true">.*?</section>\s*</div>', page, re.S
    )
    return found.group(0) if found else ""


@pytest.mark.django_db
def test_a_job_queued_in_another_tab_joins_the_queue_panel(
    client: Any, alice: Any
) -> None:
    first = queue(alice, "already shown")
    client.force_login(alice)
    quiet = poll(client, since=timezone.now(), after=first.pk).content.decode()
    assert 'id="queue-slot"' not in quiet  # nothing new: the panel stays as it is
    second = queue(alice, "queued elsewhere")
    page = poll(client, since=timezone.now(), after=first.pk).content.decode()
    panel = queue_slot(page)
    assert f'id="queue-{first.pk}"' in panel and f'id="queue-{second.pk}"' in panel
    assert "2 jobs waiting" in panel


@pytest.mark.django_db
def test_a_job_queued_or_retried_here_joins_the_queue_panel(
    client: Any, alice: Any
) -> None:
    client.force_login(alice)
    created = client.post(
        "/tasks/",
        {
            "mode": "text-to-video",
            "prompt": "A lighthouse in a storm, slow dolly in",
            "resolution": "480p",
            "duration": "4",
            "aspect_ratio": "16:9",
            "routing": "auto",
            "delivery": "polling",
        },
        **HTMX,
    )
    assert created.status_code == 200
    task = GenerationTask.objects.get()
    assert f'id="queue-{task.pk}"' in queue_slot(created.content.decode())
    services.cancel_task(task)
    retried = client.post(f"/tasks/{task.pk}/retry/", **HTMX)
    again = GenerationTask.objects.exclude(pk=task.pk).get()
    panel = queue_slot(retried.content.decode())
    assert f'id="queue-{again.pk}"' in panel
    assert f'id="queue-{task.pk}"' not in panel
