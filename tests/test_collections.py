"""Collections: the member pages, ordering, adding from a video's page, and the
``add_to_collection`` service the gallery's bulk action shares."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from generations import sharing
from generations.models import Collection, CollectionItem, GenerationTask, ShareLink
from tests.factories import collection_of, html, make_finished_task, share


@pytest.fixture
def takes(alice: Any) -> list[GenerationTask]:
    return [make_finished_task(alice, prompt=f"take {n}") for n in (1, 2, 3)]


def order_of(collection: Collection) -> list[str]:
    return [
        item.video.task.prompt
        for item in collection.items.select_related("video__task").order_by(
            "position", "id"
        )
    ]


# --- Listing, creating, editing, deleting ----------------------------------------


@pytest.mark.django_db
def test_it_lists_only_my_collections_with_counts_and_covers(
    client: Client, alice: Any, bob: Any, takes: list[GenerationTask]
) -> None:
    collection_of(alice, *takes, title="Client cut")
    collection_of(alice, title="Empty one")
    collection_of(bob, title="Bob's private board")
    client.force_login(alice)
    page = html(client.get("/collections/"))
    assert "Client cut" in page and "Empty one" in page
    assert "Bob" not in page
    assert "3 videos" in page and "0 videos" in page
    assert f'src="/media/posters/{takes[0].pk}.jpg"' in page


@pytest.mark.django_db
def test_it_creates_a_collection(client: Client, alice: Any) -> None:
    client.force_login(alice)
    response = client.post(
        "/collections/new/", {"title": "  Spring  ", "description": "For Ana"}
    )
    collection = Collection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/collections/{collection.pk}/"
    assert (collection.owner, collection.title, collection.description) == (
        alice,
        "Spring",
        "For Ana",
    )


@pytest.mark.django_db
def test_it_refuses_a_collection_without_title(client: Client, alice: Any) -> None:
    client.force_login(alice)
    response = client.post("/collections/new/", {"title": "   "})
    assert response.status_code == 422
    assert "field-error" in html(response)
    assert not Collection.objects.exists()
    assert client.get("/collections/new/").status_code == 405


@pytest.mark.django_db
def test_it_edits_title_and_description(client: Client, alice: Any) -> None:
    collection = collection_of(alice, title="Old")
    client.force_login(alice)
    response = client.post(
        f"/collections/{collection.pk}/edit/", {"title": "New", "description": "Notes"}
    )
    assert response.status_code == 302
    collection.refresh_from_db()
    assert (collection.title, collection.description) == ("New", "Notes")
    response = client.post(f"/collections/{collection.pk}/edit/", {"title": ""})
    assert response.status_code == 422
    collection.refresh_from_db()
    assert collection.title == "New"


@pytest.mark.django_db
def test_it_shows_a_collection_in_order_with_its_links(
    client: Client, alice: Any, takes: list[GenerationTask]
) -> None:
    collection = collection_of(alice, *reversed(takes), title="Reel")
    share(alice, collection=collection)
    client.force_login(alice)
    page = html(client.get(f"/collections/{collection.pk}/"))
    assert re.findall(r"take \d", page) == ["take 3", "take 2", "take 1"]
    assert 'class="mini-link"' in page
    assert f'action="/collections/{collection.pk}/links/"' in page
    assert "Create public link" in page


@pytest.mark.django_db
def test_it_deletes_a_collection_and_its_links(
    client: Client, alice: Any, takes: list[GenerationTask]
) -> None:
    collection = collection_of(alice, *takes)
    token = share(alice, collection=collection)
    client.force_login(alice)
    response = client.post(f"/collections/{collection.pk}/delete/")
    assert response["Location"] == "/collections/"
    assert not Collection.objects.exists()
    assert not ShareLink.objects.exists()
    assert GenerationTask.objects.count() == 3  # the videos stay
    assert Client().get(f"/s/{token}/").status_code == 404


# --- Ordering and removing -----------------------------------------------------------


@pytest.mark.django_db
def test_it_moves_a_video_up_and_down(
    client: Client, alice: Any, takes: list[GenerationTask]
) -> None:
    collection = collection_of(alice, *takes)
    items = list(collection.items.order_by("position"))
    client.force_login(alice)
    url = f"/collections/{collection.pk}/items/{items[2].pk}/move/"
    response = client.post(url, {"direction": "up"})
    assert response["Location"] == f"/collections/{collection.pk}/#item-{items[2].pk}"
    assert order_of(collection) == ["take 1", "take 3", "take 2"]
    client.post(url, {"direction": "up"})
    client.post(url, {"direction": "up"})  # already first: nothing happens
    assert order_of(collection) == ["take 3", "take 1", "take 2"]
    client.post(
        f"/collections/{collection.pk}/items/{items[0].pk}/move/", {"direction": "down"}
    )
    assert order_of(collection) == ["take 3", "take 2", "take 1"]
    assert client.post(url, {"direction": "sideways"}).status_code == 400
    assert (
        client.post(
            f"/collections/{collection.pk}/items/999999/move/", {"direction": "up"}
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_it_stores_a_dragged_order(
    client: Client, alice: Any, takes: list[GenerationTask]
) -> None:
    collection = collection_of(alice, *takes)
    first, second, third = collection.items.order_by("position")
    client.force_login(alice)
    url = f"/collections/{collection.pk}/order/"
    response = client.post(
        url, {"item": [third.pk, first.pk, second.pk]}, HTTP_X_REQUESTED_WITH="fetch"
    )
    assert response.status_code == 204
    assert order_of(collection) == ["take 3", "take 1", "take 2"]
    assert [i.position for i in collection.items.order_by("position")] == [0, 1, 2]
    # Items the client did not know about keep their place after the named ones.
    client.post(url, {"item": [second.pk]})
    assert order_of(collection) == ["take 2", "take 3", "take 1"]
    assert client.post(url, {"item": ["x"]}).status_code == 400
    assert client.post(url).status_code == 400


@pytest.mark.django_db
def test_it_removes_a_video_from_a_collection_only(
    client: Client, alice: Any, takes: list[GenerationTask]
) -> None:
    collection = collection_of(alice, *takes)
    item = collection.items.order_by("position").first()
    assert item
    client.force_login(alice)
    response = client.post(f"/collections/{collection.pk}/items/{item.pk}/remove/")
    assert response.status_code == 302
    assert order_of(collection) == ["take 2", "take 3"]
    assert GenerationTask.objects.filter(pk=takes[0].pk).exists()
    again = client.post(f"/collections/{collection.pk}/items/{item.pk}/remove/")
    assert again.status_code == 404


@pytest.mark.django_db
def test_it_notes_videos_that_are_no_longer_shown(
    client: Client, alice: Any, bob: Any, takes: list[GenerationTask]
) -> None:
    theirs = make_finished_task(bob, prompt="bob's take")
    collection = collection_of(alice, takes[0], theirs)
    GenerationTask.objects.filter(pk=theirs.pk).update(is_private=True)
    client.force_login(alice)
    page = html(client.get(f"/collections/{collection.pk}/"))
    assert "bob&#x27;s take" not in page
    assert "1 hidden or private video left out" in page


# --- Adding from a video's page ------------------------------------------------------


@pytest.mark.django_db
def test_it_offers_my_collections_on_the_detail_page(
    client: Client, alice: Any, bob: Any, takes: list[GenerationTask]
) -> None:
    mine = collection_of(alice, title="Mine")
    collection_of(bob, title="Not mine")
    client.force_login(alice)
    page = html(client.get(f"/videos/{takes[0].pk}/"))
    assert f'<option value="{mine.pk}">Mine</option>' in page
    assert "Not mine" not in page
    assert f'action="/videos/{takes[0].pk}/links/"' in page
    assert f'action="/videos/{takes[0].pk}/collect/"' in page


@pytest.mark.django_db
def test_it_adds_a_video_to_an_existing_or_new_collection(
    client: Client, alice: Any, takes: list[GenerationTask]
) -> None:
    collection = collection_of(alice, takes[0])
    client.force_login(alice)
    url = f"/videos/{takes[1].pk}/collect/"
    response = client.post(url, {"collection": collection.pk})
    assert response["Location"] == f"/videos/{takes[1].pk}/"
    assert order_of(collection) == ["take 1", "take 2"]
    client.post(url, {"collection": collection.pk})  # twice: still once
    assert collection.items.count() == 2
    client.post(url, {"collection": "new", "new_title": "Fresh"})
    fresh = Collection.objects.get(title="Fresh")
    assert fresh.owner == alice
    assert order_of(fresh) == ["take 2"]
    client.post(url, {"collection": "new", "new_title": ""})
    client.post(url, {"collection": "nonsense"})
    assert Collection.objects.count() == 2


@pytest.mark.django_db
def test_it_refuses_someone_elses_private_video_and_collection(
    client: Client, alice: Any, bob: Any, takes: list[GenerationTask]
) -> None:
    private = make_finished_task(bob, is_private=True)
    teammate = make_finished_task(bob)
    bobs = collection_of(bob, title="Bob's")
    mine = collection_of(alice, title="Alice's")
    client.force_login(alice)
    assert (
        client.post(
            f"/videos/{private.pk}/collect/", {"collection": mine.pk}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/videos/{takes[0].pk}/collect/", {"collection": bobs.pk}
        ).status_code
        == 404
    )
    assert not CollectionItem.objects.exists()
    # A teammate's public video may go into my own collection.
    client.post(f"/videos/{teammate.pk}/collect/", {"collection": mine.pk})
    assert mine.items.count() == 1


@pytest.mark.django_db
def test_it_keeps_other_members_out_of_my_collection(
    client: Client, alice: Any, bob: Any, takes: list[GenerationTask]
) -> None:
    collection = collection_of(alice, *takes, title="Alice's")
    item = collection.items.first()
    assert item
    client.force_login(bob)
    pk = collection.pk
    assert client.get(f"/collections/{pk}/").status_code == 404
    for url, data in [
        (f"/collections/{pk}/edit/", {"title": "Mine now"}),
        (f"/collections/{pk}/delete/", {}),
        (f"/collections/{pk}/order/", {"item": [item.pk]}),
        (f"/collections/{pk}/items/{item.pk}/move/", {"direction": "down"}),
        (f"/collections/{pk}/items/{item.pk}/remove/", {}),
        (f"/collections/{pk}/links/", {"expiry": "7d"}),
    ]:
        assert client.post(url, data).status_code == 404, url
    collection.refresh_from_db()
    assert collection.title == "Alice's"
    assert collection.items.count() == 3
    assert not ShareLink.objects.exists()


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_log_in(client: Client, alice: Any) -> None:
    collection = collection_of(alice)
    for url in ("/collections/", f"/collections/{collection.pk}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_it_refuses_the_wrong_method(client: Client, alice: Any) -> None:
    collection = collection_of(alice)
    client.force_login(alice)
    assert client.post("/collections/").status_code == 405
    assert client.get(f"/collections/{collection.pk}/delete/").status_code == 405
    assert client.get(f"/collections/{collection.pk}/order/").status_code == 405


# --- The shared service ------------------------------------------------------------


@pytest.mark.django_db
def test_add_to_collection_appends_in_order_and_skips_duplicates(
    alice: Any, takes: list[GenerationTask]
) -> None:
    collection = sharing.create_collection(owner=alice, title="Bulk")
    videos = [t.video for t in takes]
    assert (
        sharing.add_to_collection(owner=alice, collection=collection, videos=videos[:2])
        == 2
    )
    added = sharing.add_to_collection(
        owner=alice, collection=collection, videos=[videos[1], videos[2], videos[2]]
    )
    assert added == 1
    assert order_of(collection) == ["take 1", "take 2", "take 3"]
    assert sharing.add_to_collection(owner=alice, collection=collection, videos=[]) == 0


@pytest.mark.django_db
def test_add_to_collection_refuses_and_adds_nothing(
    alice: Any, bob: Any, takes: list[GenerationTask]
) -> None:
    collection = sharing.create_collection(owner=alice, title="Bulk")
    private = make_finished_task(bob, is_private=True)
    with pytest.raises(sharing.SharingRefused):
        sharing.add_to_collection(
            owner=alice, collection=collection, videos=[takes[0].video, private.video]
        )
    with pytest.raises(sharing.SharingRefused):
        sharing.add_to_collection(owner=bob, collection=collection, videos=[])
    assert not collection.items.exists()


@pytest.mark.django_db
def test_it_limits_the_description_with_a_clear_message(
    client: Client, alice: Any
) -> None:
    collection = collection_of(alice, title="Kept")
    Collection.objects.filter(pk=collection.pk).update(description="Kept notes")
    client.force_login(alice)
    huge = "x" * (5 * 1024 * 1024)
    response = client.post("/collections/new/", {"title": "Big", "description": huge})
    assert response.status_code == 422
    assert "Keep the description to 2,000 characters or fewer" in html(response)
    assert not Collection.objects.filter(title="Big").exists()
    response = client.post(
        f"/collections/{collection.pk}/edit/", {"title": "New", "description": huge}
    )
    assert response.status_code == 422
    assert len(html(response)) < 1024 * 1024  # the page does not echo 5 MB back
    collection.refresh_from_db()
    assert (collection.title, collection.description) == ("Kept", "Kept notes")
    ok = "y" * 2000
    response = client.post("/collections/new/", {"title": "Fits", "description": ok})
    assert response.status_code == 302
