"""The create form: the provider's rules, checked before anything is spent."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser, User
from django.core import signing
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from generations import credits, images
from generations.apixo import contract
from generations.durations import format_seconds
from generations.models import Delivery, InputImage, Mode, Routing
from generations.models.tasks import AspectRatio
from generations.params import GenerationParams

IMAGE_REF_SALT = "input-image-ref"
_format_seconds_lazy = lazy(format_seconds, str)
DURATION_CHOICES = [(d, _format_seconds_lazy(d)) for d in contract.DURATIONS]
RESOLUTION_CHOICES = [
    ("480p", "480p"),
    ("720p", "720p"),
]
RESOLUTION_HINTS = {"480p": _("Fast, previews"), "720p": _("High quality")}
ASPECT_CHOICES = [(value, value) for value in contract.ASPECT_RATIOS]
ASPECT_NAMES = dict(AspectRatio.choices)
SLOTS = (("start", 0), ("end", 1))


def _list_words(values: tuple[Any, ...] | list[Any]) -> str:
    words = [str(v) for v in values]
    return gettext("%(first)s or %(last)s") % {
        "first": ", ".join(words[:-1]),
        "last": words[-1],
    }


def _duration_error() -> str:
    return gettext("Choose a duration of %(values)s seconds.") % {
        "values": _list_words(contract.DURATIONS)
    }


def _resolution_error() -> str:
    return gettext("Choose a resolution of %(values)s.") % {
        "values": _list_words(contract.RESOLUTIONS)
    }


def _aspect_error() -> str:
    return gettext("Choose an aspect ratio of %(values)s.") % {
        "values": _list_words(contract.ASPECT_RATIOS)
    }


# Lazy: the member's language is known only when a form shows the error.
DURATION_ERROR = lazy(_duration_error, str)()
RESOLUTION_ERROR = lazy(_resolution_error, str)()
ASPECT_ERROR = lazy(_aspect_error, str)()


def sign_image_ref(image: InputImage) -> str:
    return signing.Signer(salt=IMAGE_REF_SALT).sign(str(image.pk))


class GenerationForm(forms.Form):
    mode = forms.ChoiceField(
        choices=Mode.choices,
        initial=Mode.TEXT,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose text to video or image to video.")},
    )
    prompt = forms.CharField(
        min_length=contract.PROMPT_MIN,
        max_length=contract.PROMPT_MAX,
        widget=forms.Textarea(
            attrs={
                "rows": 5,
                "placeholder": _(
                    "A red fox trots through fresh snow at dawn, slow "
                    "dolly in, breath steaming, soft wind and crunching snow"
                ),
            }
        ),
        error_messages={
            "required": _("Describe the video you want (at least 3 characters)."),
            "min_length": _(
                "The prompt needs at least %(limit_value)d characters "
                "(it has %(show_value)d)."
            ),
            "max_length": _(
                "The prompt can have at most %(limit_value)d characters "
                "(it has %(show_value)d)."
            ),
        },
    )
    resolution = forms.ChoiceField(
        choices=RESOLUTION_CHOICES,
        initial="720p",
        widget=forms.RadioSelect,
        error_messages={
            "invalid_choice": RESOLUTION_ERROR,
            "required": RESOLUTION_ERROR,
        },
    )
    duration = forms.TypedChoiceField(
        choices=DURATION_CHOICES,
        coerce=int,
        initial=8,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": DURATION_ERROR, "required": DURATION_ERROR},
    )
    aspect_ratio = forms.ChoiceField(
        choices=ASPECT_CHOICES,
        initial=contract.DEFAULT_ASPECT_RATIO,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": ASPECT_ERROR, "required": ASPECT_ERROR},
    )
    extra_aspect_ratios = forms.MultipleChoiceField(
        choices=ASPECT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Also in these aspect ratios"),
        error_messages={"invalid_choice": ASPECT_ERROR},
    )
    extra_durations = forms.TypedMultipleChoiceField(
        choices=DURATION_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Also in these durations"),
        error_messages={"invalid_choice": DURATION_ERROR},
    )
    sound = forms.BooleanField(
        required=False, initial=True, label=_("Generate sound and music")
    )
    fixed_lens = forms.BooleanField(
        required=False, label=_("Fixed lens (static camera)")
    )
    routing = forms.ChoiceField(
        choices=Routing.choices,
        initial=Routing.AUTO,
        label=_("Provider routing"),
        error_messages={"invalid_choice": _("Choose auto, value or official routing.")},
    )
    delivery = forms.ChoiceField(
        choices=Delivery.choices,
        initial=Delivery.POLLING,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose polling or webhook delivery.")},
    )
    start_image = forms.FileField(required=False, label=_("Start frame"))
    start_image_url = forms.CharField(
        required=False,
        max_length=images.URL_MAX_LENGTH,
        label=_("or its https address"),
        widget=forms.URLInput(attrs={"placeholder": "https://…/start.jpg"}),
    )
    start_image_ref = forms.CharField(required=False, widget=forms.HiddenInput)
    end_image = forms.FileField(required=False, label=_("End frame (optional)"))
    end_image_url = forms.CharField(
        required=False,
        max_length=images.URL_MAX_LENGTH,
        label=_("or its https address"),
        widget=forms.URLInput(attrs={"placeholder": "https://…/end.jpg"}),
    )
    end_image_ref = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, owner: AbstractBaseUser | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.kept_images: dict[str, InputImage] = {}
        for name in ("start_image", "end_image"):
            self.fields[name].widget.attrs["accept"] = "image/jpeg,image/png,image/webp"

    @property
    def image_mode(self) -> bool:
        return self.cleaned_data.get("mode") == Mode.IMAGE

    def _clean_upload(self, name: str) -> Any:
        """The cheap checks only (size, header); ``clean`` decodes later, once
        everything else, credits included, is known to be fine."""
        upload = self.cleaned_data.get(name)
        if not upload or not self.image_mode:
            return None
        try:
            images.inspect_upload(upload)
        except images.ImageRejected as exc:
            raise forms.ValidationError(exc.message, code="image") from None
        return upload

    def clean_start_image(self) -> Any:
        return self._clean_upload("start_image")

    def clean_end_image(self) -> Any:
        return self._clean_upload("end_image")

    def _decode_uploads(self) -> None:
        """Decode and re-encode the uploads: the expensive step, run last, and
        only for a form that is otherwise valid and that the member can pay for."""
        uploads = [
            slot
            for slot, _position in SLOTS
            if self.cleaned_data.get(f"{slot}_image") is not None
        ]
        if not uploads or self.errors:
            return
        if self.owner is not None and isinstance(self.owner, User):
            needed = sum(params.cost() for params in self.variants())
            try:
                credits.check_affordable(self.owner, needed=needed)
            except credits.InsufficientCredits as exc:
                self.add_error(
                    None, gettext("Not enough credits: %(reason)s") % {"reason": exc}
                )
                return
        for slot in uploads:
            field = f"{slot}_image"
            try:
                prepared = images.prepare_upload(self.cleaned_data[field])
            except images.ImageRejected as exc:
                self.add_error(field, forms.ValidationError(exc.message, code="image"))
                continue
            self.cleaned_data[field] = prepared

    def _clean_url(self, name: str) -> str:
        url = str(self.cleaned_data.get(name) or "").strip()
        if not url or not self.image_mode:
            return ""
        try:
            return images.check_public_url(url)
        except images.ImageRejected as exc:
            raise forms.ValidationError(exc.message, code="url") from None

    def clean_start_image_url(self) -> str:
        return self._clean_url("start_image_url")

    def clean_end_image_url(self) -> str:
        return self._clean_url("end_image_url")

    def _kept_image(self, slot: str, position: int) -> InputImage | None:
        """An image stored by an earlier attempt of this form (kept across errors)."""
        token = str(self.data.get(f"{slot}_image_ref") or "")
        if not token or self.owner is None:
            return None
        try:
            pk = signing.Signer(salt=IMAGE_REF_SALT).unsign(token)
        except signing.BadSignature:
            return None
        return InputImage.objects.filter(
            pk=int(pk) if pk.isdecimal() else 0,
            owner_id=self.owner.pk,
            task__isnull=True,
            position=position,
        ).first()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not self.image_mode:
            return data
        for slot, position in SLOTS:
            upload = data.get(f"{slot}_image")
            url = data.get(f"{slot}_image_url")
            if upload and url:
                self.add_error(
                    f"{slot}_image_url",
                    gettext(
                        "Give the start frame as a file or as an address, not both."
                    )
                    if position == 0
                    else gettext(
                        "Give the end frame as a file or as an address, not both."
                    ),
                )
                continue
            if upload or url or self.has_error(f"{slot}_image"):
                continue
            if self.has_error(f"{slot}_image_url"):
                continue
            kept = self._kept_image(slot, position)
            if kept is not None:
                self.kept_images[slot] = kept
        if not (
            data.get("start_image")
            or data.get("start_image_url")
            or "start" in self.kept_images
            or self.has_error("start_image")
            or self.has_error("start_image_url")
        ):
            self.add_error(
                "start_image",
                gettext(
                    "Image to video needs a start frame: upload an image or give "
                    "its https address."
                ),
            )
        self._decode_uploads()
        return data

    def variants(self) -> list[GenerationParams]:
        """One parameter set per (aspect ratio, duration) combination ticked."""
        data = self.cleaned_data
        aspects = _unique([data["aspect_ratio"], *data.get("extra_aspect_ratios", [])])
        durations = _unique([data["duration"], *data.get("extra_durations", [])])
        return [
            GenerationParams.from_values(data, aspect_ratio=aspect, duration=duration)
            for aspect in aspects
            for duration in durations
        ]

    def store_images(self, owner: AbstractBaseUser) -> list[InputImage]:
        """Save the frames of a valid image-to-video form (start first)."""
        if not self.image_mode:
            return []
        stored: list[InputImage] = []
        for slot, position in SLOTS:
            prepared = self.cleaned_data.get(f"{slot}_image")
            url = self.cleaned_data.get(f"{slot}_image_url")
            if isinstance(prepared, images.PreparedImage):
                stored.append(
                    images.save_prepared(prepared, owner=owner, position=position)
                )
            elif url:
                stored.append(
                    images.image_from_url(url, owner=owner, position=position)
                )
            elif slot in self.kept_images:
                stored.append(self.kept_images[slot])
        return stored


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def kept_image_from_query(
    query: Mapping[str, str], *, owner: AbstractBaseUser
) -> InputImage | None:
    """The member's stored start frame a Continue link names (signed), if any."""
    form = GenerationForm(data={"start_image_ref": query.get("start_image_ref", "")})
    form.owner = owner
    return form._kept_image("start", 0)


