"""The Studio page: create, the live task list, and the card actions."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from generations import credits, forms, services
from generations.models import (
    CreditAccount,
    GenerationTask,
    InputImage,
    LedgerEntry,
    State,
)
from tests.factories import make_finished_task
from tests.factories import queue_short as queue

HTMX = {"HTTP_HX_REQUEST": "true"}
VALID = {
    "mode": "text-to-video",
    "prompt": "A lighthouse in a storm, slow dolly in, waves crashing",
    "resolution": "720p",
    "duration": "8",
    "aspect_ratio": "16:9",
    "sound": "on",
    "routing": "auto",
    "delivery": "polling",
}


def png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (220, 120, 20)).save(out, "PNG")
    return SimpleUploadedFile("frame.png", out.getvalue(), content_type="image/png")


def balance(user: Any) -> int:
    return CreditAccount.objects.get(user=user).balance


def html(response: Any) -> str:
    return response.content.decode()


# ---------- the page ----------


@pytest.mark.django_db
def test_it_shows_the_form_and_only_my_tasks(client: Any, alice: Any, bob: Any) -> None:
    mine = queue(alice, "Alice's fox")
    theirs = queue(bob, "Bob's owl")
    client.force_login(alice)
    response = client.get("/")
    assert response.status_code == 200
    page = html(response)
    assert 'id="create-form"' in page
    assert f'id="task-{mine.pk}"' in page
    assert f'id="task-{theirs.pk}"' not in page
    # The prices stay in Python: the page carries the cost, not a price table.
    assert 'id="price-table"' not in page
    assert 'id="cost-total">32<' in page
    assert "(1 running) Seedance Studio" in page
    assert 'data-balance="992"' in page


@pytest.mark.django_db
def test_it_polls_only_while_something_is_in_flight(client: Any, alice: Any) -> None:
    client.force_login(alice)
    idle = html(client.get("/"))
    live = re.search(r'<div id="task-live"[^>]*>', idle, re.S)
    assert live and "hx-trigger" not in live.group(0)
    queue(alice)
    busy = html(client.get("/"))
    live = re.search(r'<div id="task-live"[^>]*>', busy, re.S)
    assert live and 'hx-trigger="every 2s"' in live.group(0)
    assert "/tasks/refresh/?since=" in live.group(0)


@pytest.mark.django_db
def test_it_shows_an_empty_state(client: Any, alice: Any) -> None:
    client.force_login(alice)
    assert "No tasks yet" in html(client.get("/"))


@pytest.mark.django_db
def test_it_prefills_the_form_from_a_remix_link(client: Any, alice: Any) -> None:
    client.force_login(alice)
    page = html(
        client.get(
            "/?prompt=A+remixed+fox&duration=12&aspect_ratio=9:16&resolution=8k&sound=0"
        )
    )
    assert ">A remixed fox</textarea>" in page
    assert re.search(r'value="12"[^>]*checked', page)
    assert re.search(r'value="9:16"[^>]*checked', page)
    assert re.search(r'value="720p"[^>]*checked', page)  # 8k ignored
    assert not re.search(r'name="sound"[^>]*checked', page)


@pytest.mark.django_db
def test_it_pages_older_tasks_by_id(client: Any, alice: Any) -> None:
    from generations.views import dashboard

    tasks = [queue(alice, f"task {i}") for i in range(dashboard.PAGE_SIZE + 2)]
    client.force_login(alice)
    first = html(client.get("/"))
    assert f'id="task-{tasks[-1].pk}"' in first
    assert f'id="task-{tasks[0].pk}"' not in first
    before = tasks[2].pk
    assert f"?before={before}" in first
    older = html(client.get(f"/?before={before}"))
    assert f'id="task-{tasks[0].pk}"' in older
    assert f'id="task-{tasks[2].pk}"' not in older


@pytest.mark.django_db
def test_it_rejects_a_bad_before(client: Any, alice: Any) -> None:
    client.force_login(alice)
    assert client.get("/?before=abc").status_code == 400


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_login(client: Any) -> None:
    for url in ["/", "/tasks/refresh/?since=0"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    for url in ["/tasks/", "/tasks/1/cancel/", "/tasks/1/retry/", "/tasks/1/hide/"]:
        response = client.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert not GenerationTask.objects.exists()


@pytest.mark.django_db
def test_it_refuses_wrong_methods(client: Any, alice: Any) -> None:
    task = queue(alice)
    client.force_login(alice)
    assert client.post("/").status_code == 405
    assert client.get("/tasks/").status_code == 405
    assert client.post("/tasks/refresh/?since=0").status_code == 405
    for action in ["cancel", "retry", "hide"]:
        assert client.get(f"/tasks/{task.pk}/{action}/").status_code == 405


# ---------- create ----------


@pytest.mark.django_db
def test_it_queues_a_task_and_redirects_without_htmx(client: Any, alice: Any) -> None:
    client.force_login(alice)
    response = client.post("/tasks/", VALID)
    assert response.status_code == 302
    assert response["Location"] == "/"
    task = GenerationTask.objects.get()
    assert task.owner == alice
    assert task.state == State.QUEUED
    assert (task.resolution, task.duration, task.aspect_ratio) == ("720p", 8, "16:9")
    assert task.cost == 32
    assert LedgerEntry.objects.get(task=task, kind="hold").amount == -32
    assert balance(alice) == 1000 - 32
    assert "Queued" in html(client.get("/"))


@pytest.mark.django_db
def test_it_answers_htmx_with_the_new_card_and_a_fresh_form(
    client: Any, alice: Any
) -> None:
    client.force_login(alice)
    response = client.post("/tasks/", VALID, **HTMX)
    assert response.status_code == 200
    task = GenerationTask.objects.get()
    page = html(response)
    assert page.lstrip().startswith("<form")
    assert '<div hx-swap-oob="afterbegin:#task-cards">' in page
    assert f'id="task-{task.pk}"' in page
    live = re.search(r'<div id="task-live"[^>]*>', page, re.S)
    assert live and 'hx-swap-oob="true"' in live.group(0)
    assert 'hx-trigger="every 2s"' in live.group(0)
    assert f"after={task.pk}" in live.group(0)
    assert 'data-balance="968"' in page
    # The prompt is cleared; the other settings are kept for the next one.
    assert "></textarea>" in page
    assert re.search(r'value="16:9"[^>]*checked', page)


@pytest.mark.django_db
def test_it_queues_one_task_per_variant(client: Any, alice: Any) -> None:
    client.force_login(alice)
    data = {**VALID, "extra_aspect_ratios": ["9:16"], "extra_durations": ["4"]}
    response = client.post("/tasks/", data, **HTMX)
    assert response.status_code == 200
    tasks = GenerationTask.objects.order_by("pk")
    assert [(t.aspect_ratio, t.duration) for t in tasks] == [
        ("16:9", 8),
        ("16:9", 4),
        ("9:16", 8),
        ("9:16", 4),
    ]
    assert len({t.batch for t in tasks}) == 1
    assert tasks[0].batch is not None
    assert balance(alice) == 1000 - (32 + 16) * 2
    assert "Queued 4 videos." in html(response)


@pytest.mark.django_db
def test_it_creates_an_image_to_video_task_with_two_frames(
    client: Any, alice: Any
) -> None:
    client.force_login(alice)
    data = {
        **VALID,
        "mode": "image-to-video",
        "start_image": png(),
        "end_image": png(),
    }
    response = client.post("/tasks/", data)
    assert response.status_code == 302
    task = GenerationTask.objects.get()
    assert task.mode == "image-to-video"
    start, end = task.images.order_by("position")
    assert (start.position, end.position) == (0, 1)
    assert start.file and end.file
    # Only the task's own frames remain; the drafts were folded into them.
    assert InputImage.objects.count() == 2


@pytest.mark.django_db
def test_it_creates_an_image_to_video_task_from_a_url(client: Any, alice: Any) -> None:
    client.force_login(alice)
    data = {
        **VALID,
        "mode": "image-to-video",
        "start_image_url": "https://images.example.com/a.jpg",
    }
    assert client.post("/tasks/", data).status_code == 302
    [frame] = GenerationTask.objects.get().images.all()
    assert frame.source_url == "https://images.example.com/a.jpg"


@pytest.mark.django_db
def test_it_queues_nothing_without_enough_credits(client: Any, alice: Any) -> None:
    credits.adjust(user=alice, amount=-990, reason="test")
    client.force_login(alice)
    response = client.post("/tasks/", VALID, **HTMX)
    assert response.status_code == 422
    page = html(response)
    assert "Not enough credits" in page
    assert "This needs 32 credits but only 10 are available." in page
    assert VALID["prompt"] in page  # the values are kept
    assert not GenerationTask.objects.exists()
    assert not LedgerEntry.objects.filter(kind="hold").exists()
    assert balance(alice) == 10


@pytest.mark.django_db
def test_it_queues_nothing_past_the_daily_limit(client: Any, alice: Any) -> None:
    CreditAccount.objects.filter(user=alice).update(daily_credit_limit=10)
    client.force_login(alice)
    response = client.post("/tasks/", VALID, **HTMX)
    assert response.status_code == 422
    assert "daily limit of 10 credits" in html(response)
    assert not GenerationTask.objects.exists()
    assert balance(alice) == 1000


@pytest.mark.django_db
def test_it_keeps_uploaded_frames_across_a_credit_error(
    client: Any, alice: Any
) -> None:
    # The daily limit refuses at the hold, after the frames were checked and
    # stored (too few credits refuse before any decoding: test_forms.py).
    CreditAccount.objects.filter(user=alice).update(daily_credit_limit=1)
    client.force_login(alice)
    data = {**VALID, "mode": "image-to-video", "start_image": png()}
    response = client.post("/tasks/", data)
    assert response.status_code == 422
    page = html(response)
    ref = re.search(r'name="start_image_ref" value="([^"]+)"', page)
    assert ref, "the stored frame is offered again"
    assert "Kept from your last try" in page
    CreditAccount.objects.filter(user=alice).update(daily_credit_limit=None)
    again = {**VALID, "mode": "image-to-video", "start_image_ref": ref.group(1)}
    assert client.post("/tasks/", again).status_code == 302
    [frame] = GenerationTask.objects.get().images.all()
    assert frame.file


@pytest.mark.django_db
def test_it_rerenders_only_the_form_on_htmx_errors(client: Any, alice: Any) -> None:
    client.force_login(alice)
    response = client.post("/tasks/", {**VALID, "prompt": "no"}, **HTMX)
    assert response.status_code == 422
    page = html(response)
    assert page.lstrip().startswith("<form")
    assert "at least 3 characters" in page
    assert 'aria-invalid="true"' in page


# ---------- live refresh ----------


def refresh(client: Any, since: dt.datetime | int, after: int | None = None) -> Any:
    stamp = since if isinstance(since, int) else int(since.timestamp() * 1000)
    url = f"/tasks/refresh/?since={stamp}"
    if after is not None:
        url += f"&after={after}"
    return client.get(url, **HTMX)


@pytest.mark.django_db
def test_it_refreshes_only_the_cards_that_changed(client: Any, alice: Any) -> None:
    first, second, third = (queue(alice, f"task {i}") for i in range(3))
    past = timezone.now() - dt.timedelta(minutes=5)
    GenerationTask.objects.update(updated_at=past)
    since = timezone.now() - dt.timedelta(minutes=1)
    GenerationTask.objects.filter(pk=second.pk).update(
        state=State.GENERATING, updated_at=timezone.now()
    )
    client.force_login(alice)
    response = refresh(client, since, after=third.pk)
    assert response.status_code == 200
    page = html(response)
    assert f'<li id="task-{second.pk}"' in page
    assert f'id="task-{first.pk}"' not in page
    assert f'id="task-{third.pk}"' not in page
    card = re.search(rf'<li id="task-{second.pk}"[^>]*>', page, re.S)
    assert card and 'hx-swap-oob="true"' in card.group(0)
    assert "Generating" in page
    assert page.lstrip().startswith('<div id="task-live"')
    assert 'hx-trigger="every 2s"' in page


@pytest.mark.django_db
def test_it_sends_new_cards_to_the_top(client: Any, alice: Any) -> None:
    old = queue(alice, "old")
    GenerationTask.objects.update(updated_at=timezone.now() - dt.timedelta(minutes=5))
    since = timezone.now() - dt.timedelta(minutes=1)
    new = queue(alice, "made in another tab")
    client.force_login(alice)
    page = html(refresh(client, since, after=old.pk))
    block = page.split('<div hx-swap-oob="afterbegin:#task-cards">', 1)[1]
    assert f'<li id="task-{new.pk}"' in block
    assert f"after={new.pk}" in page
    card = re.search(rf'<li id="task-{new.pk}"[^>]*>', page, re.S)
    assert card and "hx-swap-oob" not in card.group(0)


@pytest.mark.django_db
def test_it_stops_polling_when_nothing_is_in_flight(client: Any, alice: Any) -> None:
    task = queue(alice)
    since = timezone.now() - dt.timedelta(seconds=5)
    services.cancel_task(task)
    client.force_login(alice)
    page = html(refresh(client, since, after=task.pk))
    live = re.search(r'<div id="task-live"[^>]*>', page, re.S)
    assert live and "hx-trigger" not in live.group(0)
    assert "hx-get" not in live.group(0)
    assert 'data-running="0"' in live.group(0)
    assert "Cancelled" in page
    assert 'id="credit-balance"' in page  # the released credits show at once


@pytest.mark.django_db
def test_it_removes_a_card_hidden_in_another_tab(client: Any, alice: Any) -> None:
    task = queue(alice)
    services.cancel_task(task)
    since = timezone.now() - dt.timedelta(seconds=1)
    services.set_hidden(owner=alice, task_ids=[task.pk], hidden=True)
    client.force_login(alice)
    page = html(refresh(client, since, after=task.pk))
    assert f'<li id="task-{task.pk}" hx-swap-oob="delete"></li>' in page


@pytest.mark.django_db
def test_it_never_refreshes_someone_elses_cards(
    client: Any, alice: Any, bob: Any
) -> None:
    theirs = queue(bob)
    client.force_login(alice)
    page = html(refresh(client, 0, after=0))
    assert f"task-{theirs.pk}" not in page


@pytest.mark.parametrize("query", ["", "?since=yesterday", "?since=0&after=x"])
@pytest.mark.django_db
def test_it_rejects_a_bad_since(client: Any, alice: Any, query: str) -> None:
    client.force_login(alice)
    assert client.get(f"/tasks/refresh/{query}").status_code == 400


@pytest.mark.django_db
def test_it_accepts_an_iso_since(client: Any, alice: Any) -> None:
    task = queue(alice)
    client.force_login(alice)
    since = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    response = client.get("/tasks/refresh/", {"since": since, "after": 0})
    assert response.status_code == 200
    assert f'id="task-{task.pk}"' in html(response)


@pytest.mark.django_db
def test_it_refreshes_with_a_constant_number_of_queries(
    client: Any, alice: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(alice)
    for i in range(3):
        make_finished_task(alice, prompt=f"done {i}")
    queue(alice)
    with django_assert_max_num_queries(8) as few:
        assert refresh(client, 0, after=0).status_code == 200
    for i in range(25):
        make_finished_task(alice, prompt=f"more {i}")
        queue(alice, f"running {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = refresh(client, 0, after=0)
    assert html(response).count('class="task-card') == 54


@pytest.mark.django_db
def test_it_renders_the_dashboard_with_a_constant_number_of_queries(
    client: Any, alice: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(alice)
    make_finished_task(alice)
    queue(alice)
    # Session, member with their language, remembered parameters, presets, the
    # list, the live header's count by state (the queue total too), prices, the
    # newest video, the queue panel and the header balance (issue #17: <= 10).
    with django_assert_max_num_queries(10) as few:
        client.get("/")
    for i in range(25):  # the queue panel full: its total is still not a query
        make_finished_task(alice, prompt=f"more {i}")
        queue(alice, f"running {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = html(client.get("/"))
    assert "The first 20 of 26 queued jobs are shown." in page


# ---------- card actions ----------


@pytest.mark.django_db
def test_it_cancels_a_queued_task(client: Any, alice: Any) -> None:
    task = queue(alice)
    client.force_login(alice)
    response = client.post(f"/tasks/{task.pk}/cancel/", **HTMX)
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.state == State.CANCELLED
    assert balance(alice) == 1000
    page = html(response)
    assert page.lstrip().startswith(f'<li id="task-{task.pk}"')
    assert "Cancelled" in page
    assert 'data-balance="1000"' in page


@pytest.mark.django_db
def test_it_cancels_without_htmx_and_redirects(client: Any, alice: Any) -> None:
    task = queue(alice)
    client.force_login(alice)
    response = client.post(f"/tasks/{task.pk}/cancel/")
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == State.CANCELLED


@pytest.mark.django_db
def test_it_refuses_to_cancel_a_task_that_left_the_queue(
    client: Any, alice: Any
) -> None:
    task = queue(alice, state=State.GENERATING)
    client.force_login(alice)
    response = client.post(f"/tasks/{task.pk}/cancel/", **HTMX)
    assert response.status_code == 409
    assert "Too late to cancel" in html(response)
    task.refresh_from_db()
    assert task.state == State.GENERATING
    assert balance(alice) == 1000 - task.cost


@pytest.mark.parametrize("action", ["cancel", "retry", "hide"])
@pytest.mark.django_db
def test_it_404s_on_someone_elses_task(
    client: Any, alice: Any, bob: Any, action: str
) -> None:
    task = queue(bob, state=State.FAILED)
    client.force_login(alice)
    assert client.post(f"/tasks/{task.pk}/{action}/").status_code == 404
    assert client.post(f"/tasks/999999/{action}/").status_code == 404
    task.refresh_from_db()
    assert task.state == State.FAILED
    assert not task.hidden
    assert GenerationTask.objects.count() == 1


@pytest.mark.django_db
def test_it_retries_a_failed_task_as_a_new_one(client: Any, alice: Any) -> None:
    task = queue(alice)
    services.cancel_task(task)
    client.force_login(alice)
    response = client.post(f"/tasks/{task.pk}/retry/", **HTMX)
    assert response.status_code == 200
    new = GenerationTask.objects.exclude(pk=task.pk).get()
    assert new.retry_of == task
    assert new.state == State.QUEUED
    assert new.prompt == task.prompt
    page = html(response)
    assert '<div hx-swap-oob="afterbegin:#task-cards">' in page
    assert f'id="task-{new.pk}"' in page
    assert "Retrying as a new task." in page
    assert balance(alice) == 1000 - new.cost


@pytest.mark.django_db
def test_it_retries_from_the_detail_page_without_htmx(client: Any, alice: Any) -> None:
    task = make_finished_task(alice)
    client.force_login(alice)
    response = client.post(f"/tasks/{task.pk}/retry/")
    assert response.status_code == 302
    assert GenerationTask.objects.filter(retry_of=task).exists()


@pytest.mark.django_db
def test_it_refuses_to_retry_a_task_in_flight(client: Any, alice: Any) -> None:
    task = queue(alice)
    client.force_login(alice)
    response = client.post(f"/tasks/{task.pk}/retry/", **HTMX)
    assert response.status_code == 409
    assert GenerationTask.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_to_retry_without_credits(client: Any, alice: Any) -> None:
    task = queue(alice)
    services.cancel_task(task)
    credits.adjust(user=alice, amount=-1000, reason="test")
    client.force_login(alice)
    response = client.post(f"/tasks/{task.pk}/retry/", **HTMX)
    assert response.status_code == 409
    assert "Not retried. Not enough credits" in html(response)
    assert GenerationTask.objects.count() == 1


@pytest.mark.django_db
def test_it_hides_a_finished_task(client: Any, alice: Any) -> None:
    task = make_finished_task(alice)
    client.force_login(alice)
    response = client.post(f"/tasks/{task.pk}/hide/", **HTMX)
    assert response.status_code == 200
    assert html(response) == ""
    task.refresh_from_db()
    assert task.hidden
    assert f'id="task-{task.pk}"' not in html(client.get("/"))


@pytest.mark.django_db
def test_it_refuses_to_hide_a_task_in_flight(client: Any, alice: Any) -> None:
    task = queue(alice)
    client.force_login(alice)
    response = client.post(f"/tasks/{task.pk}/hide/")
    assert response.status_code == 302
    task.refresh_from_db()
    assert not task.hidden
    assert client.post(f"/tasks/{task.pk}/hide/", **HTMX).status_code == 409


# ---------- the card itself ----------


@pytest.mark.parametrize(
    ("state", "label"),
    [
        (State.QUEUED, "Queued"),
        (State.SUBMITTING, "Submitting"),
        (State.WAITING, "Waiting at provider"),
        (State.GENERATING, "Generating"),
        (State.DOWNLOADING, "Downloading"),
        (State.UNKNOWN, "Outcome unknown, being checked"),
        (State.CANCELLED, "Cancelled"),
    ],
)
@pytest.mark.django_db
def test_it_labels_each_state_honestly(
    client: Any, alice: Any, state: State, label: str
) -> None:
    task = queue(alice, state=state)
    client.force_login(alice)
    page = html(client.get("/"))
    card = page.split(f'<li id="task-{task.pk}"', 1)[1].split("</li>\n", 1)[0]
    assert label in card


@pytest.mark.django_db
def test_it_shows_the_failure_reason(client: Any, alice: Any) -> None:
    queue(
        alice,
        state=State.FAILED,
        fail_code="CONTENT_VIOLATION",
        fail_message="Content does not meet safety guidelines",
    )
    client.force_login(alice)
    page = html(client.get("/"))
    assert "The prompt or images break the provider&#x27;s safety rules." in page
    assert "Content does not meet safety guidelines" in page
    assert ">Retry</button>" in page


@pytest.mark.django_db
def test_it_estimates_progress_from_the_documented_times(
    client: Any, alice: Any, settings: Any
) -> None:
    settings.SIMULATOR_ENABLED = False  # the real provider's pace
    submitted = timezone.now() - dt.timedelta(seconds=25)
    queue(alice, state=State.GENERATING, submitted_at=submitted)  # 4 s: ~50 s
    client.force_login(alice)
    page = html(client.get("/"))
    value = re.search(r'<progress class="progress" max="100" value="(\d+)"', page)
    assert value and 45 <= int(value.group(1)) <= 55
    assert "estimate" in page


@pytest.mark.django_db
def test_it_caps_the_estimate_below_done(client: Any, alice: Any) -> None:
    submitted = timezone.now() - dt.timedelta(minutes=10)
    queue(alice, state=State.GENERATING, submitted_at=submitted)
    client.force_login(alice)
    page = html(client.get("/"))
    assert 'value="95"' in page
    assert "Taking longer than usual" in page


@pytest.mark.django_db
def test_it_links_a_finished_card_to_its_video(client: Any, alice: Any) -> None:
    task = make_finished_task(alice)
    client.force_login(alice)
    page = html(client.get("/"))
    assert f'href="/videos/{task.pk}/"' in page
    assert f'src="/media/posters/{task.pk}.jpg"' in page
    remix = forms.initial_from_query(
        {"prompt": task.prompt, "duration": str(task.duration)}
    )
    assert remix["prompt"] == task.prompt
    assert "/?mode=text-to-video&amp;prompt=A+lighthouse" in page


# ---------- presets ----------

PRESET = {
    "preset_name": "Vertical teaser",
    "mode": "text-to-video",
    "resolution": "480p",
    "duration": "4",
    "aspect_ratio": "9:16",
    "extra_aspect_ratios": ["16:9", "1:1"],
    "extra_durations": ["8"],
    "fixed_lens": "on",
    "routing": "value",
    "delivery": "polling",
    "prompt": "The prompt is not part of a preset",
}


@pytest.mark.django_db
def test_it_saves_the_form_parameters_as_a_preset(client: Any, alice: Any) -> None:
    from generations.models import Preset

    client.force_login(alice)
    response = client.post("/presets/", PRESET, **HTMX)
    assert response.status_code == 200
    preset = Preset.objects.get()
    assert (preset.owner, preset.name) == (alice, "Vertical teaser")
    assert preset.params == {
        "mode": "text-to-video",
        "resolution": "480p",
        "duration": 4,
        "aspect_ratio": "9:16",
        "extra_aspect_ratios": ["16:9", "1:1"],
        "extra_durations": [8],
        "sound": False,
        "fixed_lens": True,
        "routing": "value",
        "delivery": "polling",
    }
    page = html(response)
    assert page.lstrip().startswith('<form id="preset-bar"')
    assert f'<option value="{preset.pk}" selected>Vertical teaser</option>' in page
    assert 'id="preset-data"' not in page  # the server applies a preset
    assert "Saved the preset “Vertical teaser”." in page


@pytest.mark.django_db
def test_it_updates_a_preset_saved_again_under_its_name(
    client: Any, alice: Any
) -> None:
    from generations.models import Preset

    client.force_login(alice)
    client.post("/presets/", PRESET, **HTMX)
    response = client.post(
        "/presets/",
        {**PRESET, "preset_name": " Vertical teaser ", "duration": "12"},
        **HTMX,
    )
    assert "Updated the preset" in html(response)
    preset = Preset.objects.get()
    assert preset.params["duration"] == 12


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"preset_name": ""}, "Give the preset a name."),
        ({"preset_name": "x" * 61}, "Keep the name under 60 characters."),
        ({"duration": "7"}, "Not saved: Choose a duration of 4, 8 or 12 seconds."),
        ({"aspect_ratio": "2:1"}, "Not saved: Choose an aspect ratio"),
    ],
)
def test_it_refuses_a_bad_preset(
    client: Any, alice: Any, change: dict[str, str], message: str
) -> None:
    from generations.models import Preset

    client.force_login(alice)
    response = client.post("/presets/", {**PRESET, **change}, **HTMX)
    assert response.status_code == 422
    assert message in html(response)
    assert not Preset.objects.exists()
    no_js = client.post("/presets/", {**PRESET, **change})
    assert no_js.status_code == 302


@pytest.mark.django_db
def test_it_caps_the_number_of_presets(
    client: Any, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generations.models import Preset

    monkeypatch.setattr(services, "MAX_PRESETS_PER_MEMBER", 2)
    client.force_login(alice)
    for name in ("one", "two"):
        client.post("/presets/", {**PRESET, "preset_name": name}, **HTMX)
    third = client.post("/presets/", {**PRESET, "preset_name": "three"}, **HTMX)
    assert third.status_code == 422
    assert "delete one first" in html(third)
    again = client.post("/presets/", {**PRESET, "preset_name": "two"}, **HTMX)
    assert again.status_code == 200  # updating an existing one is fine
    assert Preset.objects.count() == 2


@pytest.mark.django_db
def test_it_prefills_the_form_from_a_preset_and_keeps_a_prompt(
    client: Any, alice: Any, bob: Any
) -> None:
    from generations.models import Preset

    mine = Preset.objects.create(
        owner=alice,
        name="Square",
        params={
            "aspect_ratio": "1:1",
            "duration": 12,
            "extra_durations": [4, 99],
            "sound": False,
        },
    )
    theirs = Preset.objects.create(
        owner=bob, name="Bob's", params={"aspect_ratio": "21:9"}
    )
    client.force_login(alice)
    page = html(client.get(f"/?preset={mine.pk}&prompt=Kept+prompt"))
    assert ">Kept prompt</textarea>" in page
    assert re.search(r'name="aspect_ratio" value="1:1"[^>]*checked', page)
    assert re.search(r'name="duration" value="12"[^>]*checked', page)
    assert re.search(r'name="extra_durations" value="4"[^>]*checked', page)
    assert not re.search(r'name="sound"[^>]*checked', page)
    assert f'<option value="{mine.pk}" selected>Square</option>' in page
    other = html(client.get(f"/?preset={theirs.pk}"))
    assert "Bob&#x27;s" not in other
    assert not re.search(r'value="21:9"[^>]*checked', other)
    assert client.get("/?preset=abc").status_code == 200


@pytest.mark.django_db
def test_it_deletes_only_the_members_own_preset(
    client: Any, alice: Any, bob: Any
) -> None:
    from generations.models import Preset

    mine = Preset.objects.create(owner=alice, name="Mine", params={})
    theirs = Preset.objects.create(owner=bob, name="Theirs", params={})
    client.force_login(alice)
    assert client.get("/presets/delete/").status_code == 405
    assert client.post("/presets/delete/", {"preset": theirs.pk}).status_code == 404
    assert client.post("/presets/delete/", {"preset": "1;x"}).status_code == 400
    empty = client.post("/presets/delete/", {"preset": ""}, **HTMX)
    assert empty.status_code == 422
    response = client.post("/presets/delete/", {"preset": mine.pk}, **HTMX)
    assert response.status_code == 200
    assert "Deleted the preset “Mine”." in html(response)
    assert list(Preset.objects.all()) == [theirs]
    assert client.post("/presets/", PRESET).status_code == 302  # no-JS: back home


@pytest.mark.django_db
def test_it_offers_notifications_and_guarded_remix_links(
    client: Any, alice: Any
) -> None:
    queue(alice)
    make_finished_task(alice)
    client.force_login(alice)
    page = html(client.get("/"))
    assert 'id="notify-btn"' in page
    assert 'class="btn btn-sm btn-ghost remix-link"' in page
    assert "data-frame-warning" in page
    assert 'id="preset-bar"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/?before=²", "/tasks/refresh/?since=0&after=²"])
def test_it_rejects_odd_digits_with_400(client: Any, alice: Any, url: str) -> None:
    client.force_login(alice)
    assert client.get(url).status_code == 400


# ---------- The live cost, the preset swap, an ended session ----------


@pytest.mark.django_db
def test_it_prices_the_parameters_as_the_create_view_charges(
    client: Any, alice: Any
) -> None:
    client.force_login(alice)
    data = {**VALID, "resolution": "480p", "duration": "12", "prompt": ""}
    data["extra_aspect_ratios"] = ["9:16", "16:9"]
    response = client.post("/tasks/cost/", data, **HTMX)
    assert response.status_code == 200
    page = html(response)
    expected = 2 * credits.cost_of(resolution="480p", sound=True, duration=12)
    assert f'id="cost-total">{expected}<' in page
    assert "for 2 videos" in page
    assert f'id="cost-after">{1000 - expected}<' in page
    assert 'id="variant-summary" hx-swap-oob="true">· 2 videos' in page


@pytest.mark.django_db
def test_it_says_when_the_cost_is_above_the_balance(
    client: Any, django_user_model: Any
) -> None:
    member = django_user_model.objects.create_user("carol", password="x")
    credits.grant(user=member, amount=10, reason="test")
    client.force_login(member)
    page = html(client.post("/tasks/cost/", {**VALID, "duration": "12"}, **HTMX))
    assert 'id="cost-total">48<' in page
    assert "not enough credits" in page and "is-short" in page


@pytest.mark.django_db
def test_it_refuses_to_price_invalid_parameters(client: Any, alice: Any) -> None:
    client.force_login(alice)
    page = html(client.post("/tasks/cost/", {**VALID, "duration": "7"}, **HTMX))
    assert "cost-total" not in page
    assert "Choose valid parameters" in page
    assert client.get("/tasks/cost/").status_code == 405


@pytest.mark.django_db
def test_it_applies_a_preset_by_swapping_only_the_form(client: Any, alice: Any) -> None:
    from generations.models import Preset

    preset = Preset.objects.create(
        owner=alice,
        name="Tall",
        params={"aspect_ratio": "9:16", "resolution": "480p", "duration": 4},
    )
    client.force_login(alice)
    response = client.get(
        f"/?preset={preset.pk}&prompt=Kept+draft",
        HTTP_HX_TARGET="create-form",
        **HTMX,
    )
    page = html(response)
    assert page.lstrip().startswith('<form id="create-form"')
    assert re.search(r'value="9:16"[^>]*checked', page)
    assert "Kept draft" in page
    assert "Applied the preset “Tall”." in page
    assert 'id="task-cards"' not in page


@pytest.mark.django_db
def test_it_sends_an_htmx_request_of_an_ended_session_to_the_login_page(
    client: Any,
) -> None:
    response = client.get(
        "/tasks/refresh/?since=0", HTTP_HX_CURRENT_URL="http://testserver/?x=1", **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=%2F%3Fx%3D1"
    plain = client.get("/tasks/refresh/?since=0")
    assert plain.status_code == 302


@pytest.mark.django_db
def test_it_resends_in_flight_cards_with_a_server_estimate(
    client: Any, alice: Any, settings: Any
) -> None:
    task = queue(alice, state=State.GENERATING, submitted_at=timezone.now())
    settings.SIMULATOR_ENABLED = True
    settings.SIMULATOR_SPEED = 10
    client.force_login(alice)
    since = int((timezone.now() + dt.timedelta(minutes=5)).timestamp() * 1000)
    response = client.get(f"/tasks/refresh/?since={since}", **HTMX)
    page = html(response)
    # Unchanged, but in flight: its clock and estimate, not the whole card again.
    assert f'id="task-{task.pk}"' not in page
    progress = re.search(rf'<span [^>]*id="task-{task.pk}-progress"[^>]*>', page)
    assert progress and 'hx-swap-oob="true"' in progress.group(0)
    elapsed = re.search(rf'<time id="task-{task.pk}-elapsed"[^>]*>', page)
    assert elapsed and 'hx-swap-oob="true"' in elapsed.group(0)
    # 4 s videos take 40-60 s at the provider; the simulator runs 10x faster.
    assert "About 5 s left" in page or "About 4 s left" in page
    assert "HX-Trigger-After-Settle" not in response  # no credits moved


@pytest.mark.django_db
def test_a_poll_sends_unchanged_cards_only_their_clock_in_constant_queries(
    client: Any, alice: Any, django_assert_max_num_queries: Any
) -> None:
    at = timezone.now() - dt.timedelta(seconds=20)
    for i in range(2):
        queue(alice, f"running {i}", state=State.GENERATING, submitted_at=at)
    changed = queue(alice, "changed", state=State.GENERATING, submitted_at=at)
    waiting = queue(alice, "not yet submitted")
    GenerationTask.objects.update(updated_at=at)
    since = timezone.now() - dt.timedelta(seconds=2)
    GenerationTask.objects.filter(pk=changed.pk).update(updated_at=timezone.now())
    client.force_login(alice)
    with django_assert_max_num_queries(8) as few:
        page = html(refresh(client, since, after=waiting.pk))
    assert page.count('class="task-card') == 1
    assert f'<li id="task-{changed.pk}"' in page
    assert page.count('class="progress-live"') == 3  # the changed card's own too
    assert page.count('<time id="task-') == 3
    assert f"task-{waiting.pk}" not in page  # queued: its estimate does not move
    for i in range(20):
        queue(alice, f"more {i}", state=State.GENERATING, submitted_at=at)
    GenerationTask.objects.exclude(pk=changed.pk).update(updated_at=at)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = html(refresh(client, since, after=waiting.pk + 100))
    assert page.count('class="progress-live"') == 23


@pytest.mark.django_db
def test_it_tells_the_form_when_a_refund_moved_the_balance(
    client: Any, alice: Any
) -> None:
    task = queue(alice, state=State.GENERATING, submitted_at=timezone.now())
    since = int(timezone.now().timestamp() * 1000) - 1000
    services.cancel_task(task) or GenerationTask.objects.filter(pk=task.pk).update(
        state=State.FAILED, finished_at=timezone.now(), updated_at=timezone.now()
    )
    client.force_login(alice)
    response = client.get(f"/tasks/refresh/?since={since}", **HTMX)
    assert "credits-changed" in response["HX-Trigger-After-Settle"]


@pytest.mark.django_db
def test_it_remembers_each_members_last_parameters(
    client: Any, alice: Any, bob: Any
) -> None:
    client.force_login(alice)
    chosen = {**VALID, "aspect_ratio": "9:16", "resolution": "480p", "duration": "12"}
    chosen["extra_durations"] = ["4"]
    assert client.post("/", chosen).status_code == 405  # the form posts to /tasks/
    assert client.post("/tasks/", chosen).status_code == 302
    page = html(client.get("/"))
    assert re.search(r'value="9:16"[^>]*checked', page)
    assert re.search(r'value="480p"[^>]*checked', page)
    assert re.search(r'name="duration" value="12"[^>]*checked', page)
    assert re.search(r'name="extra_durations" value="4"[^>]*checked', page)
    assert 'value="A lighthouse' not in page  # never the prompt
    # A remix link still wins over what was remembered.
    assert re.search(r'value="1:1"[^>]*checked', html(client.get("/?aspect_ratio=1:1")))
    client.force_login(bob)
    assert re.search(r'value="1:1"[^>]*checked', html(client.get("/")))


@pytest.mark.django_db
def test_it_plays_my_newest_result_large_and_a_chosen_one_on_demand(
    client: Any, alice: Any, bob: Any
) -> None:
    older = make_finished_task(alice, prompt="An older fox")
    newest = make_finished_task(alice, prompt="The newest fox")
    theirs = make_finished_task(bob, prompt="Bob's owl")
    waiting = queue(alice)
    client.force_login(alice)
    page = html(client.get("/"))
    player = page[page.index('id="player"') : page.index('id="task-cards"')]
    assert f"/media/videos/{newest.pk}.mp4" in player
    answer = client.get(f"/tasks/{older.pk}/play/", **HTMX)
    assert answer.status_code == 200
    assert f"/media/videos/{older.pk}.mp4" in html(answer) and "autoplay" in html(
        answer
    )
    assert client.get(f"/tasks/{theirs.pk}/play/", **HTMX).status_code == 404
    assert client.get(f"/tasks/{waiting.pk}/play/", **HTMX).status_code == 404
    assert client.post(f"/tasks/{older.pk}/play/", **HTMX).status_code == 405
    plain = client.get(f"/tasks/{older.pk}/play/")
    assert plain.status_code == 302 and plain["Location"] == f"/videos/{older.pk}/"


@pytest.mark.django_db
def test_it_groups_a_batch_under_one_summary_line(client: Any, alice: Any) -> None:
    client.force_login(alice)
    data = {**VALID, "extra_aspect_ratios": ["9:16", "1:1"], "extra_durations": ["4"]}
    assert client.post("/tasks/", data).status_code == 302
    tasks = list(GenerationTask.objects.order_by("id"))
    assert len(tasks) == 6 and len({t.batch for t in tasks}) == 1
    GenerationTask.objects.filter(pk__in=[t.pk for t in tasks[:2]]).update(
        state=State.FAILED, finished_at=timezone.now()
    )
    page = html(client.get("/"))
    assert page.count('class="batch-head"') == 1
    assert "6 videos: 4 running, 2 failed" in page
    head = page.index('class="batch-head"')
    assert head < page.index(f'id="task-{tasks[-1].pk}"')
