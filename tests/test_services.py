"""The member-facing services the views call: hide, collect, save a preset."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from generations import services
from generations.models import Collection, GenerationTask, Preset
from tests.factories import make_finished_task, queue_task

pytestmark = pytest.mark.django_db


def test_it_hides_only_the_owners_finished_tasks(alice: Any, bob: Any) -> None:
    mine = make_finished_task(alice, prompt="mine")
    theirs = make_finished_task(bob, prompt="theirs")
    running = queue_task(alice)
    ids = [mine.pk, theirs.pk, running.pk]
    assert services.set_hidden(owner=alice, task_ids=ids, hidden=True) == [mine.pk]
    assert services.set_hidden(owner=alice, task_ids=ids, hidden=True) == []
    hidden = set(GenerationTask.objects.filter(hidden=True).values_list("pk", flat=1))
    assert hidden == {mine.pk}
    assert services.set_hidden(owner=alice, task_ids=ids, hidden=False) == [mine.pk]
    assert not GenerationTask.objects.filter(hidden=True).exists()


def test_it_collects_only_videos_the_member_may_share(alice: Any, bob: Any) -> None:
    mine = make_finished_task(alice, prompt="mine")
    private = make_finished_task(bob, prompt="private", is_private=True)
    collection, added = services.collect_videos(
        owner=alice, task_ids=[private.pk, mine.pk], collection=None, title=" Reel "
    )
    assert (collection.title, added) == ("Reel", 1)
    with pytest.raises(services.Refused, match="can go into a collection"):
        services.collect_videos(
            owner=alice, task_ids=[private.pk], collection=None, title="Other"
        )
    assert Collection.objects.count() == 1


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_it_refuses_a_new_collection_without_a_fitting_title(
    alice: Any, title: str
) -> None:
    mine = make_finished_task(alice)
    with pytest.raises(services.Refused):
        services.collect_videos(
            owner=alice, task_ids=[mine.pk], collection=None, title=title
        )
    assert not Collection.objects.exists()


def test_it_refuses_a_long_title_on_the_detail_page_as_in_the_gallery(
    client: Client, alice: Any
) -> None:
    """One rule for long titles: refused everywhere, never silently cut."""
    mine = make_finished_task(alice)
    client.force_login(alice)
    url = f"/videos/{mine.pk}/collect/"
    client.post(url, {"collection": "new", "new_title": "x" * 201})
    assert not Collection.objects.exists()
    page = client.get(f"/videos/{mine.pk}/").content.decode()
    assert "Keep the title under 200 characters." in page


def test_it_saves_a_preset_once_per_name_and_caps_them(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "MAX_PRESETS_PER_MEMBER", 1)
    preset, created = services.save_preset(
        owner=alice, name=" Teaser ", params={"duration": 4}
    )
    assert (preset.name, created) == ("Teaser", True)
    again, created = services.save_preset(
        owner=alice, name="Teaser", params={"duration": 8}
    )
    assert (again.pk, again.params, created) == (preset.pk, {"duration": 8}, False)
    with pytest.raises(services.Refused, match="delete one first"):
        services.save_preset(owner=alice, name="Other", params={})
    assert list(Preset.objects.values_list("name", flat=True)) == ["Teaser"]
