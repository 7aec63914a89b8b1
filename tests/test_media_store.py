"""The media seam (generations/media_store.py) and its configuration.

Against the real S3 protocol server (moto_server on loopback): multipart uploads,
an upload that breaks off, a download that fails half stored, pre-signed links.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from generations import media_store
from generations.models import GenerationTask, State, VideoAsset
from seedance_site.media_settings import media_storage
from tests.factories import media_bytes, queue_task
from tests.s3 import BUCKET, SECRET_KEY, S3Server, s3_storages
from tests.sim import assert_books_balance, drive

ROOT = Path(__file__).resolve().parent.parent


def s3_env(**changes: str) -> dict[str, str]:
    env = S3Server("http://127.0.0.1:9").env("p")
    env.update(changes)
    return env


def test_local_disk_is_the_default() -> None:
    assert media_storage({})["BACKEND"].endswith("FileSystemStorage")
    assert media_storage({"MEDIA_STORAGE": "local"})["BACKEND"].endswith(
        "FileSystemStorage"
    )


def test_s3_settings_become_the_storage_options() -> None:
    entry = media_storage(s3_env(S3_PREFIX="/media/", S3_URL_TTL_SECONDS="120"))
    assert entry["BACKEND"] == "storages.backends.s3.S3Storage"
    options = entry["OPTIONS"]
    assert options["bucket_name"] == BUCKET
    assert options["location"] == "media"
    assert options["addressing_style"] == "path"
    assert options["querystring_expire"] == 120
    assert options["default_acl"] is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"MEDIA_STORAGE": "ftp"}, "MEDIA_STORAGE must be 'local' or 's3'"),
        ({"S3_BUCKET": ""}, "needs S3_BUCKET"),
        ({"S3_SECRET_ACCESS_KEY": " "}, "needs S3_SECRET_ACCESS_KEY"),
        ({"S3_ADDRESSING_STYLE": "sideways"}, "S3_ADDRESSING_STYLE"),
        ({"S3_ENDPOINT_URL": "minio:9000"}, "S3_ENDPOINT_URL must be"),
        ({"S3_URL_TTL_SECONDS": "soon"}, "S3_URL_TTL_SECONDS must be"),
        ({"S3_URL_TTL_SECONDS": "0"}, "S3_URL_TTL_SECONDS must be"),
    ],
)
def test_a_bad_s3_configuration_names_the_variable(
    changes: dict[str, str], message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=message) as refused:
        media_storage(s3_env(**changes))
    assert SECRET_KEY not in str(refused.value)


def test_the_process_refuses_to_start_with_half_an_s3_configuration(
    tmp_path: Path,
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("S3_", "MEDIA_STORAGE"))
    }
    env.update(
        MEDIA_STORAGE="s3",
        S3_BUCKET="media",
        S3_SECRET_ACCESS_KEY="never-print-me",
        VAR_DIR=str(tmp_path),
    )
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "MEDIA_STORAGE=s3 needs S3_ACCESS_KEY_ID" in done.stderr
    assert "never-print-me" not in done.stderr + done.stdout


@dataclass
class Bucket:
    server: S3Server
    prefix: str

    def keys(self, under: str = "") -> list[str]:
        """The keys under our prefix, without it."""
        start = len(self.prefix) + 1
        return [key[start:] for key in self.server.keys(f"{self.prefix}/{under}")]


@pytest.fixture
def bucket(s3_server: S3Server, settings: Any) -> Bucket:
    prefix = f"seam-{uuid.uuid4().hex[:8]}"
    settings.STORAGES = s3_storages(s3_server, prefix, settings.STORAGES)
    return Bucket(s3_server, prefix)


def big_file(path: Path, megabytes: int) -> str:
    block = hashlib.sha256(b"seed").digest() * (1024 * 1024 // 32)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for index in range(megabytes):
            chunk = bytes([index % 251]) + block[1:]
            out.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture
def upload_parts(bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Parts of 5 MB (S3's smallest) from 5 MB on; returns the bucket client's
    events, to watch or break the parts."""
    monkeypatch.setattr(media_store, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(media_store, "MULTIPART_CHUNK", 5 * 1024 * 1024)
    return media_store._client(media_store._bucket()).meta.events


def test_a_large_file_goes_up_in_parts_and_arrives_whole(
    upload_parts: Any, tmp_path: Path
) -> None:
    parts: list[int] = []
    upload_parts.register("before-call.s3.UploadPart", lambda **kw: parts.append(1))
    source = tmp_path / "big.mp4"
    digest = big_file(source, 12)
    media_store.store(source, "videos/big.mp4", content_type="video/mp4", sha256=digest)
    assert len(parts) == 3  # 5 + 5 + 2 MB
    assert media_store.stat("videos/big.mp4").size == 12 * 1024 * 1024
    assert media_store.sha256_of("videos/big.mp4") == digest
    assert media_store.remote_sha256("videos/big.mp4") == digest
    assert b"".join(media_store.read_range("videos/big.mp4", 5 * 1024 * 1024, 3)) == (
        bytes([5]) + hashlib.sha256(b"seed").digest()[1:3]
    )


def test_an_upload_that_breaks_off_leaves_no_object(
    bucket: Bucket, upload_parts: Any, tmp_path: Path
) -> None:
    calls: list[int] = []

    def break_the_second_part(**kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("the network broke off")

    upload_parts.register("before-call.s3.UploadPart", break_the_second_part)
    source = tmp_path / "big.mp4"
    big_file(source, 12)
    with pytest.raises(ConnectionError):
        media_store.store(source, "videos/half.mp4", content_type="video/mp4")
    assert not media_store.exists("videos/half.mp4")
    with pytest.raises(FileNotFoundError):
        media_store.stat("videos/half.mp4")
    pending = bucket.server.client().list_multipart_uploads(Bucket=BUCKET)
    assert not [u for u in pending.get("Uploads", []) if "half" in u["Key"]]


def stored_link(tmp_path: Path, data: bytes, download_name: str) -> str:
    """Store ``data`` as videos/a.mp4; its pre-signed download URL."""
    (tmp_path / "a.mp4").write_bytes(data)
    media_store.store(tmp_path / "a.mp4", "videos/a.mp4", content_type="video/mp4")
    url = media_store.download_url(
        "videos/a.mp4", download_name=download_name, content_type="video/mp4"
    )
    assert url
    return url


def test_a_download_url_saves_the_file_and_carries_no_secret(
    bucket: Bucket, tmp_path: Path
) -> None:
    import requests

    url = stored_link(tmp_path, b"movie bytes", "seedance-7.mp4")
    assert SECRET_KEY not in url
    assert "X-Amz-Expires=300" in url  # the configured TTL, 5 minutes by default
    fetched = requests.get(url, timeout=10)
    assert fetched.content == b"movie bytes"
    assert fetched.headers["Content-Disposition"] == (
        'attachment; filename="seedance-7.mp4"'
    )
    assert media_store.describe() == f"bucket {BUCKET}/{bucket.prefix}"


def test_local_disk_gives_no_download_url(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").write_bytes(b"x")
    media_store.store(tmp_path / "a.mp4", "videos/a.mp4", content_type="video/mp4")
    assert not (tmp_path / "a.mp4").exists()  # moved, not copied
    assert media_bytes("videos/a.mp4") == b"x"
    assert (
        media_store.download_url(
            "videos/a.mp4", download_name="a.mp4", content_type="video/mp4"
        )
        is None
    )


@pytest.mark.django_db(transaction=True)
def test_a_video_that_fails_to_reach_the_bucket_leaves_no_file_and_no_row(
    sim: Any, alice: Any, bucket: Bucket
) -> None:
    """The poster goes up, the video does not: the poster is removed again, no
    row names either, and the download is retried until the bucket answers."""
    failing = {"on": True}

    def refuse_videos(params: dict[str, Any], **kwargs: Any) -> None:
        if failing["on"] and str(params.get("Key", "")).endswith(".mp4"):
            raise ConnectionError("the bucket is unreachable")

    client = media_store._client(media_store._bucket())
    client.meta.events.register("provide-client-params.s3.PutObject", refuse_videos)
    task = queue_task(alice)
    drive(
        lambda: (
            GenerationTask.objects.filter(
                pk=task.pk, download_attempts__gte=1, state=State.DOWNLOADING
            )
            .exclude(last_error="")
            .exists()
        )
    )
    task.refresh_from_db()
    assert "storing the video failed" in task.last_error
    assert not VideoAsset.objects.exists()
    assert bucket.keys("videos/") == []
    failing["on"] = False
    GenerationTask.objects.filter(pk=task.pk).update(next_action_at=None)
    drive(timeout=60)
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED
    video = VideoAsset.objects.get(task=task)
    assert sorted(bucket.keys("videos/")) == sorted(
        [video.file.name, video.poster.name]
    )
    assert_books_balance()


def test_logs_never_carry_the_bucket_secret_or_a_link_signature(
    bucket: Bucket, tmp_path: Path
) -> None:
    from generations.logging import redact

    url = stored_link(tmp_path, b"x", "a.mp4")
    signature = url.split("X-Amz-Signature=")[1].split("&")[0]
    text = redact(f"config {SECRET_KEY} redirect to {url}")
    assert SECRET_KEY not in text
    assert signature not in text


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media_storage")
def test_a_spare_download_of_the_same_video_keeps_the_first_ones_files(
    sim: Any, alice: Any
) -> None:
    """Two runs of one download job (a lease ran out mid-download): the same bytes
    get the same names, so the late run must not delete what the first row names."""
    from generations.pipeline import download

    task = queue_task(alice)
    drive()
    first = VideoAsset.objects.get(task__pk=task.pk)
    task.refresh_from_db()
    spare = download._fetch_and_store(task)  # the late run, stored over it
    assert (spare.file.name, spare.poster.name) == (first.file.name, first.poster.name)
    kept = download._save_or_keep_first(spare)
    assert kept.pk == first.pk
    assert media_store.sha256_of(first.file.name) == first.sha256
    assert media_store.exists(first.poster.name)


def test_error_pages_hide_the_bucket_keys(bucket: Bucket) -> None:
    from django.views.debug import SafeExceptionReporterFilter

    safe = SafeExceptionReporterFilter().get_safe_settings()
    options = safe["STORAGES"]["default"]["OPTIONS"]
    assert options["bucket_name"] == BUCKET
    assert SECRET_KEY not in str(safe)
    assert options["secret_key"] == SafeExceptionReporterFilter.cleansed_substitute
