"""The one visibility rule (``GenerationTask.objects`` / ``VideoAsset.objects``).

Alice owns a plain, a private, a hidden and a hidden-private finished video and a
task still in flight; each method is checked for the owner, a teammate (bob),
staff and an anonymous visitor (who sees videos only through a share link).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from generations import sharing
from generations.models import GenerationTask, State, VideoAsset
from generations.models.sharing import LinkStatus
from tests.factories import make_finished_task, share

pytestmark = pytest.mark.django_db


def _task(owner: Any, name: str, **fields: Any) -> GenerationTask:
    if fields.get("state", State.SUCCEEDED) == State.SUCCEEDED:
        return make_finished_task(owner, prompt=name, **fields)
    return GenerationTask.objects.create(owner=owner, prompt=name, cost=8, **fields)


@pytest.fixture
def videos(alice: Any) -> dict[str, GenerationTask]:
    return {
        "plain": _task(alice, "plain"),
        "private": _task(alice, "private", is_private=True),
        "hidden": _task(alice, "hidden", hidden=True),
        "hidden_private": _task(alice, "hidden_private", hidden=True, is_private=True),
        "in_flight": _task(alice, "in_flight", state=State.GENERATING),
    }


def _names(tasks: Any) -> set[str]:
    return {task.prompt for task in tasks}


def _video_names(videos: Any) -> set[str]:
    return {video.task.prompt for video in videos.select_related("task")}


def test_it_lets_the_owner_open_all_her_tasks_hidden_and_private_included(
    alice: Any, videos: dict[str, GenerationTask]
) -> None:
    assert _names(GenerationTask.objects.visible_to(alice)) == set(videos)


@pytest.mark.parametrize("who", ["bob", "staff"])
def test_it_lets_teammates_and_staff_open_only_public_unhidden_tasks(
    who: str, request: Any, videos: dict[str, GenerationTask]
) -> None:
    member = request.getfixturevalue(who)
    visible = GenerationTask.objects.visible_to(member)
    assert _names(visible) == {"plain", "in_flight"}


def test_it_lets_anonymous_visitors_open_nothing(
    videos: dict[str, GenerationTask],
) -> None:
    assert not GenerationTask.objects.visible_to(AnonymousUser()).exists()
    assert not GenerationTask.objects.in_gallery_of(AnonymousUser()).exists()
    assert not VideoAsset.objects.shareable_by(AnonymousUser()).exists()


def test_it_shows_the_owner_her_finished_unhidden_videos_in_the_gallery(
    alice: Any, videos: dict[str, GenerationTask]
) -> None:
    gallery = GenerationTask.objects.in_gallery_of(alice)
    assert _names(gallery) == {"plain", "private"}
    mine = GenerationTask.objects.in_gallery_of(alice, only_own=True)
    assert _names(mine) == {"plain", "private"}


@pytest.mark.parametrize("who", ["bob", "staff"])
def test_it_shows_teammates_and_staff_only_public_videos_in_the_gallery(
    who: str, request: Any, videos: dict[str, GenerationTask]
) -> None:
    member = request.getfixturevalue(who)
    assert _names(GenerationTask.objects.in_gallery_of(member)) == {"plain"}
    assert not GenerationTask.objects.in_gallery_of(member, only_own=True).exists()


def test_it_lets_each_member_share_what_their_gallery_shows(
    alice: Any, bob: Any, staff: Any, videos: dict[str, GenerationTask]
) -> None:
    for member in (alice, bob, staff):
        gallery = _names(GenerationTask.objects.in_gallery_of(member))
        assert _names(GenerationTask.objects.shareable_by(member)) == gallery
        assert _video_names(VideoAsset.objects.shareable_by(member)) == gallery
    assert _video_names(VideoAsset.objects.shareable_by(bob)) == {"plain"}


def test_it_shows_anonymous_visitors_a_link_while_its_sharer_may_share(
    alice: Any, bob: Any, videos: dict[str, GenerationTask]
) -> None:
    plain = videos["plain"]
    bobs = sharing.create_link(owner=bob, video=plain.video).link
    alices = sharing.create_link(owner=alice, video=plain.video).link
    assert sharing.public_status(bobs) is None
    GenerationTask.objects.filter(pk=plain.pk).update(is_private=True)
    assert sharing.public_status(bobs) == LinkStatus.EXPIRED
    assert sharing.public_status(alices) is None
    GenerationTask.objects.filter(pk=plain.pk).update(hidden=True)
    assert sharing.public_status(alices) == LinkStatus.EXPIRED


def test_it_refuses_to_share_a_teammates_private_or_hidden_video(
    bob: Any, videos: dict[str, GenerationTask]
) -> None:
    for name in ("private", "hidden", "hidden_private"):
        with pytest.raises(sharing.SharingRefused):
            sharing.create_link(owner=bob, video=videos[name].video)


def test_it_lists_only_the_owners_unhidden_tasks_in_her_task_list(
    alice: Any, bob: Any, staff: Any, videos: dict[str, GenerationTask]
) -> None:
    listed = GenerationTask.objects.in_task_list_of(alice)
    assert _names(listed) == {"plain", "private", "in_flight"}
    for other in (bob, staff, AnonymousUser()):
        assert not GenerationTask.objects.in_task_list_of(other).exists()


@pytest.mark.django_db
def test_the_owner_makes_a_video_private_and_back(alice: Any, bob: Any) -> None:
    """Private takes the video out of teammates' gallery, detail and every link
    at once; only the owner can change it; made the team's again, it is back."""
    task = make_finished_task(alice, prompt="A private lighthouse")
    own_link = share(alice, video=task.video)
    token = share(bob, video=task.video)  # a teammate's link to it
    owner, teammate = Client(), Client()
    owner.force_login(alice)
    teammate.force_login(bob)
    assert "A private lighthouse" in teammate.get("/gallery/").content.decode()
    page = owner.get(f"/videos/{task.pk}/").content.decode()
    assert "Make this video private?" in page  # asks first
    assert teammate.post(
        f"/videos/{task.pk}/privacy/", {"private": "1"}
    ).status_code == 404  # fmt: skip
    assert Client().get(f"/s/{token}/").status_code == 200

    assert (
        owner.post(f"/videos/{task.pk}/privacy/", {"private": "1"}).status_code == 302
    )
    assert "A private lighthouse" not in teammate.get("/gallery/").content.decode()
    assert teammate.get(f"/videos/{task.pk}/").status_code == 404
    assert Client().get(f"/s/{token}/").status_code in {404, 410}
    assert Client().get(f"/s/{own_link}/").status_code == 200  # hers keep working
    assert "A private lighthouse" in owner.get("/gallery/").content.decode()
    assert "Show to the team" in owner.get(f"/videos/{task.pk}/").content.decode()

    owner.post(f"/videos/{task.pk}/privacy/", {"private": "0"})
    assert teammate.get(f"/videos/{task.pk}/").status_code == 200
    assert Client().get(f"/s/{token}/").status_code == 200
    assert owner.get(f"/videos/{task.pk}/privacy/").status_code == 405
