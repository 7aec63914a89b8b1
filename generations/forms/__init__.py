"""Forms: the create form and presets (generation.py), the gallery's filters
(gallery.py). Views import ``generations.forms`` and use the names below."""

from __future__ import annotations

from generations.forms.gallery import DATE_MAX, DATE_MIN, GalleryFilterForm
from generations.forms.generation import (
    PRESET_FIELDS,
    RESOLUTION_HINTS,
    GenerationForm,
    PresetForm,
    initial_from_preset,
    initial_from_query,
    is_id,
    kept_image_from_query,
    parse_ids,
    sign_image_ref,
    with_kept_images,
)

__all__ = [
    "DATE_MAX",
    "DATE_MIN",
    "PRESET_FIELDS",
    "RESOLUTION_HINTS",
    "GalleryFilterForm",
    "GenerationForm",
    "PresetForm",
    "initial_from_preset",
    "initial_from_query",
    "is_id",
    "kept_image_from_query",
    "parse_ids",
    "sign_image_ref",
    "with_kept_images",
]
