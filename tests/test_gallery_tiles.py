"""The gallery's tiles and favourite stars, written in Python (views/tiles.py).

What a tile shows, escaped as a template would, in both languages; and one
favourite form wherever a star is drawn: a tile, the detail page, the star's own
answer and the bulk answer.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from generations.models import Favourite, Kind
from tests.factories import make_finished_task

RU = {"accept-language": "ru"}
HX = {"HX-Request": "true"}


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def tile_of(page: str, pk: int) -> str:
    match = re.search(rf'<li class="tile" id="tile-{pk}">.*?</li>', page, re.S)
    assert match, f"no tile {pk}"
    return match.group(0)


def star_of(page: str, pk: int) -> str:
    match = re.search(rf'<form id="star-{pk}".*?</form>', page, re.S)
    assert match, f"no star {pk}"
    # The page's CSRF token is masked afresh on every request.
    return re.sub(r'csrfmiddlewaretoken" value="\w+"', "csrf", match.group(0))


@pytest.mark.django_db
def test_a_tile_shows_its_video_owner_and_badges(
    client: Any, alice: Any, bob: Any
) -> None:
    film = make_finished_task(
        alice,
        kind=Kind.FILM,
        duration=8,
        resolution="720p",
        aspect_ratio="16:9",
        sound=True,
        is_private=True,
    )
    three_hours_ago = timezone.now() - dt.timedelta(hours=3, minutes=5)
    clip = make_finished_task(
        bob, duration=4, sound=False, prompt="Bob's owl", finished_at=three_hours_ago
    )
    client.force_login(alice)
    page = html(client.get("/gallery/"))

    mine = tile_of(page, film.pk)
    assert f'href="/videos/{film.pk}/"' in mine
    assert f'data-preview="/media/videos/{film.pk}.mp4"' in mine
    assert f'<img src="/media/posters/{film.pk}.jpg" alt=""' in mine
    assert (
        '<span class="tile-badges" aria-hidden="true"><span class="badge-film">Film'
        "</span><span>8 s</span><span>720p</span><span>16:9</span>"
        '<span title="With sound">♪</span></span>'
    ) in mine
    assert '<span class="tile-meta muted">You · <time datetime="' in mine
    assert ">just now</time> · Private</span>" in mine  # finished this minute
    assert 'data-own="1"' in mine

    theirs = tile_of(page, clip.pk)
    assert "badge-film" not in theirs and "♪" not in theirs
    assert f">{bob.get_username()} · <time" in theirs
    assert ">3\xa0hours ago</time></span>" in theirs  # Django's timesince
    assert "Private" not in theirs
    assert 'data-own="0"' in theirs
    assert "Bob&#x27;s owl" in theirs


@pytest.mark.django_db
def test_a_tile_escapes_the_prompt_and_clips_it(client: Any, alice: Any) -> None:
    prompt = '<script>alert("x")</script> & ' + "a long prompt " * 10
    task = make_finished_task(alice, prompt=prompt)
    client.force_login(alice)
    tile = tile_of(html(client.get("/gallery/")), task.pk)

    assert "<script>" not in tile
    shown = re.search(r'<span class="tile-prompt">(.*?)</span>', tile)
    assert shown is not None
    assert shown.group(1).startswith(
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; a long prompt"
    )
    assert shown.group(1).endswith("…")  # clipped at 90 characters
    label = re.search(r'<span class="visually-hidden">(.*?)</span>', tile)
    assert label is not None
    assert label.group(1).startswith(f"Select video {task.pk}: &lt;script&gt;")


@pytest.mark.django_db
def test_a_tile_reads_in_russian(client: Any, alice: Any, bob: Any) -> None:
    film = make_finished_task(
        alice, kind=Kind.FILM, duration=8, sound=True, is_private=True
    )
    other = make_finished_task(bob, finished_at=timezone.now() - dt.timedelta(days=2))
    client.force_login(alice)
    page = html(client.get("/gallery/", headers=RU))

    mine = tile_of(page, film.pk)
    assert '<span class="badge-film">Фильм</span><span>8 с</span>' in mine
    assert '<span title="Со звуком">♪</span>' in mine
    assert ">Вы · <time" in mine and ">только что</time> · Личное</span>" in mine
    assert ">2\xa0дня назад</time>" in tile_of(page, other.pk)
    assert f"Выбрать видео {film.pk}: " in mine
    assert 'title="Выбрать"' in mine
    assert 'title="Добавить в избранное"' in tile_of(page, other.pk)


@pytest.mark.django_db
def test_every_star_is_the_same_form(client: Any, alice: Any) -> None:
    task = make_finished_task(alice)
    Favourite.objects.create(user=alice, task=task)
    client.force_login(alice)

    on_tile = star_of(html(client.get("/gallery/")), task.pk)
    on_detail = star_of(html(client.get(f"/videos/{task.pk}/")), task.pk)
    answer = html(
        client.post(
            f"/videos/{task.pk}/favourite/",
            {"value": "1", "next": "/gallery/"},
            headers=HX,
        )
    )
    bulk = html(
        client.post(
            "/gallery/bulk/favourite/",
            {"ids": [task.pk], "value": "1", "next": "/gallery/"},
            headers=HX,
        )
    )

    assert on_tile == (
        f'<form id="star-{task.pk}" class="star-form" method="post"'
        f' action="/videos/{task.pk}/favourite/" hx-post="/videos/{task.pk}/favourite/"'
        ' hx-swap="outerHTML"><input type="hidden" name="csrf>'
        '<input type="hidden" name="value" value="0">'
        '<input type="hidden" name="next" value="/gallery/">'
        '<button type="submit" class="star-btn" aria-pressed="true"'
        f' aria-label="Favourite video {task.pk}" title="Remove from your favourites">'
        '<svg aria-hidden="true" viewBox="0 0 24 24" class="icon star-icon">'
        '<path d="m12 3.5 2.6 5.3 5.9.9-4.3 4.1 1 5.8-5.2-2.7-5.2 2.7 1-5.8-4.3-4.1'
        ' 5.9-.9z"/></svg></button></form>'
    )
    # The detail page's form returns to the detail page; otherwise the same.
    assert on_detail == on_tile.replace(
        'value="/gallery/"', f'value="/videos/{task.pk}/"'
    )
    assert star_of(answer, task.pk) == on_tile
    assert answer.strip().startswith(f'<form id="star-{task.pk}"')
    assert star_of(bulk, task.pk) == on_tile.replace(
        'hx-swap="outerHTML"', 'hx-swap="outerHTML" hx-swap-oob="true"'
    )


@pytest.mark.django_db
def test_a_star_returns_to_the_page_it_is_on(client: Any, alice: Any) -> None:
    task = make_finished_task(alice)
    client.force_login(alice)
    page = html(client.get("/gallery/?q=lighthouse&owner=mine"))
    assert 'name="next" value="/gallery/?q=lighthouse&amp;owner=mine"' in star_of(
        page, task.pk
    )
    unstarred = star_of(
        html(
            client.post(
                f"/videos/{task.pk}/favourite/",
                {"value": "0", "next": "/gallery/?q=x&owner=mine"},
                headers=HX,
            )
        ),
        task.pk,
    )
    assert 'name="next" value="/gallery/?q=x&amp;owner=mine"' in unstarred
    assert 'aria-pressed="false"' in unstarred
    assert 'name="value" value="1"' in unstarred
