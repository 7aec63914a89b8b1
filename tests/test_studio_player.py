"""The Studio's large player shows the member's newest finished video, read
from the page's own rows when they hold it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generations.models import GenerationTask
from generations.views.dashboard import PAGE_SIZE
from tests.factories import make_finished_task
from tests.factories import queue_short as queue


def player_of(client: Any) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/").content.decode()
    player = page[page.index('id="player"') : page.index('id="task-cards"')]
    return player, [q["sql"] for q in queries.captured_queries]


def asks_for_a_video(sqls: list[str]) -> bool:
    """The player's own query: the member's newest succeeded task with a video."""
    return any(
        re.search(r'"video"\."id" IS NOT NULL|"state" = \'succeeded\'', s) for s in sqls
    )


@pytest.mark.django_db
def test_it_takes_the_newest_video_from_the_page_without_asking_again(
    client: Any, alice: Any
) -> None:
    make_finished_task(alice, prompt="An older fox")
    newest = make_finished_task(alice, prompt="The newest fox")
    queue(alice, "waiting above it")
    client.force_login(alice)
    player, sqls = player_of(client)
    assert f"/media/videos/{newest.pk}.mp4" in player
    assert not asks_for_a_video(sqls)


@pytest.mark.django_db
def test_it_finds_a_video_older_than_the_page(client: Any, alice: Any) -> None:
    old = make_finished_task(alice, prompt="Long ago")
    for i in range(PAGE_SIZE + 1):
        queue(alice, f"queued {i}")
    client.force_login(alice)
    player, sqls = player_of(client)
    assert f"/media/videos/{old.pk}.mp4" in player
    assert asks_for_a_video(sqls)


@pytest.mark.django_db
def test_it_shows_no_player_for_a_member_without_videos(
    client: Any, alice: Any, bob: Any
) -> None:
    make_finished_task(bob, prompt="Bob's owl")
    hidden = make_finished_task(alice, prompt="Hidden")
    GenerationTask.objects.filter(pk=hidden.pk).update(hidden=True)
    queue(alice, "only a queued one")
    client.force_login(alice)
    player, sqls = player_of(client)
    assert "<video" not in player
    assert not asks_for_a_video(sqls)  # a short list holds all there is
