"""Start and end frames: validated, re-encoded uploads and checked https URLs.

Uploaded images are decoded with Pillow (never trusted by name or content type),
re-encoded (which drops EXIF and any other metadata) and exposed to the provider
through signed, expiring URLs. Linked images are checked but never fetched by us.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from generations import media_store, security
from generations.apixo import contract
from generations.models import InputImage

MAX_BYTES = contract.MAX_IMAGE_BYTES
# What the provider can use: its videos are at most 1080p, so a frame larger
# than about 4096 px on a side only costs us CPU and memory to decode. Pixels are
# decoded up to MAX_PIXELS (twice a 1080p frame): a larger JPEG (a 12 MP
# phone photo) is decoded at a half, quarter or eighth of its size, which JPEG
# does cheaply; PNG and WebP cannot, so they must fit. ``manage.py
# bench_uploads`` measures the worst accepted upload.
MAX_SIDE = 4096
MAX_PIXELS = 2560 * 1600
JPEG_SCALES = (1, 2, 4, 8)
ALLOWED_FORMATS = frozenset(contract.IMAGE_FORMATS)
SIGNING_SALT = "input-image"
# How long a frame no task uses (a refused or abandoned submission) is kept.
DRAFT_IMAGE_TTL = dt.timedelta(hours=24)
URL_MAX_LENGTH = 2000


class ImageRejected(Exception):
    """An image we will not use; the message is shown to the member as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PreparedImage:
    """A decoded, re-encoded image, ready to be stored."""

    data: bytes
    extension: str
    width: int
    height: int
    sha256: str


def inspect_upload(uploaded_file: Any) -> tuple[int, int]:
    """The cheap checks of an upload, decoding nothing: its size in bytes, then
    its header (format and dimensions). Returns (width, height).

    ``uploaded_file`` is a Django UploadedFile (or any file object with ``.size``).
    """
    size = getattr(uploaded_file, "size", None)
    if size is None or size > MAX_BYTES:
        raise ImageRejected(_too_large_message())
    if size == 0:
        raise ImageRejected(gettext("The image file is empty."))
    uploaded_file.seek(0)
    try:
        # Image.open reads the header only; the pixels stay undecoded.
        with Image.open(uploaded_file) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise _not_an_image()
            _check_pixels(probe.size, probe.format)
            return probe.size
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(_too_many_pixels_message()) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _not_an_image() from None
    finally:
        uploaded_file.seek(0)


def prepare_upload(uploaded_file: Any) -> PreparedImage:
    """Check and re-encode an upload without writing anything: the header checks
    first (``inspect_upload``), then the decode, bounded by ``MAX_SIDE``."""
    inspect_upload(uploaded_file)
    uploaded_file.seek(0)
    raw = uploaded_file.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ImageRejected(_too_large_message())
    image = _decode(raw)
    return _reencode(image)


