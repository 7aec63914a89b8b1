"""The team gallery and the video detail page."""

from __future__ import annotations

from typing import Any

import pytest

from generations.models import GenerationTask, InputImage, State
from generations.views import gallery as gallery_views
from tests.factories import make_finished_task


def html(response: Any) -> str:
    return response.content.decode()


@pytest.mark.django_db
def test_it_shows_the_teams_finished_videos_newest_first(
    client: Any, alice: Any, bob: Any
) -> None:
    older = make_finished_task(alice, prompt="Older lighthouse")
    newer = make_finished_task(bob, prompt="Newer owl")
    client.force_login(alice)
    response = client.get("/gallery/")
    assert response.status_code == 200
    page = html(response)
    assert page.index(f"/videos/{newer.pk}/") < page.index(f"/videos/{older.pk}/")
    assert f'src="/media/posters/{newer.pk}.jpg"' in page
    assert 'loading="lazy"' in page
    assert f'data-preview="/media/videos/{newer.pk}.mp4"' in page


@pytest.mark.django_db
def test_it_leaves_out_private_hidden_and_unfinished_tasks(
    client: Any, alice: Any, bob: Any
) -> None:
    private_theirs = make_finished_task(bob, prompt="Bob's secret", is_private=True)
    private_mine = make_finished_task(
        alice, prompt="Alice's own secret", is_private=True
    )
    hidden = make_finished_task(bob, prompt="Hidden one", hidden=True)
    running = GenerationTask.objects.create(
        owner=bob, prompt="Still running", cost=8, state=State.GENERATING
    )
    failed = GenerationTask.objects.create(
        owner=alice, prompt="Failed one", cost=8, state=State.FAILED
    )
    client.force_login(alice)
    page = html(client.get("/gallery/"))
    assert f"/videos/{private_mine.pk}/" in page
    for task in (private_theirs, hidden, running, failed):
        assert f"/videos/{task.pk}/" not in page


@pytest.mark.django_db
def test_it_teaches_when_empty(client: Any, alice: Any) -> None:
    client.force_login(alice)
    page = html(client.get("/gallery/"))
    assert "No videos yet: create one in the Studio" in page
    assert 'href="/#create"' in page


@pytest.mark.django_db
def test_it_pages_with_a_cursor(
    client: Any, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gallery_views, "PAGE_SIZE", 2)
    tasks = [make_finished_task(alice, prompt=f"video {i}") for i in range(5)]
    client.force_login(alice)
    first = html(client.get("/gallery/"))
    assert f"/videos/{tasks[4].pk}/" in first
    assert f"/videos/{tasks[3].pk}/" in first
    assert f"/videos/{tasks[2].pk}/" not in first
    assert f"?before={tasks[3].pk}" in first
    second = client.get(f"/gallery/?before={tasks[3].pk}", HTTP_HX_REQUEST="true")
    page = html(second)
    assert "<html" not in page  # only the next tiles, for htmx to append
    assert f"/videos/{tasks[2].pk}/" in page
    assert f"/videos/{tasks[1].pk}/" in page
    assert f"/videos/{tasks[4].pk}/" not in page
    assert 'id="gallery-more" class="list-more" hx-swap-oob="true"' in page
    assert f"?before={tasks[1].pk}" in page
    last = html(client.get(f"/gallery/?before={tasks[1].pk}"))
    assert f"/videos/{tasks[0].pk}/" in last
    assert "Load more" not in last
    assert "Back to the newest" in last


@pytest.mark.django_db
def test_it_rejects_a_bad_cursor(client: Any, alice: Any) -> None:
    client.force_login(alice)
    assert client.get("/gallery/?before=1;drop").status_code == 400


@pytest.mark.django_db
def test_it_pages_with_a_constant_number_of_queries(
    client: Any, alice: Any, bob: Any, django_assert_max_num_queries: Any
) -> None:
    make_finished_task(alice)
    client.force_login(alice)
    with django_assert_max_num_queries(6) as few:
        client.get("/gallery/")
    for i in range(12):
        make_finished_task(bob if i % 2 else alice, prompt=f"video {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/gallery/").status_code == 200


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_login(client: Any, alice: Any) -> None:
    task = make_finished_task(alice)
    for url in ["/gallery/", f"/videos/{task.pk}/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
def test_it_refuses_post(client: Any, alice: Any) -> None:
    task = make_finished_task(alice)
    client.force_login(alice)
    assert client.post("/gallery/").status_code == 405
    assert client.post(f"/videos/{task.pk}/").status_code == 405


@pytest.mark.django_db
def test_it_shows_a_video_with_everything_about_it(client: Any, alice: Any) -> None:
    task = make_finished_task(
        alice, prompt="A lighthouse in a storm", aspect_ratio="9:16", duration=12
    )
    InputImage.objects.create(
        owner=alice, task=task, position=0, file="inputs/start.png"
    )
    InputImage.objects.create(
        owner=alice, task=task, position=1, source_url="https://example.com/end.jpg"
    )
    client.force_login(alice)
    response = client.get(f"/videos/{task.pk}/")
    assert response.status_code == 200
    page = html(response)
    assert f'poster="/media/posters/{task.pk}.jpg"' in page
    assert f'<source src="/media/videos/{task.pk}.mp4" type="video/mp4">' in page
    assert "<video" in page and "controls" in page
    assert 'id="prompt-text">A lighthouse in a storm</p>' in page
    assert 'data-copy-target="#prompt-text"' in page
    assert "9:16" in page and "12 s" in page
    assert "61.0 s" in page  # provider time
    assert f"/media/videos/{task.pk}.mp4?download=1" in page
    assert "/?mode=text-to-video&amp;prompt=A+lighthouse" in page  # remix
    assert f'action="/tasks/{task.pk}/retry/"' in page  # the owner may retry
    assert "Start frame" in page and "End frame" in page
    assert "https://example.com/end.jpg" in page


@pytest.mark.django_db
def test_it_lets_teammates_watch_but_not_retry(
    client: Any, alice: Any, bob: Any
) -> None:
    task = make_finished_task(alice)
    client.force_login(bob)
    page = html(client.get(f"/videos/{task.pk}/"))
    assert "<video" in page
    assert "/retry/" not in page


@pytest.mark.django_db
def test_it_404s_on_someone_elses_private_video(
    client: Any, alice: Any, bob: Any
) -> None:
    task = make_finished_task(alice, is_private=True)
    client.force_login(bob)
    assert client.get(f"/videos/{task.pk}/").status_code == 404
    client.force_login(alice)
    assert client.get(f"/videos/{task.pk}/").status_code == 200


@pytest.mark.django_db
def test_it_404s_on_a_task_without_a_video(client: Any, alice: Any) -> None:
    task = GenerationTask.objects.create(owner=alice, prompt="queued", cost=8)
    client.force_login(alice)
    assert client.get(f"/videos/{task.pk}/").status_code == 404
    response = client.get("/videos/987654/")
    assert response.status_code == 404
    assert "Nothing here" in html(response)
