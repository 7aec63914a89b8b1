"""The gallery's filters, search, favourites filter, paging and query budget."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection

from generations.models import Favourite, GenerationTask
from generations.views import gallery as gallery_views
from tests.factories import make_video_row as video

HTMX = {"HTTP_HX_REQUEST": "true"}


def shown(response: Any) -> set[int]:
    return {int(pk) for pk in re.findall(r'id="tile-(\d+)"', response.content.decode())}


@pytest.mark.django_db
def test_it_filters_by_each_parameter_and_combines_them(
    client: Any, alice: Any
) -> None:
    base = {"mode": "text-to-video", "resolution": "720p", "aspect_ratio": "16:9"}
    match = video(alice, **base, duration=12, sound=False)
    other_mode = video(alice, **{**base, "mode": "image-to-video"}, duration=12)
    other_res = video(alice, **{**base, "resolution": "480p"}, duration=12)
    other_shape = video(alice, **{**base, "aspect_ratio": "9:16"}, duration=12)
    other_length = video(alice, **base, duration=4, sound=False)
    with_sound = video(alice, **base, duration=12, sound=True)
    client.force_login(alice)
    assert shown(client.get("/gallery/?mode=image-to-video")) == {other_mode.pk}
    assert shown(client.get("/gallery/?resolution=480p")) == {other_res.pk}
    assert shown(client.get("/gallery/?aspect_ratio=9:16")) == {other_shape.pk}
    assert shown(client.get("/gallery/?duration=4")) == {other_length.pk}
    assert with_sound.pk in shown(client.get("/gallery/?sound=on"))
    assert shown(client.get("/gallery/?sound=off")) == {match.pk, other_length.pk}
    combined = client.get(
        "/gallery/?mode=text-to-video&resolution=720p&aspect_ratio=16:9"
        "&duration=12&sound=off"
    )
    assert shown(combined) == {match.pk}
    assert "Videos matching your filters" in combined.content.decode()


@pytest.mark.django_db
def test_it_shows_mine_or_everyones_visible_videos(
    client: Any, alice: Any, bob: Any
) -> None:
    mine = video(alice)
    my_private = video(alice, is_private=True)
    theirs = video(bob)
    their_private = video(bob, is_private=True)
    client.force_login(alice)
    assert shown(client.get("/gallery/")) == {mine.pk, my_private.pk, theirs.pk}
    assert shown(client.get("/gallery/?owner=mine")) == {mine.pk, my_private.pk}
    assert their_private.pk not in shown(client.get("/gallery/?q=fox"))


@pytest.mark.django_db
def test_it_filters_by_the_day_a_video_was_made(client: Any, alice: Any) -> None:
    day = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    before = video(alice, created_at=day - dt.timedelta(days=2))
    first = video(alice, created_at=day.replace(hour=0, minute=0))
    last = video(alice, created_at=day.replace(hour=23, minute=59))
    after = video(alice, created_at=day + dt.timedelta(days=1))
    client.force_login(alice)
    assert shown(client.get("/gallery/?since=2026-03-10&until=2026-03-10")) == {
        first.pk,
        last.pk,
    }
    assert shown(client.get("/gallery/?since=2026-03-11")) == {after.pk}
    assert shown(client.get("/gallery/?until=2026-03-09")) == {before.pk}


@pytest.mark.django_db
def test_it_searches_prompts_ignoring_case(client: Any, alice: Any, bob: Any) -> None:
    storm = video(alice, prompt="A Lighthouse in a storm")
    video(bob, prompt="A fox in the snow")
    teammate = video(bob, prompt="lighthouse keeper at dawn")
    client.force_login(alice)
    response = client.get("/gallery/?q=LIGHTHOUSE")
    assert shown(response) == {storm.pk, teammate.pk}
    assert 'value="LIGHTHOUSE"' in response.content.decode()
    assert shown(client.get("/gallery/?q=%25")) == set()  # a literal %, not "all"


@pytest.mark.django_db
def test_it_filters_my_favourites_only(client: Any, alice: Any, bob: Any) -> None:
    starred = video(bob, prompt="Starred by alice")
    bobs_star = video(bob, prompt="Starred by bob")
    video(alice, prompt="Not starred")
    Favourite.objects.create(user=alice, task=starred)
    Favourite.objects.create(user=bob, task=bobs_star)
    client.force_login(alice)
    response = client.get("/gallery/?favourites=1")
    assert shown(response) == {starred.pk}
    page = response.content.decode()
    assert f'id="star-{starred.pk}"' in page
    assert 'aria-pressed="true"' in page


@pytest.mark.django_db
def test_it_teaches_when_nothing_matches(client: Any, alice: Any) -> None:
    video(alice, prompt="A fox")
    client.force_login(alice)
    page = client.get("/gallery/?q=walrus").content.decode()
    assert "No videos match these filters" in page
    assert 'href="/gallery/">Clear filters</a>' in page
    assert "The gallery is empty" not in page


@pytest.mark.django_db
def test_it_keeps_the_filters_in_the_next_page_link(
    client: Any, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gallery_views, "PAGE_SIZE", 2)
    foxes = [video(alice, prompt=f"fox {i}", aspect_ratio="9:16") for i in range(3)]
    video(alice, prompt="fox square", aspect_ratio="1:1")
    client.force_login(alice)
    first = client.get("/gallery/?q=fox&aspect_ratio=9:16&mode=")
    page = first.content.decode()
    assert shown(first) == {foxes[2].pk, foxes[1].pk}
    more = f"/gallery/?q=fox&amp;aspect_ratio=9%3A16&amp;before={foxes[1].pk}"
    assert f'href="{more}"' in page
    second = client.get(more.replace("&amp;", "&"), **HTMX)
    assert shown(second) == {foxes[0].pk}
    assert "<html" not in second.content.decode()


@pytest.mark.django_db
def test_it_answers_htmx_with_the_results_only(client: Any, alice: Any) -> None:
    match = video(alice, aspect_ratio="21:9")
    client.force_login(alice)
    response = client.get("/gallery/?aspect_ratio=21:9", **HTMX)
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="gallery-results"')
    assert f'id="tile-{match.pk}"' in page
    assert 'id="gallery-filters"' not in page
    assert "HX-Request" in response["Vary"]
    restore = client.get(
        "/gallery/?aspect_ratio=21:9", **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in restore.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "mode=poetry",
        "duration=7",
        "duration=abc",
        "aspect_ratio=2:1",
        "sound=loud",
        "owner=bob",
        "since=yesterday",
        "since=0001-01-01",
        "until=9999-12-31",
        "since=2026-05-02&until=2026-05-01",
        "favourites=maybe",
        "q=" + "x" * 500,
        "q=%00",
        "resolution[]=720p",
    ],
)
def test_it_shows_a_clean_page_for_bad_filter_values(
    client: Any, alice: Any, query: str
) -> None:
    kept = video(alice)
    client.force_login(alice)
    response = client.get(f"/gallery/?{query}")
    assert response.status_code == 200
    if query.split("=")[0] in {"mode", "duration", "aspect_ratio", "sound", "owner"}:
        assert kept.pk in shown(response)  # the bad value is ignored, not applied
    for htmx in (True, False):
        headers = HTMX if htmx else {}
        assert client.get(f"/gallery/?{query}", **headers).status_code == 200


@pytest.mark.django_db
def test_it_says_which_filter_was_ignored(client: Any, alice: Any) -> None:
    client.force_login(alice)
    page = client.get("/gallery/?duration=7&since=2026-05-02&until=2026-05-01")
    text = page.content.decode()
    assert "Duration: Select a valid choice" in text
    assert "The end date is before the start date." in text


@pytest.mark.django_db
@pytest.mark.parametrize("before", ["1;drop", "-1", "9" * 40, "²", "١٢"])
def test_it_rejects_a_bad_cursor(client: Any, alice: Any, before: str) -> None:
    client.force_login(alice)
    assert client.get(f"/gallery/?before={before}").status_code == 400


@pytest.mark.django_db
def test_it_costs_the_same_queries_for_5_or_50_videos(
    client: Any, alice: Any, bob: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(5):
        video(alice if i % 2 else bob, prompt=f"fox {i}")
    Favourite.objects.create(user=alice, task=GenerationTask.objects.first())
    client.force_login(alice)
    urls = ["/gallery/", "/gallery/?q=fox&owner=mine&favourites=1&duration=8"]
    counts = {}
    for url in urls:
        with django_assert_max_num_queries(10) as few:
            assert client.get(url).status_code == 200
        counts[url] = len(few.captured_queries)
    for i in range(45):
        task = video(alice if i % 2 else bob, prompt=f"fox {i}")
        Favourite.objects.create(user=alice, task=task)
    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            response = client.get(url)
        assert response.status_code == 200
    assert len(shown(client.get("/gallery/"))) == gallery_views.PAGE_SIZE


@pytest.mark.django_db
def test_it_reads_the_gallery_indexes_instead_of_sorting(alice: Any) -> None:
    """The keyset query walks an index in id order (SQLite's plan, as in dev)."""
    if connection.vendor != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    for filters, index in [({}, "gallery_task_visible"), ({"owner": "mine"}, "")]:
        tasks = gallery_views.gallery_queryset(alice, filters)
        query = gallery_views.with_favourite_flag(tasks, alice).order_by("-id")[:25]
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "TEMP B-TREE FOR ORDER BY" not in plan
        assert (index or "gallery_task_owner") in plan