def _too_large_message() -> str:
    return gettext(
        "The image is larger than %(megabytes)s MB; choose a smaller one."
    ) % {"megabytes": MAX_BYTES // (1024 * 1024)}


def _not_an_image() -> ImageRejected:
    return ImageRejected(
        gettext("This file is not a JPG, PNG or WebP image we can read.")
    )


def _decode(raw: bytes) -> Image.Image:
    not_an_image = _not_an_image()
    with warnings.catch_warnings():
        # Pillow warns (and past twice the limit raises) on decompression bombs:
        # treat both as a rejection.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(raw)) as probe:
                if probe.format not in ALLOWED_FORMATS:
                    raise not_an_image
                _check_pixels(probe.size, probe.format)
                probe.verify()
            # verify() leaves the image unusable: open it again to decode.
            image = Image.open(io.BytesIO(raw))
            _decode_within_pixels(image)
            image.load()
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(_too_many_pixels_message()) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise not_an_image from None
    return image


def _decode_within_pixels(image: Image.Image) -> None:
    """Ask a large JPEG's decoder for a reduced scale (DCT scaling: cheap) so no
    more than MAX_PIXELS are decoded."""
    width, height = image.size
    if image.format != "JPEG" or width * height <= MAX_PIXELS:
        return
    scale = next(
        (s for s in JPEG_SCALES if (width // s) * (height // s) <= MAX_PIXELS),
        JPEG_SCALES[-1],
    )
    image.draft(None, (-(-width // scale), -(-height // scale)))


def _check_pixels(size: tuple[int, int], image_format: str | None) -> None:
    width, height = size
    if width < 1 or height < 1 or max(width, height) > MAX_SIDE:
        raise ImageRejected(_too_many_pixels_message())
    if image_format != "JPEG" and width * height > MAX_PIXELS:
        raise ImageRejected(_too_many_pixels_message())


def _too_many_pixels_message() -> str:
    return gettext(
        "The image is larger than %(side)s pixels on a side (or %(megapixels)s "
        "megapixels, for PNG and WebP), more than a video frame can use; scale it "
        "down and upload it again."
    ) % {"side": MAX_SIDE, "megapixels": number_format(MAX_PIXELS / 1_000_000, 1)}


def _reencode(image: Image.Image) -> PreparedImage:
    source_format = image.format
    # In place: a 4096 px frame is 64 MB of pixels, and every copy counts.
    ImageOps.exif_transpose(image, in_place=True)
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (
        image.mode == "P" and "transparency" in image.info
    )
    image = _to_srgb(image, "RGBA" if has_alpha else "RGB")
    # Pillow writes some of ``info`` back out (a JPEG's comment, an ICC profile):
    # a comment can carry an HTML payload, so keep nothing but the pixels.
    image.info = {}
    out = io.BytesIO()
    if has_alpha or source_format == "PNG":
        # Level 3, not ``optimize``: about as small for photos, at a third of
        # the CPU time on a 4K frame.
        image.save(out, "PNG", compress_level=3)
        extension = ".png"
    else:
        image.save(out, "JPEG", quality=92, optimize=True)
        extension = ".jpg"
    data = out.getvalue()
    if len(data) > MAX_BYTES:
        raise ImageRejected(
            gettext("The image is too large once converted; choose a smaller one.")
        )
    return PreparedImage(
        data=data,
        extension=extension,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _to_srgb(image: Image.Image, mode: str) -> Image.Image:
    """The image in ``mode``, its colours moved to sRGB if it carried a profile
    (the profile itself is not kept)."""
    profile = image.info.get("icc_profile")
    if profile and image.mode in {"RGB", "RGBA"}:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode
            )
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: keep the colours as they are
    return image if image.mode == mode else image.convert(mode)


def content_name(prepared: PreparedImage) -> str:
    """Where an upload's bytes live: named by their sha256, so the same image
    uploaded twice (or by two members) is one file."""
    digest = prepared.sha256
    return f"inputs/{digest[:2]}/{digest}{prepared.extension}"


def _ensure_file(name: str, data: bytes) -> None:
    if media_store.exists(name):
        return
    saved = media_store.save_bytes(name, data)
    if saved != name:  # written by a concurrent upload of the same bytes
        media_store.remove(saved)


def save_prepared(
    prepared: PreparedImage, *, owner: AbstractBaseUser, position: int
) -> InputImage:
    """A draft row (no task yet) for a prepared upload, its file shared by
    content. The row comes first, so the draft sweeper (``clean_drafts``) sees
    the file as referenced before it exists."""
    name = content_name(prepared)
    image = InputImage.objects.create(
        owner_id=owner.pk,
        position=position,
        width=prepared.width,
        height=prepared.height,
        sha256=prepared.sha256,
        file=name,
    )
    _ensure_file(name, prepared.data)
    # A sweep that deleted this name between its check and our row is repaired.
    _ensure_file(name, prepared.data)
    return image


def clean_drafts(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete frames never used by a task (refused or abandoned submissions)
    once older than ``DRAFT_IMAGE_TTL``, then the files no row names any more.

    A draft lives that long so a member refused at the hold (daily limit) can
    retry with the frames kept (``GenerationForm``'s image refs).
    """
    now = now or timezone.now()
    drafts = InputImage.objects.filter(
        task__isnull=True, created_at__lt=now - DRAFT_IMAGE_TTL
    )
    names = set(drafts.exclude(file="").values_list("file", flat=True))
    deleted, _ = drafts.delete()
    removed = 0
    for name in sorted(names):
        if not InputImage.objects.filter(file=name).exists():
            media_store.remove(name)
            removed += 1
    return {"drafts_deleted": deleted, "files_deleted": removed}


def store_upload(
    uploaded_file: Any, *, owner: AbstractBaseUser, position: int
) -> InputImage:
    """Validate, re-encode and store an uploaded frame. Raises ImageRejected."""
    return save_prepared(prepare_upload(uploaded_file), owner=owner, position=position)


def check_public_url(url: str) -> str:
    """The URL, stripped, if it may be given out or called: https on a public host.

    The one rule for image addresses (the provider fetches them; we never do) and
    webhook endpoints. Raises ImageRejected with a message naming no use, so both
    can show it as it is.
    """
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise ImageRejected(gettext("The address is too long."))
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ImageRejected(gettext("This is not a valid address.")) from None
    if parts.scheme != "https":
        raise ImageRejected(gettext("The address must start with https://."))
    if not host:
        raise ImageRejected(gettext("The address has no host name."))
    if parts.username or parts.password:
        raise ImageRejected(gettext("The address must not contain a password."))
    try:
        # What a resolver would look up: Unicode, percent-encoded and full-width
        # spellings of 127.0.0.1 must not slip past the address check.
        normal = security.normalise_host(host)
    except ValueError:
        raise ImageRejected(gettext("This is not a valid address.")) from None
    if _is_local_host(normal):
        raise ImageRejected(
            gettext(
                "The address must be on the public internet, not a local or "
                "private network."
            )
        )
    address = security.parse_ip_host(normal)
    if address is not None and not security.is_canonical_ip_host(host, address):
        raise ImageRejected(
            gettext(
                "Write the IP address the usual way "
                "(%(address)s), or use its host name."
            )
            % {"address": address}
        )
    return url


def _is_local_host(host: str) -> bool:
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    # Any spelling of an address (``127.1``, ``2130706433``, ``[::ffff:10.0.0.1]``)
    # counts as that address; only globally routable ones are public.
    address = security.parse_ip_host(host)
    return address is not None and not security.is_public_address(address)


def image_from_url(url: str, *, owner: AbstractBaseUser, position: int) -> InputImage:
    """Record a linked frame (checked, not fetched). Raises ImageRejected."""
    return InputImage.objects.create(
        owner_id=owner.pk, position=position, source_url=check_public_url(url)
    )


def signed_url_for(image: InputImage) -> str:
    """The absolute URL the provider fetches this frame from.

    Uploaded frames get a signed URL that expires after
    ``SIGNED_IMAGE_URL_TTL_SECONDS``; linked frames keep their own address.
    """
    if image.source_url and not image.file:
        return image.source_url
    token = signing.TimestampSigner(salt=SIGNING_SALT).sign(str(image.pk))
    path = reverse("input_image_public", args=[token])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def image_for_token(token: str) -> InputImage | None:
    """The uploaded frame a signed token names, or None if bad or expired."""
    try:
        value = signing.TimestampSigner(salt=SIGNING_SALT).unsign(
            token, max_age=settings.SIGNED_IMAGE_URL_TTL_SECONDS
        )
    except signing.BadSignature:
        return None
    if not value.isdecimal():
        return None
    return InputImage.objects.filter(pk=int(value)).exclude(file="").first()


def content_type_for(name: str | None) -> str:
    lowered = (name or "").lower()
    if lowered.endswith(".png"):
        return "image/png"
    if lowered.endswith(".webp"):
        return "image/webp"
    return "image/jpeg"
