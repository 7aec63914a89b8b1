"""A corpus of hostile and odd uploads, sent through the create form as a browser
would: nothing malicious is kept, every refusal says why, memory stays bounded."""

from __future__ import annotations

import functools
import io
import struct
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import (
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory
from PIL import Image

from generations import images, security
from generations.models import GenerationTask, InputImage, Mode

pytestmark = pytest.mark.django_db


NOT_AN_IMAGE = "This file is not a JPG, PNG or WebP image we can read."
TOO_LARGE = "The image is larger than 10 MB"
TOO_MANY_PIXELS = "megapixels"


# --- Building the corpus ------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


@functools.cache
def one_colour_png(width: int, height: int) -> bytes:
    """A complete 1-bit greyscale PNG; all-zero rows compress to nearly nothing."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    parts = [packer.compress(row) for _ in range(height)]
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def encoded(fmt: str, size: tuple[int, int] = (96, 64), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, fmt, **save)
    return out.getvalue()


def gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90 on display
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    return encoded("JPEG", (120, 80), exif=exif.tobytes())


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
    b'width="10" height="10"><script>alert(document.cookie)</script></svg>'
)
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


# --- Sending it as a member ----------------------------------------------------------


def submit(client: Any, upload: SimpleUploadedFile) -> Any:
    return client.post(
        "/tasks/",
        {
            "mode": Mode.IMAGE,
            "prompt": "a lantern drifting over a quiet lake at night",
            "resolution": "480p",
            "duration": 4,
            "aspect_ratio": "16:9",
            "routing": "auto",
            "delivery": "polling",
            "start_image": upload,
        },
    )


def stored_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def assert_refused(response: Any, message: str, settings: Any) -> None:
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not GenerationTask.objects.exists()
    assert not InputImage.objects.exists()
    assert stored_files(settings) == []


def accepted_file(response: Any, settings: Any) -> bytes:
    assert response.status_code == 302, response.content.decode()[:2000]
    image = InputImage.objects.get(task__isnull=False)
    path = Path(image.file.path).resolve()
    assert path.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert path.name == f"{image.sha256}{path.suffix}"
    return path.read_bytes()


@pytest.fixture
def member(client: Any, alice: Any) -> Any:
    client.force_login(alice)
    return client


REFUSED = [
    ("svg-renamed.png", SVG, "image/png", NOT_AN_IMAGE),
    ("page.jpg", HTML, "image/jpeg", NOT_AN_IMAGE),
    ("magic-then-html.jpg", b"\xff\xd8\xff\xe0" + HTML, "image/jpeg", NOT_AN_IMAGE),
    ("half.jpg", encoded("JPEG", (400, 300))[:1500], "image/jpeg", NOT_AN_IMAGE),
    ("half.png", encoded("PNG", (400, 300))[:300], "image/png", NOT_AN_IMAGE),
    ("header-only.png", one_colour_png(64, 64)[:33], "image/png", NOT_AN_IMAGE),
    ("empty.png", b"", "image/png", "empty"),
    ("anim.gif", encoded("GIF"), "image/gif", NOT_AN_IMAGE),
    ("old.bmp", encoded("BMP"), "image/bmp", NOT_AN_IMAGE),
    ("scan.tiff", encoded("TIFF"), "image/tiff", NOT_AN_IMAGE),
    ("doc.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n", "image/png", NOT_AN_IMAGE),
    ("7000x7000.png", one_colour_png(7000, 7000), "image/png", TOO_MANY_PIXELS),
]


@pytest.mark.parametrize(
    ("name", "data", "content_type", "message"),
    REFUSED,
    ids=[case[0] for case in REFUSED],
)
def test_it_refuses_what_is_not_a_usable_image(
    member: Any, settings: Any, name: str, data: bytes, content_type: str, message: str
) -> None:
    response = submit(member, SimpleUploadedFile(name, data, content_type))
    assert_refused(response, message, settings)


def test_it_refuses_a_30000_by_30000_png_in_bounded_memory(
    member: Any, settings: Any
) -> None:
    bomb = one_colour_png(30_000, 30_000)
    assert len(bomb) < 200_000  # small on disk, 900 megapixels decoded
    tracemalloc.start()
    try:
        with pytest.raises(images.ImageRejected) as refused:
            images.prepare_upload(SimpleUploadedFile("bomb.png", bomb, "image/png"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert TOO_MANY_PIXELS in refused.value.message
    assert peak < 5 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    response = submit(member, SimpleUploadedFile("bomb.png", bomb, "image/png"))
    assert_refused(response, TOO_MANY_PIXELS, settings)


def test_it_refuses_ten_megabytes_and_one_byte(member: Any, settings: Any) -> None:
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (10 * 1024 * 1024 - 3)
    assert len(big) == 10 * 1024 * 1024 + 1
    response = submit(member, SimpleUploadedFile("big.jpg", big, "image/jpeg"))
    assert_refused(response, TOO_LARGE, settings)


def multipart_upload(size: int) -> Any:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="start_image"; '
        b'filename="huge.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        + b"\xff" * size
        + b"\r\n--B--\r\n"
    )
    return RequestFactory().generic(
        "POST", "/tasks/", body, content_type="multipart/form-data; boundary=B"
    )


def test_it_stops_keeping_an_upload_once_it_passes_the_cap(settings: Any) -> None:
    request = multipart_upload(12 * 1024 * 1024)
    handlers = [
        security.CappedUploadHandler(request),
        MemoryFileUploadHandler(request),
        TemporaryFileUploadHandler(request),
    ]
    parser = MultiPartParser(request.META, request, handlers, "utf-8")
    _, files = parser.parse()
    upload = files["start_image"]
    assert isinstance(upload, security.OversizedUpload)
    assert upload.size > 10 * 1024 * 1024
    assert upload.read() == b""  # nothing past the cap was spooled anywhere
    with pytest.raises(images.ImageRejected, match="larger than 10 MB"):
        images.prepare_upload(upload)


def test_it_passes_an_upload_within_the_cap_through(settings: Any) -> None:
    request = multipart_upload(1000)
    handlers = [security.CappedUploadHandler(request), MemoryFileUploadHandler(request)]
    _, files = MultiPartParser(request.META, request, handlers, "utf-8").parse()
    assert files["start_image"].read() == b"\xff" * 1000


def test_it_keeps_only_the_pixels_of_a_jpeg_html_polyglot(
    member: Any, settings: Any
) -> None:
    polyglot = encoded("JPEG", comment=HTML) + HTML
    assert b"<script>" in polyglot
    stored = accepted_file(
        submit(member, SimpleUploadedFile("cat.jpg", polyglot, "image/jpeg")), settings
    )
    assert b"<script" not in stored and b"<html" not in stored
    assert Image.open(io.BytesIO(stored)).format == "JPEG"


def png_with_payload_chunks() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", HTML.decode())
    info.add_text("XML:com.adobe.xmp", HTML.decode(), zip=True)
    return encoded("PNG", pnginfo=info, icc_profile=b"not a profile " + HTML)


def test_it_drops_text_chunks_and_profiles_carrying_payloads(
    member: Any, settings: Any
) -> None:
    stored = accepted_file(
        submit(member, SimpleUploadedFile("p.png", png_with_payload_chunks())),
        settings,
    )
    assert b"<script" not in stored
    assert not Image.open(io.BytesIO(stored)).info.get("icc_profile")


def test_it_strips_exif_and_gps_from_the_stored_copy(
    member: Any, settings: Any
) -> None:
    original = gps_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    stored = accepted_file(
        submit(member, SimpleUploadedFile("holiday.jpg", original, "image/jpeg")),
        settings,
    )
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif()
    assert b"Exif" not in stored and b"SpyCam" not in stored
    assert image.size == (80, 120)  # turned upright before the EXIF was dropped


def test_it_judges_by_content_not_by_declared_type(member: Any, settings: Any) -> None:
    stored = accepted_file(
        submit(member, SimpleUploadedFile("a.png", encoded("PNG"), "text/html")),
        settings,
    )
    assert stored.startswith(b"\x89PNG")
    image = InputImage.objects.get(task__isnull=False)
    response = member.get(f"/media/frames/{image.pk}/")
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"


ODD_NAMES = [
    "../../../../etc/passwd.png",
    "..\\..\\windows\\win.ini.png",
    "/absolute/path.png",
    "фото кота 🎬.png",
    "a" * 300 + ".png",
    "no-extension",
    "double.png.html",
    ".htaccess",
    "  spaces  .png",
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_it_ignores_the_name_the_browser_sent(
    member: Any, settings: Any, name: str
) -> None:
    stored = accepted_file(
        submit(member, SimpleUploadedFile(name, encoded("PNG"), "image/png")), settings
    )
    assert stored.startswith(b"\x89PNG")
    media = Path(settings.MEDIA_ROOT)
    for path in stored_files(settings):
        relative = path.relative_to(media).as_posix()
        assert relative.startswith("inputs/")
        assert path.suffix == ".png"
