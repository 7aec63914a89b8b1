"""The Studio's task cards, written in Python (views/card_html.py).

Each state's card as the page, the live poll and the actions send it: what it
shows, which actions it offers, escaped as a template would, in both languages.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone, translation

from generations.models import GenerationTask, Kind, State
from generations.views.card_html import CardWords, card_html
from generations.views.cards import TaskCard
from tests.factories import make_finished_task, make_task

RU = {"accept-language": "ru"}
NOW = timezone.now()


def card_of(page: str, pk: int) -> str:
    # A card ends where its actions, foot and body end.
    pattern = rf'<li id="task-{pk}" class="task-card.*?</div></div></div></li>'
    match = re.search(pattern, page, re.S)
    assert match, f"no card {pk}"
    return match.group(0)


def render(task: Any, **kwargs: Any) -> str:
    return card_html(TaskCard(task, NOW), "TOKEN", **kwargs)


def forms_of(card: str) -> list[str]:
    return re.findall(r'<form method="post" action="([^"]+)"', card)


@pytest.mark.django_db
def test_a_queued_card_can_be_cancelled_or_moved_up(alice: Any) -> None:
    task = make_task(alice, State.QUEUED, NOW - dt.timedelta(seconds=75))
    card = render(task)

    assert card.startswith(
        f'<li id="task-{task.pk}" class="task-card tone-neutral" data-state="queued"'
        ' data-in-flight="1">'
    )
    assert '<span class="pulse" aria-hidden="true"></span>Queued</span>' in card
    assert f'<time id="task-{task.pk}-elapsed" class="elapsed" datetime="PT75S"' in card
    assert 'title="Time since queued">1 min 15 s</time>' in card
    assert '<span class="eta">Waiting for a free slot</span>' in card
    assert forms_of(card) == [f"/tasks/{task.pk}/cancel/", f"/tasks/{task.pk}/top/"]
    assert card.count('name="csrfmiddlewaretoken" value="TOKEN"') == 2
    assert "remix-link" in card and ">Open<" not in card and "Retry" not in card
    assert "data-notify-title" not in card and 'class="card-placeholder"' in card


@pytest.mark.django_db
def test_a_card_at_the_provider_shows_its_progress(alice: Any) -> None:
    task = make_task(
        alice,
        State.GENERATING,
        NOW - dt.timedelta(seconds=40),
        submitted_at=NOW - dt.timedelta(seconds=30),
        duration=8,
        mode="image-to-video",
        fixed_lens=True,
        sound=True,
        resolution="720p",
        aspect_ratio="16:9",
    )
    card = render(task)

    assert 'class="task-card tone-active"' in card
    assert re.search(r'<progress class="progress" max="100" value="(\d+)"', card)
    assert re.search(r'<span class="eta">[^<]+</span>', card)
    assert (
        'title="Estimated from the provider&#x27;s usual generation time for 8 s'
        ' videos">estimate</span>'
    ) in card
    chips = re.search(r'<ul class="chips" aria-label="Parameters">(.*?)</ul>', card)
    assert chips is not None
    assert re.findall(r"<li>(?:<span[^>]*></span>)?([^<]+)</li>", chips.group(1)) == [
        "Image → video", "720p", "8 s", "16:9", "Sound", "Fixed lens"
    ]  # fmt: skip
    assert forms_of(card) == []  # nothing to cancel, retry or hide at the provider


@pytest.mark.django_db
def test_a_finished_card_plays_opens_continues_and_hides(alice: Any) -> None:
    task = make_finished_task(alice, prompt='Owls <at> "dusk" & dawn')
    card = render(task)

    assert 'data-notify-title="Your video is ready"' in card
    assert (
        f'<a href="/videos/{task.pk}/" class="card-thumb"'
        f' aria-label="Play video {task.pk} here" hx-get="/tasks/{task.pk}/play/"'
    ) in card
    assert 'title="Owls &lt;at&gt; &quot;dusk&quot; &amp; dawn">Owls &lt;at&gt;' in card
    assert f'<a class="btn btn-sm" href="/videos/{task.pk}/">Open</a>' in card
    assert forms_of(card) == [
        f"/videos/{task.pk}/continue/",
        f"/tasks/{task.pk}/hide/",
    ]
    assert 'hx-confirm="Hide this task from your list and the gallery?"' in card
    assert f'aria-label="Hide task {task.pk}" title="Hide"' in card
    assert "refunded" not in card


@pytest.mark.django_db
def test_a_finished_card_without_its_video_row_shows_a_placeholder(
    alice: Any,
) -> None:
    task = make_task(alice, State.SUCCEEDED, NOW, finished_at=NOW, aspect_ratio="9:16")
    card = render(GenerationTask.objects.select_related("video").get(pk=task.pk))
    assert 'class="card-thumb"' not in card
    assert '<span class="shape" data-aspect="9:16" aria-hidden="true">' in card


@pytest.mark.django_db
def test_a_film_is_neither_remixed_nor_continued(alice: Any) -> None:
    card = render(make_finished_task(alice, kind=Kind.FILM))
    assert "remix-link" not in card and "/continue/" not in card
    assert ">Open</a>" in card


@pytest.mark.django_db
def test_failed_cancelled_and_unknown_cards_say_what_happened(alice: Any) -> None:
    ago = NOW - dt.timedelta(minutes=5)
    failed = make_task(alice, State.FAILED, ago, finished_at=ago, cost=24)
    cancelled = make_task(alice, State.CANCELLED, ago, finished_at=ago)
    unknown = make_task(alice, State.UNKNOWN, ago, submitted_at=ago)

    card = render(failed)
    assert 'data-notify-title="A video failed"' in card
    assert (
        '<p class="fail-reason" role="note"><strong>Failed:</strong>'
        " The provider gave no reason.</p>"
    ) in card
    assert '24 credits <span class="muted">· refunded</span>' in card
    assert f"/tasks/{failed.pk}/retry/" in forms_of(card)
    assert 'title="Total time">0 s</time>' in card

    card = render(cancelled)
    assert "tone-muted" in card and "· refunded" in card and "fail-reason" not in card
    card = render(unknown)
    assert "It is not re-sent blindly: we are checking.</p>" in card
    assert '<span class="eta">Checking with the provider</span>' in card


@pytest.mark.django_db
def test_a_card_and_the_detail_page_say_what_was_not_as_ordered(
    client: Any, alice: Any
) -> None:
    task = make_finished_task(
        alice,
        delivery_mismatch=True,
        delivery_findings=[
            {"kind": "duration", "delivered": 7.5, "ordered": 8},
            {"kind": "audio", "ordered": True},
        ],
    )
    note = (
        '<p class="delivery-note" role="note"><strong>Not as ordered:</strong>'
        " Delivered 7.5 s of 8 s ordered; Delivered without the sound that was"
        " ordered. You were charged only for what was delivered.</p>"
    )
    assert note in render(task)
    client.force_login(alice)
    assert note in client.get(f"/videos/{task.pk}/").content.decode()


@pytest.mark.django_db
def test_a_card_reads_in_russian(client: Any, alice: Any) -> None:
    ago = NOW - dt.timedelta(minutes=5)
    failed = make_task(alice, State.FAILED, ago, finished_at=ago, cost=24)
    done = make_finished_task(alice)
    client.force_login(alice)
    page = client.get("/", headers=RU).content.decode()

    card = card_of(page, failed.pk)
    assert "<strong>Ошибка:</strong> Провайдер не назвал причину." in card
    assert "24 кредита" in card and "возвращены" in card
    assert ">Повторить<" in card
    card = card_of(page, done.pk)
    assert 'data-notify-title="Видео готово"' in card and ">Открыть</a>" in card


def test_the_words_follow_the_active_language() -> None:
    with translation.override("ru"):
        assert CardWords.now().failed == "Ошибка:"
    with translation.override("en"):
        assert CardWords.now().failed == "Failed:"
    with translation.override("ru"):
        assert CardWords.now().open == "Открыть"


@pytest.mark.django_db
def test_the_live_poll_sends_a_changed_card_whole_and_the_rest_ticks(
    client: Any, alice: Any
) -> None:
    started = NOW - dt.timedelta(seconds=20)
    moving = make_task(alice, State.GENERATING, started, submitted_at=started)
    changed = make_task(alice, State.GENERATING, started, submitted_at=started)
    client.force_login(alice)
    since = int(timezone.now().timestamp() * 1000)
    changed.state = State.DOWNLOADING
    changed.save()
    watch = f"{moving.pk}.generating,{changed.pk}.generating"
    answer = client.get(
        f"/tasks/refresh/?since={since}&watch={watch}", headers={"HX-Request": "true"}
    ).content.decode()

    assert (
        f'<li id="task-{changed.pk}" class="task-card tone-active" hx-swap-oob="true"'
        ' data-state="downloading"'
    ) in answer
    assert f'<li id="task-{moving.pk}"' not in answer
    assert re.search(
        rf'<time id="task-{moving.pk}-elapsed" class="elapsed" datetime="PT\d+S"'
        r' title="Time since queued" hx-swap-oob="true">',
        answer,
    )
    assert (
        f'<span class="progress-live" id="task-{moving.pk}-progress"'
        ' hx-swap-oob="true"><progress'
    ) in answer
