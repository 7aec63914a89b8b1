"""The gallery's filters, read from the query."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms

from generations import security
from generations.forms.generation import (
    ASPECT_CHOICES,
    DURATION_CHOICES,
    RESOLUTION_CHOICES,
)
from generations.models import Mode

OWNER_FILTERS = [("", "Everyone"), ("mine", "Mine")]
SOUND_FILTERS = [("", "Any sound"), ("on", "With sound"), ("off", "Silent")]
# One range for every date a request names (generations/security.py).
DATE_MIN = security.EARLIEST_DAY
DATE_MAX = security.LATEST_DAY
DATE_ERROR = f"Choose a date between {DATE_MIN.year} and {DATE_MAX.year}."


class GalleryFilterForm(forms.Form):
    """The gallery's filters, all optional and combinable, read from the query."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search prompts",
        error_messages={"max_length": "Search for at most %(limit_value)d characters."},
    )
    owner = forms.ChoiceField(
        required=False, choices=OWNER_FILTERS, label="Whose", widget=forms.RadioSelect
    )
    favourites = forms.BooleanField(required=False, label="Favourites")
    mode = forms.ChoiceField(
        required=False, choices=[("", "Any mode"), *Mode.choices], label="Mode"
    )
    resolution = forms.ChoiceField(
        required=False,
        choices=[("", "Any resolution"), *RESOLUTION_CHOICES],
        label="Resolution",
    )
    aspect_ratio = forms.ChoiceField(
        required=False,
        choices=[("", "Any shape"), *ASPECT_CHOICES],
        label="Aspect ratio",
    )
    duration = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any length"), *DURATION_CHOICES],
        label="Duration",
    )
    sound = forms.ChoiceField(required=False, choices=SOUND_FILTERS, label="Sound")
    since = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        required=False,
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def select_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in ("mode", "resolution", "aspect_ratio", "duration", "sound")
        ]

    def _clean_day(self, name: str) -> dt.date | None:
        day: dt.date | None = self.cleaned_data.get(name)
        if day is not None and not DATE_MIN <= day <= DATE_MAX:
            raise forms.ValidationError(DATE_ERROR, code="range")
        return day

    def clean_since(self) -> dt.date | None:
        return self._clean_day("since")

    def clean_until(self) -> dt.date | None:
        return self._clean_day("until")

    def clean(self) -> dict[str, Any]:
        super().clean()
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return self.cleaned_data

    def filters(self) -> dict[str, Any]:
        """The valid, non-empty filters; a bad value is dropped, never fatal."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if value not in ("", None, False)
        }

    def query_string(self) -> str:
        """The active filters as a query string, for links that keep them."""
        pairs: list[tuple[str, str]] = []
        for name, value in self.filters().items():
            if isinstance(value, dt.date):
                pairs.append((name, value.isoformat()))
            elif value is True:
                pairs.append((name, "1"))
            else:
                pairs.append((name, str(value)))
        return urlencode(pairs)
