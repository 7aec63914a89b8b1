"""The create form: one clear message per field, and nothing spent on bad input."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations import forms, images
from generations.models import GenerationTask, InputImage, LedgerEntry

VALID = {
    "mode": "text-to-video",
    "prompt": "A lighthouse in a storm, slow dolly in, waves crashing",
    "resolution": "720p",
    "duration": "8",
    "aspect_ratio": "16:9",
    "sound": "on",
    "routing": "auto",
    "delivery": "polling",
}


def png(name: str = "frame.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def make_file(kind: str) -> SimpleUploadedFile:
    """A fresh file per use: an uploaded file is read to its end once posted."""
    if kind == "text":
        return SimpleUploadedFile("cat.png", b"just text\n" * 20, "image/png")
    if kind == "big":
        return SimpleUploadedFile("big.png", b"\0" * (10 * 1024 * 1024 + 1))
    return png()


def make_form(
    owner: Any = None, files: dict[str, Any] | None = None, **data: Any
) -> forms.GenerationForm:
    return forms.GenerationForm({**VALID, **data}, files or {}, owner=owner)


def errors_of(form: forms.GenerationForm) -> dict[str, list[str]]:
    assert not form.is_valid()
    return {name: list(messages) for name, messages in form.errors.items()}


# Each bad input, the field it is reported on, and a piece of its message.
BAD_INPUTS: list[tuple[dict[str, Any], dict[str, Any], str, str]] = [
    ({"prompt": "ab"}, {}, "prompt", "at least 3 characters (it has 2)"),
    ({"prompt": "   "}, {}, "prompt", "Describe the video"),
    ({"prompt": "x" * 2501}, {}, "prompt", "at most 2500 characters (it has 2501)"),
    ({"duration": "5"}, {}, "duration", "4, 8 or 12 seconds"),
    ({"duration": "eight"}, {}, "duration", "4, 8 or 12 seconds"),
    ({"resolution": "1080p"}, {}, "resolution", "480p or 720p"),
    ({"aspect_ratio": "2:1"}, {}, "aspect_ratio", "1:1, 16:9, 9:16, 21:9, 4:3 or 3:4"),
    ({"extra_aspect_ratios": ["5:4"]}, {}, "extra_aspect_ratios", "aspect ratio"),
    ({"extra_durations": ["10"]}, {}, "extra_durations", "4, 8 or 12"),
    ({"mode": "video-to-video"}, {}, "mode", "text to video or image to video"),
    ({"routing": "cheapest"}, {}, "routing", "auto, value or official"),
    ({"delivery": "email"}, {}, "delivery", "polling or webhook"),
    ({"mode": "image-to-video"}, {}, "start_image", "needs a start frame"),
    (
        {"mode": "image-to-video"},
        {"start_image": "text"},
        "start_image",
        "not a JPG, PNG or WebP",
    ),
    (
        {"mode": "image-to-video"},
        {"start_image": "big"},
        "start_image",
        "larger than 10 MB",
    ),
    (
        {"mode": "image-to-video", "start_image_url": "http://example.com/a.jpg"},
        {},
        "start_image_url",
        "must start with https://",
    ),
    (
        {"mode": "image-to-video", "start_image_url": "https://192.168.1.2/a.jpg"},
        {},
        "start_image_url",
        "public internet",
    ),
    (
        {"mode": "image-to-video", "start_image_url": "https://example.com/a.jpg"},
        {"start_image": "png"},
        "start_image_url",
        "as a file or as an address, not both",
    ),
    (
        {
            "mode": "image-to-video",
            "start_image_url": "https://example.com/a.jpg",
            "end_image_url": "https://example.com/b.jpg",
        },
        {"end_image": "png"},
        "end_image_url",
        "end frame as a file or as an address, not both",
    ),
    (
        {"mode": "image-to-video", "end_image_url": "https://example.com/b.jpg"},
        {},
        "start_image",
        "needs a start frame",
    ),
]


@pytest.mark.parametrize(("data", "files", "field", "message"), BAD_INPUTS)
@pytest.mark.django_db
def test_it_reports_bad_input_on_its_field(
    alice: Any, data: dict[str, Any], files: dict[str, Any], field: str, message: str
) -> None:
    files = {name: make_file(kind) for name, kind in files.items()}
    errors = errors_of(make_form(alice, files, **data))
    assert field in errors, errors
    assert any(message in text for text in errors[field]), errors[field]


@pytest.mark.parametrize(("data", "files", "field", "message"), BAD_INPUTS)
@pytest.mark.django_db
def test_it_spends_nothing_on_bad_input(
    client: Any,
    alice: Any,
    data: dict[str, Any],
    files: dict[str, Any],
    field: str,
    message: str,
) -> None:
    files = {name: make_file(kind) for name, kind in files.items()}
    client.force_login(alice)
    response = client.post("/tasks/", {**VALID, **data, **files})
    assert response.status_code == 422
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not GenerationTask.objects.exists()
    assert not LedgerEntry.objects.filter(kind="hold").exists()
    assert not InputImage.objects.exists()


@pytest.mark.django_db
def test_it_accepts_a_text_to_video_form(alice: Any) -> None:
    form = make_form(alice)
    assert form.is_valid(), form.errors
    [params] = form.variants()
    assert params.prompt == VALID["prompt"]
    assert (params.resolution, params.duration, params.aspect_ratio) == (
        "720p",
        8,
        "16:9",
    )
    assert params.sound is True
    assert params.fixed_lens is False
    assert form.store_images(alice) == []


@pytest.mark.django_db
def test_it_reads_an_unticked_sound_box_as_silent(alice: Any) -> None:
    data = {k: v for k, v in VALID.items() if k != "sound"}
    form = forms.GenerationForm(data, owner=alice)
    assert form.is_valid()
    assert form.variants()[0].sound is False


@pytest.mark.django_db
def test_it_ignores_frames_in_text_to_video(alice: Any) -> None:
    form = make_form(
        alice,
        {"start_image": SimpleUploadedFile("x.png", b"not an image")},
        start_image_url="http://nope",
    )
    assert form.is_valid(), form.errors
    assert form.store_images(alice) == []


@pytest.mark.django_db
def test_it_makes_one_variant_per_combination(alice: Any) -> None:
    form = make_form(
        alice, extra_aspect_ratios=["9:16", "16:9"], extra_durations=["4", "12"]
    )
    assert form.is_valid(), form.errors
    combos = [(p.aspect_ratio, p.duration) for p in form.variants()]
    assert combos == [
        ("16:9", 8),
        ("16:9", 4),
        ("16:9", 12),
        ("9:16", 8),
        ("9:16", 4),
        ("9:16", 12),
    ]


@pytest.mark.django_db
def test_it_stores_an_uploaded_start_and_a_linked_end_frame(alice: Any) -> None:
    form = make_form(
        alice,
        {"start_image": png()},
        mode="image-to-video",
        end_image_url="https://example.com/end.jpg",
    )
    assert form.is_valid(), form.errors
    start, end = form.store_images(alice)
    assert (start.position, end.position) == (0, 1)
    assert start.file and not start.source_url
    assert end.source_url == "https://example.com/end.jpg"


@pytest.mark.django_db
def test_it_reuses_a_frame_kept_from_an_earlier_attempt(alice: Any, bob: Any) -> None:
    kept = images.store_upload(png(), owner=alice, position=0)
    ref = forms.sign_image_ref(kept)
    form = make_form(alice, mode="image-to-video", start_image_ref=ref)
    assert form.is_valid(), form.errors
    assert form.store_images(alice) == [kept]
    # A reference is only good for its owner, and only when signed by us.
    assert not make_form(bob, mode="image-to-video", start_image_ref=ref).is_valid()
    forged = f"{kept.pk}:forged"
    assert not make_form(
        alice, mode="image-to-video", start_image_ref=forged
    ).is_valid()


def test_it_prefills_only_allowed_values_from_a_remix_link() -> None:
    initial = forms.initial_from_query(
        {
            "prompt": "A fox",
            "duration": "12",
            "aspect_ratio": "9:16",
            "resolution": "4k",
            "mode": "image-to-video",
            "sound": "0",
            "fixed_lens": "1",
            "routing": "free",
            "start_image_url": "javascript:alert(1)",
        }
    )
    assert initial == {
        "prompt": "A fox",
        "duration": 12,
        "aspect_ratio": "9:16",
        "mode": "image-to-video",
        "sound": False,
        "fixed_lens": True,
    }


@pytest.mark.django_db
def test_it_refuses_a_request_with_too_many_files(client: Any, alice: Any) -> None:
    """One request may not carry a hundred 10 MB files: past the limit Django
    refuses it before reading any, and the page says why."""
    client.force_login(alice)
    balance = alice.credit_account.balance
    files = {
        f"file{n}": SimpleUploadedFile(f"f{n}.png", b"\x89PNG" + b"0" * 1000)
        for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    }
    response = client.post(
        "/tasks/",
        {"prompt": "a lighthouse in a storm", "mode": "image-to-video", **files},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files" in page
    assert "Nothing was saved" in page
    assert not InputImage.objects.exists()
    alice.credit_account.refresh_from_db()
    assert alice.credit_account.balance == balance


def one_colour_png(width: int, height: int) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, "PNG", optimize=True)
    return SimpleUploadedFile("review.png", out.getvalue(), content_type="image/png")


@pytest.mark.django_db
def test_it_checks_credits_before_decoding_an_upload(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member with no credits cannot make the web process decode anything."""
    from generations import credits

    credits.adjust(user=alice, amount=-1000, reason="spent")
    decoded: list[int] = []
    real_decode = images._decode

    def counting_decode(raw: bytes) -> Any:
        decoded.append(len(raw))
        return real_decode(raw)

    monkeypatch.setattr(images, "_decode", counting_decode)
    form = make_form(alice, {"start_image": png()}, mode="image-to-video")
    assert "Not enough credits" in " ".join(errors_of(form)["__all__"])
    assert decoded == []
    credits.grant(user=alice, amount=1000, reason="top up")
    assert make_form(alice, {"start_image": png()}, mode="image-to-video").is_valid()
    assert len(decoded) == 1


@pytest.mark.django_db
def test_it_refuses_the_reviews_7000_by_5700_png_from_its_header(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's 130 KB PNG of 7000x5700 pixels took 5.4 s and 460 MB: now
    its header alone refuses it, and frames stay within what the provider uses."""
    monkeypatch.setattr(
        images, "_decode", lambda raw: pytest.fail("decoded a refused image")
    )
    form = make_form(
        alice, {"start_image": one_colour_png(7000, 5700)}, mode="image-to-video"
    )
    [message] = errors_of(form)["start_image"]
    assert f"larger than {images.MAX_SIDE} pixels on a side" in message
    for size in [(4097, 10), (10, 4097), (2561, 1601)]:
        form = make_form(
            alice, {"start_image": one_colour_png(*size)}, mode="image-to-video"
        )
        assert "start_image" in errors_of(form), size
