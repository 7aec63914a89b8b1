"""Start and end frames: decoding, re-encoding, URL checks and signed URLs."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from generations import images, media_store
from generations.models import InputImage
from tests.factories import media_bytes, media_names


def image_bytes(
    fmt: str, size: tuple[int, int] = (40, 30), mode: str = "RGB", **save: Any
) -> bytes:
    colours: dict[str, Any] = {"RGBA": (200, 60, 30, 128), "L": 90}
    colour = colours.get(mode, (200, 60, 30))
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt, **save)
    return out.getvalue()


def upload(
    data: bytes, name: str = "frame.jpg", content_type: str = "image/jpeg"
) -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored(image: InputImage) -> Image.Image:
    return Image.open(io.BytesIO(media_bytes(image.file.name)))


def exif_with(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SnoopCam"  # Make
    exif[0x0131] = "secret-software"  # Software
    if orientation:
        exif[0x0112] = orientation
    return exif.tobytes()


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_stores_a_jpeg_without_its_metadata(alice: Any) -> None:
    data = image_bytes("JPEG", exif=exif_with())
    assert b"SnoopCam" in data
    image = images.store_upload(upload(data), owner=alice, position=0)
    saved = media_bytes(image.file.name)
    assert b"SnoopCam" not in saved
    assert not stored(image).getexif()
    assert stored(image).format == "JPEG"
    assert (image.width, image.height) == (40, 30)
    assert image.sha256 == hashlib.sha256(saved).hexdigest()
    assert image.file.name.startswith("inputs/")
    assert image.file.name.endswith(".jpg")
    assert image.owner == alice
    assert image.position == 0
    assert image.task is None


@pytest.mark.django_db
def test_it_turns_the_image_upright_from_its_exif_orientation(alice: Any) -> None:
    data = image_bytes("JPEG", size=(40, 20), exif=exif_with(orientation=6))
    image = images.store_upload(upload(data), owner=alice, position=0)
    assert (image.width, image.height) == (20, 40)
    assert stored(image).size == (20, 40)


@pytest.mark.django_db
def test_it_keeps_a_transparent_png_as_png(alice: Any) -> None:
    data = image_bytes("PNG", mode="RGBA")
    image = images.store_upload(
        upload(data, "a.png", "image/png"), owner=alice, position=1
    )
    assert image.file.name.endswith(".png")
    assert stored(image).format == "PNG"
    assert stored(image).mode == "RGBA"
    assert image.position == 1


@pytest.mark.django_db
def test_it_keeps_an_opaque_png_lossless(alice: Any) -> None:
    image = images.store_upload(
        upload(image_bytes("PNG"), "a.png", "image/png"), owner=alice, position=0
    )
    assert stored(image).format == "PNG"


@pytest.mark.django_db
def test_it_reencodes_an_opaque_webp_as_jpeg(alice: Any) -> None:
    data = image_bytes("WEBP")
    image = images.store_upload(
        upload(data, "a.webp", "image/webp"), owner=alice, position=0
    )
    assert stored(image).format == "JPEG"
    assert image.file.name.endswith(".jpg")


@pytest.mark.django_db
def test_it_keeps_the_alpha_of_a_webp_as_png(alice: Any) -> None:
    data = image_bytes("WEBP", mode="RGBA", lossless=True)
    image = images.store_upload(
        upload(data, "a.webp", "image/webp"), owner=alice, position=0
    )
    assert stored(image).format == "PNG"


@pytest.mark.django_db
def test_it_rejects_a_text_file_named_png(alice: Any) -> None:
    fake = upload(b"hello, I am not a picture\n" * 10, "cat.png", "image/png")
    with pytest.raises(images.ImageRejected, match="not a JPG, PNG or WebP"):
        images.store_upload(fake, owner=alice, position=0)
    assert not InputImage.objects.exists()


@pytest.mark.django_db
def test_it_rejects_a_gif_even_though_it_is_an_image(alice: Any) -> None:
    with pytest.raises(images.ImageRejected, match="not a JPG, PNG or WebP"):
        images.store_upload(
            upload(image_bytes("GIF"), "a.gif", "image/gif"), owner=alice, position=0
        )


@pytest.mark.django_db
def test_it_rejects_a_truncated_jpeg(alice: Any) -> None:
    data = image_bytes("JPEG", size=(200, 200))
    with pytest.raises(images.ImageRejected):
        images.store_upload(upload(data[: len(data) // 2]), owner=alice, position=0)


@pytest.mark.django_db
def test_it_rejects_ten_megabytes_and_one_byte(alice: Any) -> None:
    data = image_bytes("PNG") + b"\0" * (10 * 1024 * 1024 + 1)
    big = upload(data[: 10 * 1024 * 1024 + 1], "big.png", "image/png")
    assert big.size == 10 * 1024 * 1024 + 1
    with pytest.raises(images.ImageRejected, match="larger than 10 MB"):
        images.store_upload(big, owner=alice, position=0)


@pytest.mark.django_db
def test_it_rejects_a_large_file_before_reading_it(alice: Any) -> None:
    class Huge:
        size = 50 * 1024 * 1024

        def read(self, *args: Any) -> bytes:
            raise AssertionError("a file over the limit must not be read")

        def seek(self, *args: Any) -> None:
            raise AssertionError("a file over the limit must not be read")

    with pytest.raises(images.ImageRejected, match="larger than 10 MB"):
        images.store_upload(Huge(), owner=alice, position=0)


@pytest.mark.django_db
def test_it_rejects_a_decompression_bomb(alice: Any) -> None:
    data = image_bytes("PNG", size=(8000, 8000), mode="L", optimize=True)
    assert len(data) < 1024 * 1024  # small on disk, 64 megapixels decoded
    with pytest.raises(images.ImageRejected, match="megapixels"):
        images.store_upload(
            upload(data, "bomb.png", "image/png"), owner=alice, position=0
        )


@pytest.mark.parametrize(
    "url",
    [
        "https://images.example.com/cat.jpg",
        "https://cdn.example.org:8443/a/b.png?sig=1",
        "https://8.8.8.8/public.jpg",
    ],
)
def test_it_accepts_public_https_urls(url: str) -> None:
    assert images.check_public_url(f"  {url} ") == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://images.example.com/cat.jpg", "https://"),
        ("ftp://images.example.com/cat.jpg", "https://"),
        ("images.example.com/cat.jpg", "https://"),
        ("https:///cat.jpg", "no host"),
        ("https://localhost/cat.jpg", "public internet"),
        ("https://127.0.0.1/cat.jpg", "public internet"),
        ("https://10.1.2.3/cat.jpg", "public internet"),
        ("https://192.168.0.10/cat.jpg", "public internet"),
        ("https://172.16.5.4/cat.jpg", "public internet"),
        ("https://169.254.169.254/latest/meta-data", "public internet"),
        ("https://[::1]/cat.jpg", "public internet"),
        ("https://[fe80::1]/cat.jpg", "public internet"),
        ("https://[::ffff:127.0.0.1]/cat.jpg", "public internet"),
        ("https://user:pw@example.com/cat.jpg", "password"),
        ("https://example.com:99999/cat.jpg", "not a valid"),
    ],
)
def test_it_rejects_urls_the_provider_must_not_be_sent_to(
    url: str, message: str
) -> None:
    with pytest.raises(images.ImageRejected, match=message):
        images.check_public_url(url)


@pytest.mark.django_db
def test_it_records_a_linked_image_without_fetching_it(alice: Any) -> None:
    image = images.image_from_url(
        "https://images.example.com/cat.jpg", owner=alice, position=1
    )
    assert image.source_url == "https://images.example.com/cat.jpg"
    assert not image.file
    assert image.position == 1
    assert images.signed_url_for(image) == "https://images.example.com/cat.jpg"


@pytest.mark.django_db
def test_it_refuses_to_record_a_private_url(alice: Any) -> None:
    with pytest.raises(images.ImageRejected):
        images.image_from_url("https://10.0.0.1/x.jpg", owner=alice, position=0)
    assert not InputImage.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_serves_an_upload_through_its_signed_url_without_login(
    client: Any, alice: Any, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    image = images.store_upload(upload(image_bytes("JPEG")), owner=alice, position=0)
    url = images.signed_url_for(image)
    assert url.startswith("https://studio.example.com/i/")
    path = url.removeprefix("https://studio.example.com")
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Robots-Tag"] == "noindex"
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == image.sha256


@pytest.mark.django_db
def test_it_404s_on_a_tampered_signed_url(client: Any, alice: Any) -> None:
    image = images.store_upload(upload(image_bytes("JPEG")), owner=alice, position=0)
    path = images.signed_url_for(image).removeprefix(settings.PUBLIC_BASE_URL)
    token = path.split("/")[2]
    pk, stamp, signature = token.split(":")
    forged = f"{int(pk) + 1}:{stamp}:{signature}"
    assert client.get(f"/i/{forged}/").status_code == 404
    assert client.get("/i/not-a-token/").status_code == 404


@pytest.mark.django_db
def test_it_404s_on_an_expired_signed_url(
    client: Any, alice: Any, settings: Any
) -> None:
    image = images.store_upload(upload(image_bytes("JPEG")), owner=alice, position=0)
    path = images.signed_url_for(image).removeprefix(settings.PUBLIC_BASE_URL)
    assert client.get(path).status_code == 200
    settings.SIGNED_IMAGE_URL_TTL_SECONDS = -1
    assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_it_refuses_post_on_a_signed_url(client: Any, alice: Any) -> None:
    image = images.store_upload(upload(image_bytes("JPEG")), owner=alice, position=0)
    path = images.signed_url_for(image).removeprefix(settings.PUBLIC_BASE_URL)
    assert client.post(path).status_code == 405


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_stores_the_same_image_uploaded_twice_as_one_file(
    alice: Any, bob: Any
) -> None:
    data = image_bytes("PNG", size=(64, 48))
    first = images.store_upload(
        upload(data, "a.png", "image/png"), owner=alice, position=0
    )
    again = images.store_upload(
        upload(data, "b.png", "image/png"), owner=alice, position=1
    )
    theirs = images.store_upload(
        upload(data, "c.png", "image/png"), owner=bob, position=0
    )
    assert first.pk != again.pk != theirs.pk
    assert first.file.name == again.file.name == theirs.file.name
    assert first.file.name == f"inputs/{first.sha256[:2]}/{first.sha256}.png"
    assert media_names("inputs") == [first.file.name]


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_cleans_unreferenced_drafts_and_their_files(alice: Any) -> None:
    from django_q.models import Schedule

    from generations import tasks
    from tests.factories import queue_task

    old = timezone.now() - images.DRAFT_IMAGE_TTL - dt.timedelta(minutes=1)
    abandoned = images.store_upload(
        upload(image_bytes("PNG", size=(10, 10)), "x.png", "image/png"),
        owner=alice,
        position=0,
    )
    used = images.store_upload(
        upload(image_bytes("PNG", size=(20, 20)), "y.png", "image/png"),
        owner=alice,
        position=0,
    )
    task = queue_task(alice)
    InputImage.objects.create(
        owner=alice, task=task, position=0, file=used.file.name, sha256=used.sha256
    )
    fresh = images.store_upload(
        upload(image_bytes("PNG", size=(30, 30)), "z.png", "image/png"),
        owner=alice,
        position=0,
    )
    InputImage.objects.filter(pk__in=[abandoned.pk, used.pk]).update(created_at=old)
    assert tasks.clean_upload_drafts() == {"drafts_deleted": 2, "files_deleted": 1}
    assert not media_store.exists(abandoned.file.name)
    assert media_store.exists(used.file.name)  # the task's row still names it
    assert media_store.exists(fresh.file.name)  # a day to retry with it
    assert InputImage.objects.filter(pk=fresh.pk).exists()
    assert InputImage.objects.filter(task=task).count() == 1
    schedule = Schedule.objects.get(func="generations.tasks.clean_upload_drafts")
    assert (schedule.schedule_type, schedule.repeats) == ("H", -1)
