"""Favourites, and the gallery's bulk actions: favourite, hide, zip, collect."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from generations.models import (
    Collection,
    CollectionItem,
    Favourite,
    GenerationTask,
)
from generations.views import gallery as gallery_views
from tests.factories import make_video_row as video
from tests.factories import put_media

HTMX = {"HTTP_HX_REQUEST": "true"}


def with_file(task: GenerationTask, payload: bytes | None = None) -> bytes:
    """Write bytes where the task's video row says its file is."""
    data = payload if payload is not None else f"video {task.pk}".encode() * 1000
    put_media(task.video.file.name, data)
    task.video.size_bytes = len(data)
    task.video.save(update_fields=["size_bytes"])
    return data


def stars(user: Any) -> set[int]:
    return set(Favourite.objects.filter(user=user).values_list("task_id", flat=True))


def messages_of(response: Any) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages)


# ---------- one star ----------


@pytest.mark.django_db
def test_it_stars_and_unstars_a_video(client: Any, alice: Any, bob: Any) -> None:
    task = video(bob)
    client.force_login(alice)
    response = client.post(f"/videos/{task.pk}/favourite/", {"value": "1"}, **HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith(f'<form id="star-{task.pk}"')
    assert 'aria-pressed="true"' in page
    assert 'name="value" value="0"' in page  # the next click unstars
    assert stars(alice) == {task.pk}
    assert stars(bob) == set()
    # A double click cannot flip it back: the value is explicit.
    client.post(f"/videos/{task.pk}/favourite/", {"value": "1"}, **HTMX)
    assert Favourite.objects.filter(user=alice).count() == 1
    client.post(f"/videos/{task.pk}/favourite/", {"value": "0"}, **HTMX)
    assert stars(alice) == set()


@pytest.mark.django_db
def test_it_stars_without_javascript_and_goes_back(client: Any, alice: Any) -> None:
    task = video(alice)
    client.force_login(alice)
    response = client.post(
        f"/videos/{task.pk}/favourite/",
        {"value": "1", "next": "/gallery/?q=fox"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/gallery/?q=fox"
    evil = client.post(
        f"/videos/{task.pk}/favourite/",
        {"value": "1", "next": "https://evil.example/"},
    )
    assert evil["Location"] == "/gallery/"


@pytest.mark.django_db
def test_it_will_not_star_what_the_member_cannot_see(
    client: Any, alice: Any, bob: Any
) -> None:
    private = video(bob, is_private=True)
    hidden = video(bob, hidden=True)
    client.force_login(alice)
    for task in (private, hidden):
        url = f"/videos/{task.pk}/favourite/"
        assert client.post(url, {"value": "1"}).status_code == 404
    assert client.post("/videos/999999/favourite/", {"value": "1"}).status_code == 404
    assert stars(alice) == set()


@pytest.mark.django_db
def test_it_checks_method_value_and_login_for_a_star(client: Any, alice: Any) -> None:
    task = video(alice)
    url = f"/videos/{task.pk}/favourite/"
    assert client.post(url, {"value": "1"}).status_code == 302  # to login
    client.force_login(alice)
    assert client.get(url).status_code == 405
    assert client.post(url, {"value": "yes"}).status_code == 400
    assert client.post(url).status_code == 400
    assert stars(alice) == set()


@pytest.mark.django_db
def test_it_shows_the_star_on_the_detail_page(client: Any, alice: Any) -> None:
    task = video(alice)
    Favourite.objects.create(user=alice, task=task)
    client.force_login(alice)
    page = client.get(f"/videos/{task.pk}/").content.decode()
    assert f'id="star-{task.pk}"' in page
    assert 'aria-pressed="true"' in page


# ---------- bulk favourite ----------


@pytest.mark.django_db
def test_it_stars_the_selected_visible_videos(
    client: Any, alice: Any, bob: Any
) -> None:
    mine = video(alice)
    theirs = video(bob)
    private = video(bob, is_private=True)
    client.force_login(alice)
    ids = [mine.pk, theirs.pk, private.pk]
    response = client.post(
        "/gallery/bulk/favourite/", {"ids": ids, "value": "1"}, **HTMX
    )
    assert response.status_code == 200
    assert stars(alice) == {mine.pk, theirs.pk}
    page = response.content.decode()
    assert f'id="star-{mine.pk}"' in page and 'hx-swap-oob="true"' in page
    assert f'id="star-{private.pk}"' not in page
    assert "Starred 2 videos." in page
    response = client.post(
        "/gallery/bulk/favourite/", {"ids": [mine.pk], "value": "0"}, **HTMX
    )
    assert stars(alice) == {theirs.pk}
    assert "Unstarred 1 video." in response.content.decode()


@pytest.mark.django_db
def test_it_refuses_a_bad_or_empty_selection(client: Any, alice: Any) -> None:
    task = video(alice)
    client.force_login(alice)
    url = "/gallery/bulk/favourite/"
    assert client.get(url).status_code == 405
    assert client.post(url, {"ids": [task.pk], "value": "2"}).status_code == 400
    nothing = client.post(url, {"value": "1"}, **HTMX)
    assert nothing.status_code == 422
    assert "Select at least one video first." in nothing.content.decode()
    garbage = client.post(url, {"ids": ["1;drop"], "value": "1"}, **HTMX)
    assert garbage.status_code == 422
    for odd in ("9" * 40, "²", "-3"):
        refused = client.post(url, {"ids": [task.pk, odd], "value": "1"}, **HTMX)
        assert refused.status_code == 422
    too_many = client.post(
        url, {"ids": list(range(1, gallery_views.BULK_MAX + 2)), "value": "1"}, **HTMX
    )
    assert too_many.status_code == 422
    assert "at most 200 videos" in too_many.content.decode()
    no_js = client.post(url, {"value": "1", "next": "/gallery/?q=x"})
    assert no_js.status_code == 302 and no_js["Location"] == "/gallery/?q=x"
    assert stars(alice) == set()


# ---------- bulk hide ----------


@pytest.mark.django_db
def test_it_hides_only_the_members_own_videos(
    client: Any, alice: Any, bob: Any
) -> None:
    mine = video(alice)
    also_mine = video(alice)
    theirs = video(bob)
    client.force_login(alice)
    response = client.post(
        "/gallery/bulk/hide/", {"ids": [mine.pk, also_mine.pk, theirs.pk]}, **HTMX
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<li id="tile-{mine.pk}" hx-swap-oob="delete">' in page
    assert f'id="tile-{theirs.pk}"' not in page
    assert "Hid 2 videos" in page and "1 video by teammates stayed" in page
    hidden = set(
        GenerationTask.objects.filter(hidden=True).values_list("pk", flat=True)
    )
    assert hidden == {mine.pk, also_mine.pk}


@pytest.mark.django_db
def test_it_refuses_to_hide_a_teammates_video(
    client: Any, alice: Any, bob: Any
) -> None:
    theirs = video(bob)
    client.force_login(alice)
    response = client.post("/gallery/bulk/hide/", {"ids": [theirs.pk]}, **HTMX)
    assert response.status_code == 422
    assert "only their owners can hide them" in response.content.decode()
    no_js = client.post("/gallery/bulk/hide/", {"ids": [theirs.pk]})
    assert no_js.status_code == 302
    assert not GenerationTask.objects.filter(hidden=True).exists()
    assert client.get("/gallery/bulk/hide/").status_code == 405


# ---------- bulk download ----------


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_zips_exactly_the_selected_videos_the_member_may_see(
    client: Any, alice: Any, bob: Any
) -> None:
    mine = video(alice, prompt="A lighthouse in a storm!")
    theirs = video(bob, prompt="Neon rain")
    private = video(bob, prompt="Bob's secret", is_private=True)
    unselected = video(alice, prompt="Not selected")
    contents = {
        task.pk: with_file(task) for task in (mine, theirs, private, unselected)
    }
    client.force_login(alice)
    response = client.post(
        "/gallery/bulk/download/", {"ids": [mine.pk, theirs.pk, private.pk]}
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="seedance-2-videos-'
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    assert archive.namelist() == [
        f"{theirs.pk}-neon-rain.mp4",
        f"{mine.pk}-a-lighthouse-in-a-storm.mp4",
    ]
    assert archive.read(f"{mine.pk}-a-lighthouse-in-a-storm.mp4") == contents[mine.pk]
    assert archive.read(f"{theirs.pk}-neon-rain.mp4") == contents[theirs.pk]


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_caps_a_zip_and_refuses_an_empty_one(
    client: Any, alice: Any, bob: Any
) -> None:
    private = video(bob, is_private=True)
    with_file(private)
    client.force_login(alice)
    url = "/gallery/bulk/download/"
    too_many = client.post(
        url, {"ids": list(range(1, gallery_views.ZIP_MAX + 2)), "next": "/gallery/"}
    )
    assert too_many.status_code == 302
    assert "You can download at most 50 videos at once" in messages_of(too_many)
    none = client.post(url, {"ids": [private.pk]})
    assert none.status_code == 302
    assert "None of the selected videos can be downloaded." in messages_of(none)
    assert client.get(url).status_code == 405


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_skips_a_video_whose_file_is_missing(client: Any, alice: Any) -> None:
    present = video(alice, prompt="present")
    missing = video(alice, prompt="missing")
    with_file(present)
    client.force_login(alice)
    response = client.post("/gallery/bulk/download/", {"ids": [present.pk, missing.pk]})
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == [f"{present.pk}-present.mp4"]


# ---------- bulk add to a collection ----------


@pytest.mark.django_db
def test_it_creates_a_collection_of_the_videos_the_member_may_share(
    client: Any, alice: Any, bob: Any
) -> None:
    older = video(alice)
    newer = video(alice)
    teammates = video(bob)
    private = video(bob, is_private=True)
    hidden = video(alice, hidden=True)
    client.force_login(alice)
    response = client.post(
        "/gallery/bulk/collect/",
        {
            "ids": [older.pk, newer.pk, teammates.pk, private.pk, hidden.pk],
            "new_title": " Best ",
        },
        **HTMX,
    )
    assert response.status_code == 200
    collection = Collection.objects.get()
    assert (collection.owner, collection.title) == (alice, "Best")
    items = list(collection.items.values_list("video__task_id", "position"))
    # A teammate's video is in (the team's gallery); a private or hidden one never.
    assert items == [(teammates.pk, 0), (newer.pk, 1), (older.pk, 2)]
    assert "Added 3 videos to “Best”." in response.content.decode()


@pytest.mark.django_db
def test_it_appends_to_an_existing_collection_once(client: Any, alice: Any) -> None:
    first, second, third = video(alice), video(alice), video(alice)
    collection = Collection.objects.create(owner=alice, title="Reel")
    CollectionItem.objects.create(collection=collection, video=first.video, position=4)
    client.force_login(alice)
    ids = [first.pk, second.pk, third.pk]
    client.post(
        "/gallery/bulk/collect/", {"ids": ids, "collection": collection.pk}, **HTMX
    )
    items = list(collection.items.values_list("video__task_id", "position"))
    assert items == [(first.pk, 4), (third.pk, 5), (second.pk, 6)]
    again = client.post(
        "/gallery/bulk/collect/", {"ids": ids, "collection": collection.pk}, **HTMX
    )
    assert "already in “Reel”" in again.content.decode()
    assert collection.items.count() == 3


@pytest.mark.django_db
def test_it_will_not_touch_another_members_collection_or_videos(
    client: Any, alice: Any, bob: Any
) -> None:
    mine = video(alice)
    theirs = video(bob, is_private=True)
    bobs = Collection.objects.create(owner=bob, title="Bob's")
    client.force_login(alice)
    url = "/gallery/bulk/collect/"
    assert (
        client.post(url, {"ids": [mine.pk], "collection": bobs.pk}).status_code == 404
    )
    assert client.post(url, {"ids": [mine.pk], "collection": "x"}).status_code == 404
    only_theirs = client.post(url, {"ids": [theirs.pk], "new_title": "Mine"}, **HTMX)
    assert only_theirs.status_code == 422
    assert "can go into a collection" in only_theirs.content.decode()
    assert not CollectionItem.objects.exists()
    assert list(Collection.objects.all()) == [bobs]


@pytest.mark.django_db
def test_it_needs_a_collection_or_a_title(client: Any, alice: Any) -> None:
    mine = video(alice)
    client.force_login(alice)
    url = "/gallery/bulk/collect/"
    untitled = client.post(url, {"ids": [mine.pk], "new_title": "  "}, **HTMX)
    assert untitled.status_code == 422
    assert "Choose a collection or type a title" in untitled.content.decode()
    long = client.post(url, {"ids": [mine.pk], "new_title": "x" * 201}, **HTMX)
    assert long.status_code == 422
    assert client.get(url).status_code == 405
    assert not Collection.objects.exists()


@pytest.mark.django_db
def test_it_offers_only_the_members_collections(
    client: Any, alice: Any, bob: Any
) -> None:
    video(alice)
    Collection.objects.create(owner=alice, title="Alice reel")
    Collection.objects.create(owner=bob, title="Bob reel")
    client.force_login(alice)
    page = client.get("/gallery/").content.decode()
    assert "Alice reel" in page
    assert "Bob reel" not in page