def initial_from_query(query: Mapping[str, str]) -> dict[str, Any]:
    """Form initial values from a remix link, keeping only allowed values."""
    initial: dict[str, Any] = {}
    allowed: dict[str, set[str]] = {
        "mode": set(Mode.values),
        "resolution": set(contract.RESOLUTIONS),
        "duration": {str(d) for d in contract.DURATIONS},
        "aspect_ratio": set(contract.ASPECT_RATIOS),
        "routing": set(Routing.values),
        "delivery": set(Delivery.values),
    }
    for name, values in allowed.items():
        value = query.get(name)
        if value in values:
            initial[name] = int(value) if name == "duration" else value
    prompt = query.get("prompt")
    if prompt:
        initial["prompt"] = prompt[: contract.PROMPT_MAX]
    for name in GenerationParams.yes_no_names():
        if name in query:
            initial[name] = query[name] in {"1", "true", "on", "yes"}
    for name in ("start_image_url", "end_image_url"):
        if query.get(name, "").startswith("https://"):
            initial[name] = query[name][: images.URL_MAX_LENGTH]
    return initial


def with_kept_images(
    data: Mapping[str, Any], stored: list[InputImage]
) -> dict[str, Any]:
    """Form data that keeps already stored uploads for the next attempt."""
    kept: dict[str, Any] = {key: data.get(key) for key in data}
    if hasattr(data, "getlist"):
        for key in ("extra_aspect_ratios", "extra_durations"):
            kept[key] = data.getlist(key)
    for image in stored:
        slot = "start" if image.position == 0 else "end"
        if image.file:
            kept[f"{slot}_image_ref"] = sign_image_ref(image)
            kept[f"{slot}_image_url"] = ""
    return kept


