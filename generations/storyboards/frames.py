"""A video's frame as a start image: decoded with PyAV at full resolution."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import av
from django.contrib.auth.models import AbstractBaseUser
from PIL import Image

from generations import media_store
from generations.images import PreparedImage, save_prepared
from generations.models import InputImage, VideoAsset


class FrameUnavailable(Exception):
    """The video has no frame to give (missing or unreadable file)."""


def frame_at(path: Path | str, at: float | None = None) -> Image.Image:
    """The frame shown at ``at`` seconds (None: the last frame), as RGB.

    Seeks to the keyframe before the time and decodes forward, so a 12 s clip
    costs one GOP of decoding, not the whole file; if the seek finds nothing
    (a file without a usable index), decodes from the start instead.
    """
    try:
        return _frame_at(path, at, seek=True)
    except FrameUnavailable:
        return _frame_at(path, at, seek=False)


def _frame_at(path: Path | str, at: float | None, *, seek: bool) -> Image.Image:
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            base = stream.time_base
            if base is None:
                raise FrameUnavailable("The video has no time base.")
            target = at
            if target is None:
                duration = container.duration or 0
                target = max(0.0, duration / av.time_base - 1.0)
            if seek:
                container.seek(int(target / base), stream=stream, backward=True)
            picked: av.VideoFrame | None = None
            for frame in container.decode(stream):
                if (
                    at is not None
                    and picked is not None
                    and frame.time is not None
                    and frame.time > at
                ):
                    break
                picked = frame
    except (av.FFmpegError, OSError, IndexError) as error:
        raise FrameUnavailable(str(error)) from error
    if picked is None:
        raise FrameUnavailable("The video has no frames.")
    image: Image.Image = picked.to_image()  # type: ignore[no-untyped-call]
    return image.convert("RGB")


def store_frame(
    video: VideoAsset, *, owner: AbstractBaseUser, at: float | None = None
) -> InputImage:
    """The frame (``at`` seconds, None: last) stored as a start image (PNG).

    PNG keeps the pixels exact, so a continuing shot starts where the last ended.
    Raises FrameUnavailable.
    """
    try:
        with media_store.local_copy(video.file.name or "") as path:
            image = frame_at(path, at)
    except FileNotFoundError as error:
        raise FrameUnavailable("The video file is missing.") from error
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=3)
    data = out.getvalue()
    prepared = PreparedImage(
        data=data,
        extension=".png",
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return save_prepared(prepared, owner=owner, position=0)
