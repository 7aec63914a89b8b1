"""The one place that knows where media lives: local disk or an S3 bucket.

Every module that writes, reads, serves or deletes a video, poster, input frame
or film goes through these functions; none of them asks which backend is active.

- ``scratch_dir``: a local folder for work files (a download being checked, a film
  being stitched). It is MEDIA_ROOT/tmp on both backends, so on local disk the
  final move is a rename on one file system.
- ``store``: a finished local file becomes the named media file atomically. Local:
  ``os.replace``. S3: an upload (multipart past ``MULTIPART_THRESHOLD``); S3 makes
  an object visible only once its upload completes, and a failed multipart upload
  is aborted, so no half object is ever readable under the name. Callers save the
  database row only after ``store`` returned.
- ``stat`` / ``read_range`` / ``open_stream``: metadata and bytes without reading
  a whole object into memory (S3: HEAD, ranged GET, a streamed GET body).
- ``local_copy``: a readable local path for PyAV (S3: downloaded to scratch for
  the duration of the ``with``).
- ``download_url``: a short-lived pre-signed URL that makes the browser save the
  file (S3 only; ``None`` on local disk, where Django serves the bytes itself).
- ``remove``: delete names (a missing name is no error).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages

CHUNK = 64 * 1024
MULTIPART_THRESHOLD = 16 * 1024 * 1024
MULTIPART_CHUNK = 16 * 1024 * 1024


@dataclass(frozen=True)
class Stat:
    size: int
    modified: dt.datetime | None


def _bucket() -> Any | None:
    """The S3 storage when media lives in a bucket, else None."""
    storage = storages["default"]
    # An S3 storage exists only once its module is loaded: on local disk, never
    # import boto3 (a third of a second in every new worker process).
    s3 = sys.modules.get("storages.backends.s3")
    return storage if s3 is not None and isinstance(storage, s3.S3Storage) else None


def _key(storage: Any, name: str) -> str:
    from storages.utils import clean_name

    return str(storage._normalize_name(clean_name(name)))


def _client(storage: Any) -> Any:
    return storage.connection.meta.client


def _local(name: str) -> Path:
    return Path(default_storage.path(name))


def _local_file(name: str) -> Path:
    """The local file of ``name``; FileNotFoundError for none (or a folder)."""
    path = _local(name)
    if not path.is_file():
        raise FileNotFoundError(name)
    return path


def _is_missing(error: Exception) -> bool:
    """A boto error that means "no such object"."""
    response = getattr(error, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


def scratch_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def local_root() -> Path | None:
    """MEDIA_ROOT when media lives on local disk (a backup copies that folder);
    None when it lives in a bucket (protected by the bucket's versioning)."""
    return Path(settings.MEDIA_ROOT) if _bucket() is None else None


def describe() -> str:
    """Where media goes, for logs and command output (never a credential)."""
    storage = _bucket()
    if storage is None:
        return f"local disk {settings.MEDIA_ROOT}"
    prefix = f"/{storage.location}" if storage.location else ""
    return f"bucket {storage.bucket_name}{prefix}"


def store(
    local: Path,
    name: str,
    *,
    content_type: str,
    sha256: str | None = None,
    keep: bool = False,
) -> None:
    """Make ``local`` the media file ``name``, all at once (see the module doc).

    Local disk moves the file (copies it first with ``keep``); S3 uploads it and
    leaves ``local`` for the caller. ``sha256`` is kept in the object's metadata
    (media_to_s3 skips objects already copied by it).
    """
    storage = _bucket()
    if storage is None:
        target = _local(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if keep:
            fd, tmp_name = tempfile.mkstemp(dir=scratch_dir())
            os.close(fd)
            shutil.copyfile(local, tmp_name)
            local = Path(tmp_name)
        os.replace(local, target)
        return
    from boto3.s3.transfer import TransferConfig

    extra: dict[str, Any] = {"ContentType": content_type}
    if sha256:
        extra["Metadata"] = {"sha256": sha256}
    _client(storage).upload_file(
        str(local),
        storage.bucket_name,
        _key(storage, name),
        ExtraArgs=extra,
        Config=TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_CHUNK,
        ),
    )


def store_video(
    video: Path, name: str, poster: Path, poster_name: str, *, sha256: str
) -> None:
    """The poster, then the video, into storage; a failure leaves neither (and
    raises). The caller saves the row naming them only after this returns, so a
    row never names a file that is not whole in storage (downloads and films)."""
    try:
        store(poster, poster_name, content_type="image/jpeg")
        store(video, name, content_type="video/mp4", sha256=sha256)
    except Exception:
        remove(poster_name, name)
        raise


def save_bytes(name: str, data: bytes) -> str:
    """Write small contents (an input frame) under ``name``; returns the name
    the storage used (local disk picks another if ``name`` was taken)."""
    return str(default_storage.save(name, ContentFile(data)))


def remove(*names: str) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def stat(name: str) -> Stat:
    """Size and modification time; FileNotFoundError when there is no such file."""
    if not name:
        raise FileNotFoundError("no name")
    storage = _bucket()
    if storage is None:
        info = _local_file(name).stat()
        return Stat(info.st_size, dt.datetime.fromtimestamp(info.st_mtime, dt.UTC))
    from botocore.exceptions import ClientError

    try:
        head = _client(storage).head_object(
            Bucket=storage.bucket_name, Key=_key(storage, name)
        )
    except ClientError as error:
        if _is_missing(error):
            raise FileNotFoundError(name) from None
        raise
    return Stat(int(head["ContentLength"]), head.get("LastModified"))


def remote_sha256(name: str) -> str | None:
    """The sha256 recorded with an object at upload (S3), None if absent."""
    storage = _bucket()
    if storage is None:
        return None
    from botocore.exceptions import ClientError

    try:
        head = _client(storage).head_object(
            Bucket=storage.bucket_name, Key=_key(storage, name)
        )
    except ClientError as error:
        if _is_missing(error):
            return None
        raise
    value = head.get("Metadata", {}).get("sha256")
    return str(value) if value else None


def read_range(name: str, first: int, length: int) -> Iterator[bytes]:
    """``length`` bytes from ``first``, in chunks, without reading the rest."""
    if length <= 0:
        return
    storage = _bucket()
    if storage is None:
        with _local(name).open("rb") as handle:
            handle.seek(first)
            remaining = length
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk
        return
    body = _client(storage).get_object(
        Bucket=storage.bucket_name,
        Key=_key(storage, name),
        Range=f"bytes={first}-{first + length - 1}",
    )["Body"]
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


@contextlib.contextmanager
def open_stream(name: str) -> Iterator[IO[bytes]]:
    """The file for reading front to back (S3: the GET body, streamed)."""
    if not name:
        raise FileNotFoundError("no name")
    storage = _bucket()
    if storage is None:
        with _local_file(name).open("rb") as handle:
            yield handle
        return
    from botocore.exceptions import ClientError

    try:
        body = _client(storage).get_object(
            Bucket=storage.bucket_name, Key=_key(storage, name)
        )["Body"]
    except ClientError as error:
        if _is_missing(error):
            raise FileNotFoundError(name) from None
        raise
    try:
        yield body
    finally:
        body.close()


def file_sha256(path: Path) -> str:
    """A local file's sha256 (what ``store`` records and ``sha256_of`` checks)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_of(name: str) -> str:
    """The stored file's sha256, read as a stream."""
    digest = hashlib.sha256()
    with open_stream(name) as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def local_copy(name: str) -> Iterator[Path]:
    """A local path holding the file while the ``with`` lasts (for PyAV)."""
    if not name:
        raise FileNotFoundError("no name")
    storage = _bucket()
    if storage is None:
        yield _local_file(name)
        return
    from botocore.exceptions import ClientError

    fd, tmp_name = tempfile.mkstemp(dir=scratch_dir(), suffix=Path(name).suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            _client(storage).download_file(
                storage.bucket_name, _key(storage, name), str(tmp)
            )
        except ClientError as error:
            if _is_missing(error):
                raise FileNotFoundError(name) from None
            raise
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def download_url(name: str, *, download_name: str, content_type: str) -> str | None:
    """A pre-signed URL that saves the file as ``download_name`` (S3), else None.

    Valid for S3_URL_TTL_SECONDS; the caller checked the permission first.
    """
    storage = _bucket()
    if storage is None:
        return None
    return str(
        storage.url(
            name,
            parameters={
                "ResponseContentDisposition": (
                    f'attachment; filename="{download_name}"'
                ),
                "ResponseContentType": content_type,
            },
        )
    )
