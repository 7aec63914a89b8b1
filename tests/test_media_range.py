"""Serving videos, posters and frames: permissions and HTTP Range (200/206/416).

Every test runs with media on local disk and in an S3 bucket (``media_storage``).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from generations import media_store
from generations.models import GenerationTask, InputImage, State
from tests.factories import (
    body,
    make_finished_task,
    png_bytes,
    put_media,
    video_bytes,
)
from tests.s3 import fetch_download

pytestmark = pytest.mark.usefixtures("media_storage")


@pytest.fixture
def video(alice: Any) -> GenerationTask:
    return make_finished_task(alice)


@pytest.mark.django_db
def test_it_serves_the_whole_video_with_accept_ranges(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    response = client.get(f"/media/videos/{video.pk}.mp4")
    data = video_bytes(video)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(data))
    assert body(response) == data


@pytest.mark.django_db
def test_it_answers_a_closed_range_with_206(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    response = client.get(f"/media/videos/{video.pk}.mp4", HTTP_RANGE="bytes=10-99")
    data = video_bytes(video)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 10-99/{len(data)}"
    assert response["Content-Length"] == "90"
    assert body(response) == data[10:100]


@pytest.mark.django_db
def test_it_answers_an_open_range_with_206(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    data = video_bytes(video)
    response = client.get(f"/media/videos/{video.pk}.mp4", HTTP_RANGE="bytes=100-")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    assert body(response) == data[100:]


@pytest.mark.django_db
def test_it_answers_a_suffix_range_with_206(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    data = video_bytes(video)
    response = client.get(f"/media/videos/{video.pk}.mp4", HTTP_RANGE="bytes=-500")
    assert response.status_code == 206
    start = len(data) - 500
    assert response["Content-Range"] == f"bytes {start}-{len(data) - 1}/{len(data)}"
    assert response["Content-Length"] == "500"
    assert body(response) == data[-500:]


@pytest.mark.django_db
def test_it_clamps_a_range_past_the_end(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    data = video_bytes(video)
    response = client.get(
        f"/media/videos/{video.pk}.mp4", HTTP_RANGE="bytes=0-99999999"
    )
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    assert body(response) == data


@pytest.mark.django_db
def test_it_streams_a_file_larger_than_one_chunk_in_pieces(
    client: Any, alice: Any
) -> None:
    task = make_finished_task(alice)
    put_media(task.video.file.name, b"\0" * (200 * 1024 + 7))
    client.force_login(alice)
    response = client.get(f"/media/videos/{task.pk}.mp4")
    chunks = list(response.streaming_content)
    assert len(chunks) == 4
    assert sum(len(c) for c in chunks) == 200 * 1024 + 7


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0"])
@pytest.mark.django_db
def test_it_answers_an_unsatisfiable_range_with_416(
    client: Any, alice: Any, video: GenerationTask, header: str
) -> None:
    client.force_login(alice)
    size = len(video_bytes(video))
    response = client.get(f"/media/videos/{video.pk}.mp4", HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


@pytest.mark.parametrize(
    "header", ["bytes=0-1,5-9", "items=0-5", "bytes=9-2", "bytes=abc"]
)
@pytest.mark.django_db
def test_it_ignores_ranges_it_does_not_support(
    client: Any, alice: Any, video: GenerationTask, header: str
) -> None:
    client.force_login(alice)
    response = client.get(f"/media/videos/{video.pk}.mp4", HTTP_RANGE=header)
    assert response.status_code == 200
    assert body(response) == video_bytes(video)


@pytest.mark.django_db
def test_it_sends_everything_when_if_range_does_not_match(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    response = client.get(
        f"/media/videos/{video.pk}.mp4", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"'
    )
    assert response.status_code == 200
    etag = response["ETag"]
    again = client.get(
        f"/media/videos/{video.pk}.mp4", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag
    )
    assert again.status_code == 206


@pytest.mark.django_db
def test_it_offers_a_download(client: Any, alice: Any, video: GenerationTask) -> None:
    client.force_login(alice)
    response = client.get(f"/media/videos/{video.pk}.mp4?download=1")
    headers, data = fetch_download(response)
    assert headers["Content-Disposition"] == (
        f'attachment; filename="seedance-{video.pk}.mp4"'
    )
    assert data == video_bytes(video)


@pytest.mark.django_db
def test_it_serves_the_poster_as_jpeg(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    response = client.get(f"/media/posters/{video.pk}.jpg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(body(response))).format == "JPEG"


@pytest.mark.django_db
def test_it_lets_a_teammate_watch_a_public_video(
    client: Any, bob: Any, video: GenerationTask
) -> None:
    client.force_login(bob)
    assert client.get(f"/media/videos/{video.pk}.mp4").status_code == 200
    assert client.get(f"/media/posters/{video.pk}.jpg").status_code == 200


@pytest.mark.django_db
def test_it_hides_someone_elses_private_video(
    client: Any, alice: Any, bob: Any
) -> None:
    task = make_finished_task(alice, is_private=True)
    client.force_login(bob)
    assert client.get(f"/media/videos/{task.pk}.mp4").status_code == 404
    assert client.get(f"/media/posters/{task.pk}.jpg").status_code == 404
    client.force_login(alice)
    assert client.get(f"/media/videos/{task.pk}.mp4").status_code == 200


@pytest.mark.django_db
def test_it_404s_for_a_task_without_video(client: Any, alice: Any) -> None:
    task = GenerationTask.objects.create(owner=alice, prompt="pending", cost=8)
    client.force_login(alice)
    assert client.get(f"/media/videos/{task.pk}.mp4").status_code == 404
    assert client.get("/media/videos/999999.mp4").status_code == 404


@pytest.mark.django_db
def test_it_404s_when_the_file_is_missing(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    media_store.remove(video.video.file.name)
    client.force_login(alice)
    assert client.get(f"/media/videos/{video.pk}.mp4").status_code == 404


@pytest.mark.django_db
def test_it_refuses_media_to_anonymous_visitors(
    client: Any, video: GenerationTask
) -> None:
    response = client.get(f"/media/videos/{video.pk}.mp4")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_it_refuses_post_on_media(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    assert client.post(f"/media/videos/{video.pk}.mp4").status_code == 405
    assert client.post(f"/media/posters/{video.pk}.jpg").status_code == 405


@pytest.mark.django_db
def test_it_answers_head_without_a_body(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    response = client.head(f"/media/videos/{video.pk}.mp4")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(video_bytes(video)))
    assert body(response) == b""


@pytest.mark.django_db
def test_it_does_not_serve_media_root_wholesale(
    client: Any, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    assert client.get(f"/media/{video.video.file.name}").status_code == 404


@pytest.mark.django_db
def test_it_serves_input_frames_to_those_who_may_see_them(
    client: Any, alice: Any, bob: Any, video: GenerationTask
) -> None:
    put_media("inputs/start.png", png_bytes())
    frame = InputImage.objects.create(owner=alice, task=video, file="inputs/start.png")
    draft = InputImage.objects.create(owner=alice, task=None, file="inputs/start.png")
    client.force_login(bob)
    response = client.get(f"/media/frames/{frame.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert client.get(f"/media/frames/{draft.pk}/").status_code == 404
    GenerationTask.objects.filter(pk=video.pk).update(is_private=True)
    assert client.get(f"/media/frames/{frame.pk}/").status_code == 404
    client.force_login(alice)
    assert client.get(f"/media/frames/{frame.pk}/").status_code == 200
    assert client.get(f"/media/frames/{draft.pk}/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "state", [State.QUEUED, State.GENERATING, State.FAILED, State.UNKNOWN]
)
def test_it_hides_the_frames_of_a_task_whose_video_a_teammate_may_not_see(
    client: Any, alice: Any, bob: Any, state: State
) -> None:
    """The frame route follows the video's rule: no finished video, no frames
    (ids are sequential, so a teammate could otherwise walk every upload)."""
    put_media("inputs/start.png", png_bytes())
    task = GenerationTask.objects.create(
        owner=alice, prompt="a secret in the making", cost=8, state=state
    )
    frame = InputImage.objects.create(owner=alice, task=task, file="inputs/start.png")
    client.force_login(bob)
    assert client.get(f"/media/frames/{frame.pk}/").status_code == 404
    GenerationTask.objects.filter(pk=task.pk).update(hidden=True)
    assert client.get(f"/media/frames/{frame.pk}/").status_code == 404
    client.force_login(alice)
    assert client.get(f"/media/frames/{frame.pk}/").status_code == 200
