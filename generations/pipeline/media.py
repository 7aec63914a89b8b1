"""Checking a downloaded file is a real MP4 and extracting its metadata and poster."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av


class NotAVideo(Exception):
    pass


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    duration_seconds: float
    has_audio: bool

    def asset_fields(self) -> dict[str, Any]:
        """What a VideoAsset records of its file's probe (downloads and films)."""
        return {
            "width": self.width,
            "height": self.height,
            "duration_seconds": self.duration_seconds,
            "has_audio": self.has_audio,
        }


def looks_like_mp4(head: bytes) -> bool:
    """An ISO base media file starts with a box whose type is ``ftyp``."""
    return len(head) >= 12 and head[4:8] == b"ftyp"


def probe(path: Path) -> VideoInfo:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise NotAVideo("the file has no video stream")
            stream = container.streams.video[0]
            if container.duration is not None:
                duration = container.duration / av.time_base
            elif stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = 0.0
            return VideoInfo(
                width=int(stream.codec_context.width),
                height=int(stream.codec_context.height),
                duration_seconds=round(float(duration), 3),
                has_audio=bool(container.streams.audio),
            )
    except (av.FFmpegError, ValueError) as exc:
        raise NotAVideo(f"the file is not a readable video ({exc})") from None


def write_poster(video: Path, poster: Path, at_seconds: float = 0.5) -> None:
    """Save a JPEG of the frame nearest ``at_seconds`` (the first one if shorter)."""
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            chosen = None
            for frame in container.decode(stream):
                chosen = frame
                if frame.time is not None and frame.time >= at_seconds:
                    break
            if chosen is None:
                raise NotAVideo("the video has no frames")
            image = chosen.to_image()  # type: ignore[no-untyped-call]
            image.save(poster, "JPEG", quality=85)
    except (av.FFmpegError, ValueError) as exc:
        raise NotAVideo(f"no poster frame could be read ({exc})") from None
