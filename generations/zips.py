"""Videos as one zip, written while it streams (the gallery's bulk download)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

from django.utils import timezone
from django.utils.text import slugify

from generations import media_store
from generations.models import GenerationTask, VideoAsset

ZIP_CHUNK = 256 * 1024


class _ZipSink:
    """A write-only stream that hands back what zipfile wrote since the last take."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_chunks(tasks: list[GenerationTask]) -> Iterator[bytes]:
    """A zip of the tasks' videos, yielded as it is written.

    Stored, not deflated: MP4 does not compress. The sink cannot seek, so zipfile
    writes each entry's sizes after its data (a data descriptor).
    """
    sink = _ZipSink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for task in tasks:
            video: VideoAsset = task.video
            info = zipfile.ZipInfo(zip_entry_name(task), _zip_time(task))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = video.size_bytes
            with (
                media_store.open_stream(video.file.name or "") as source,
                archive.open(info, "w") as target,
            ):
                while chunk := source.read(ZIP_CHUNK):
                    target.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


def zip_entry_name(task: GenerationTask) -> str:
    words = slugify(task.prompt)[:48].strip("-") or "video"
    return f"{task.pk}-{words}.mp4"


def _zip_time(task: GenerationTask) -> tuple[int, int, int, int, int, int]:
    moment = timezone.localtime(task.finished_at or task.created_at)
    # The zip format cannot date a file before 1980.
    moment = max(moment, moment.replace(year=1980, month=1, day=1))
    return (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )
