"""``manage.py media_to_s3``: local media into the bucket, resumable, verified."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from generations import images, media_store
from generations.models import GenerationTask, VideoAsset
from tests.factories import body, make_finished_task, png_bytes
from tests.s3 import S3Server, s3_storages

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("media_to_s3", "--json", *args, stdout=out)
    return dict(json.loads(out.getvalue()))


def local_media(alice: Any) -> tuple[list[GenerationTask], list[str]]:
    """Two videos with posters and one input frame on local disk, with the
    videos' real sha256 recorded."""
    tasks = [make_finished_task(alice), make_finished_task(alice)]
    root = Path(settings.MEDIA_ROOT)
    for task in tasks:
        digest = hashlib.sha256((root / task.video.file.name).read_bytes())
        VideoAsset.objects.filter(pk=task.video.pk).update(sha256=digest.hexdigest())
    frame = images.store_upload(
        SimpleUploadedFile("f.png", png_bytes(16), content_type="image/png"),
        owner=alice,
        position=0,
    )
    names = [n for t in tasks for n in (t.video.file.name, t.video.poster.name)]
    return tasks, [*names, frame.file.name]


@pytest.fixture
def to_bucket(s3_server: S3Server, settings: Any) -> Any:
    """Switches media to a fresh prefix of the bucket when called."""

    def switch() -> str:
        prefix = f"move-{uuid.uuid4().hex[:8]}"
        settings.STORAGES = s3_storages(s3_server, prefix, settings.STORAGES)
        return prefix

    return switch


def test_it_copies_resumes_and_verifies(
    alice: Any, to_bucket: Any, s3_server: S3Server, client: Any
) -> None:
    tasks, names = local_media(alice)
    root = Path(settings.MEDIA_ROOT)
    originals = {name: (root / name).read_bytes() for name in names}
    prefix = to_bucket()

    first = run("--limit", "2")  # an interrupted run
    assert first == {"copied": 2, "skipped": 0, "remaining": 3, "problems": []}
    assert len(s3_server.keys(prefix + "/")) == 2

    second = run()  # resumed: the two already there are checked and skipped
    assert second == {"copied": 3, "skipped": 2, "remaining": 0, "problems": []}
    third = run()
    assert third == {"copied": 0, "skipped": 5, "remaining": 0, "problems": []}

    assert sorted(s3_server.keys(prefix + "/")) == sorted(
        f"{prefix}/{name}" for name in names
    )
    for name, data in originals.items():
        assert media_store.sha256_of(name) == hashlib.sha256(data).hexdigest()
        assert (root / name).read_bytes() == data  # the local copy is untouched
    # Served from the bucket now.
    client.force_login(alice)
    response = client.get(f"/media/videos/{tasks[0].pk}.mp4", HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206
    assert body(response) == originals[tasks[0].video.file.name][:10]


def test_it_refuses_a_file_that_differs_from_its_recorded_sha256(
    alice: Any, to_bucket: Any, s3_server: S3Server
) -> None:
    tasks, _names = local_media(alice)
    damaged = tasks[0].video.file.name
    (Path(settings.MEDIA_ROOT) / damaged).write_bytes(b"not the video any more")
    prefix = to_bucket()
    with pytest.raises(CommandError, match="1 file could not be copied"):
        call_command("media_to_s3", stdout=io.StringIO(), stderr=io.StringIO())
    assert f"{prefix}/{damaged}" not in s3_server.keys(prefix + "/")
    assert len(s3_server.keys(prefix + "/")) == 4


def test_it_reports_a_file_missing_everywhere(alice: Any, to_bucket: Any) -> None:
    tasks, _names = local_media(alice)
    (Path(settings.MEDIA_ROOT) / tasks[1].video.poster.name).unlink()
    to_bucket()
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("media_to_s3", stdout=io.StringIO(), stderr=err)
    assert f"{tasks[1].video.poster.name}: missing locally and in the bucket" in (
        err.getvalue()
    )


def test_it_refuses_to_run_without_a_bucket(alice: Any) -> None:
    local_media(alice)
    with pytest.raises(CommandError, match="MEDIA_STORAGE is not s3"):
        call_command("media_to_s3")