# ---------- Presets ----------

PRESET_FIELDS = (
    *GenerationParams.setting_names(),
    "extra_aspect_ratios",
    "extra_durations",
)


class PresetForm(forms.Form):
    """A name plus the create form's parameters (never its prompt or frames)."""

    preset_name = forms.CharField(
        max_length=60,
        label=_("Preset name"),
        error_messages={
            "required": _("Give the preset a name."),
            "max_length": _("Keep the name under %(limit_value)d characters."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in PRESET_FIELDS:
            self.fields[name] = copy.deepcopy(GenerationForm.base_fields[name])

    def params(self) -> dict[str, Any]:
        """The parameters as JSON-safe values, in the create form's terms."""
        data = self.cleaned_data
        return {
            **GenerationParams.from_values(data).settings(),
            "extra_aspect_ratios": _unique(list(data["extra_aspect_ratios"])),
            "extra_durations": _unique([int(d) for d in data["extra_durations"]]),
        }


def initial_from_preset(params: Mapping[str, Any]) -> dict[str, Any]:
    """Form initial values from a stored preset, dropping what is no longer valid."""
    query = {
        name: str(int(value)) if isinstance(value, bool) else str(value)
        for name, value in params.items()
        if isinstance(value, str | int)
    }
    initial = initial_from_query(query)
    initial.pop("prompt", None)
    aspects = params.get("extra_aspect_ratios")
    if isinstance(aspects, list):
        allowed_aspects = set(contract.ASPECT_RATIOS)
        initial["extra_aspect_ratios"] = [a for a in aspects if a in allowed_aspects]
    durations = params.get("extra_durations")
    if isinstance(durations, list):
        allowed = set(contract.DURATIONS)
        initial["extra_durations"] = [d for d in durations if d in allowed]
    return initial


def is_id(value: str) -> bool:
    """A primary key as sent in a form or query: ASCII digits that fit 64 bits.

    ``str.isdigit`` alone accepts "²", which ``int`` then refuses.
    """
    return value.isascii() and value.isdigit() and len(value) <= 18


def parse_ids(values: list[str]) -> list[int] | None:
    """Selected task ids from a form, de-duplicated; None if any is not an id."""
    if not all(is_id(value) for value in values):
        return None
    return _unique([int(value) for value in values])
