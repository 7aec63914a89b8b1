"""Fetching and checking image-to-video inputs, as the provider does after accepting.

http and https are both allowed (locally the studio serves its images over plain
http on 127.0.0.1). Redirects are followed. Each image is stored under
``<data_dir>/images/<sha256>.<ext>`` for the video synthesis.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from PIL import Image

from generations.apixo.contract import IMAGE_FORMATS, MAX_IMAGE_BYTES

CHUNK = 64 * 1024
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
# Talk to the URL directly, like the provider: no proxy from the environment.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ImageProblem(Exception):
    """An image the provider would refuse; ``fail_code`` is the task's failCode."""

    def __init__(self, fail_code: str, message: str) -> None:
        super().__init__(message)
        self.fail_code = fail_code
        self.message = message


def fetch_image(url: str, directory: Path, *, timeout: float) -> Path:
    """Download ``url``, check it is a JPEG/PNG/WebP of at most 10 MB, store it."""
    content = download(url, timeout=timeout)
    image_format = check_image(content)
    digest = hashlib.sha256(content).hexdigest()
    path = directory / f"{digest}.{EXTENSIONS[image_format]}"
    if not path.exists():
        write_atomically(path, content)
    return path


def download(url: str, *, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"User-Agent": "apixo-simulator/1"})
    try:
        with OPENER.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdecimal() and int(declared) > MAX_IMAGE_BYTES:
                raise ImageProblem("IMAGE_TOO_LARGE", "Image exceeds the 10MB limit")
            parts: list[bytes] = []
            size = 0
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise ImageProblem(
                        "IMAGE_TOO_LARGE", "Image exceeds the 10MB limit"
                    )
                if time.monotonic() > deadline:
                    raise ImageProblem("INVALID_IMAGE_URL", "Image download timed out")
                parts.append(chunk)
    except ImageProblem:
        raise
    except (OSError, ValueError, urllib.error.URLError) as error:
        # HTTPError (non-2xx), refused connections, DNS errors, timeouts, bad URLs.
        raise ImageProblem(
            "INVALID_IMAGE_URL", f"Failed to fetch image from URL: {error}"
        ) from None
    return b"".join(parts)


def check_image(content: bytes) -> str:
    """The Pillow format name of ``content``, if it is an allowed, decodable image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                image_format = image.format or ""
                if image_format not in IMAGE_FORMATS:
                    raise ImageProblem(
                        "UNSUPPORTED_FORMAT",
                        f"Unsupported image format {image_format or 'unknown'}",
                    )
                image.load()
    except ImageProblem:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
        raise ImageProblem(
            "UNSUPPORTED_FORMAT", "The file is not a JPG, PNG or WebP image"
        ) from None
    return image_format


def write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".fetch-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
