"""Moving media from a local MEDIA_ROOT into the configured bucket.

``manage.py media_to_s3`` runs it. Every name a row holds (videos and their
posters, films included; input frames) is copied from the local folder into
storage through ``media_store``, then read back and checked by sha256. It can
stop at any point (``limit``, a crash, Ctrl-C) and be run again: an object
already in the bucket with the same sha256 in its metadata is skipped. The local
files are never changed or removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from generations import images, media_store
from generations.models import InputImage, VideoAsset


class MigrationRefused(Exception):
    pass


@dataclass
class MigrationReport:
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    remaining: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "copied": len(self.copied),
            "skipped": len(self.skipped),
            "remaining": self.remaining,
            "problems": self.problems,
        }


def media_names() -> Iterator[tuple[str, str]]:
    """(name, recorded sha256 or "") for every file a row names, once each."""
    seen: set[str] = set()
    rows = VideoAsset.objects.order_by("pk").values_list("file", "poster", "sha256")
    for file, poster, sha256 in rows.iterator():
        for name, digest in ((file, sha256), (poster, "")):
            if name and name not in seen:
                seen.add(name)
                yield name, digest
    frames = InputImage.objects.exclude(file="").order_by("pk")
    for name, digest in frames.values_list("file", "sha256").iterator():
        if name not in seen:
            seen.add(name)
            yield name, digest


def content_type_of(name: str) -> str:
    return (
        "video/mp4" if name.lower().endswith(".mp4") else images.content_type_for(name)
    )


def migrate(*, source: Path, limit: int | None = None) -> MigrationReport:
    if media_store.local_root() is not None:
        raise MigrationRefused(
            "MEDIA_STORAGE is not s3: configure the bucket first (README, Media)"
        )
    report = MigrationReport()
    for name, recorded in media_names():
        if limit is not None and len(report.copied) >= limit:
            report.remaining += 1
            continue
        _migrate_one(source, name, recorded, report)
    return report


def _migrate_one(
    source: Path, name: str, recorded: str, report: MigrationReport
) -> None:
    path = source / name
    if not path.resolve().is_relative_to(source.resolve()):
        report.problems.append(f"{name}: outside the media folder")
        return
    if not path.is_file():
        if media_store.exists(name):
            report.skipped.append(name)  # only in the bucket already
        else:
            report.problems.append(f"{name}: missing locally and in the bucket")
        return
    digest = media_store.file_sha256(path)
    if recorded and recorded != digest:
        report.problems.append(f"{name}: differs from its recorded sha256")
        return
    if media_store.remote_sha256(name) == digest:
        report.skipped.append(name)
        return
    media_store.store(
        path, name, content_type=content_type_of(name), sha256=digest, keep=True
    )
    if media_store.sha256_of(name) != digest:
        media_store.remove(name)
        report.problems.append(f"{name}: the copy in the bucket did not verify")
        return
    report.copied.append(name)
