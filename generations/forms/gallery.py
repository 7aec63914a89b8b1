"""The gallery's filters, read from the query."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from generations import security
from generations.forms.generation import (
    ASPECT_CHOICES,
    DURATION_CHOICES,
    RESOLUTION_CHOICES,
)
from generations.models import Mode

OWNER_FILTERS = [("", _("Everyone")), ("mine", pgettext_lazy("videos", "Mine"))]
SOUND_FILTERS = [
    ("", _("Any sound")),
    ("on", _("With sound")),
    ("off", _("Silent")),
]
# One range for every date a request names (generations/security.py).
DATE_MIN = security.EARLIEST_DAY
DATE_MAX = security.LATEST_DAY
DATE_ERROR = _("Choose a date between %(first)s and %(last)s.")


class GalleryFilterForm(forms.Form):
    """The gallery's filters, all optional and combinable, read from the query."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label=_("Search prompts"),
        error_messages={
            "max_length": _("Search for at most %(limit_value)d characters.")
        },
    )
    owner = forms.ChoiceField(
        required=False,
        choices=OWNER_FILTERS,
        label=_("Whose"),
        widget=forms.RadioSelect,
    )
    favourites = forms.BooleanField(required=False, label=_("Favourites"))
    mode = forms.ChoiceField(
        required=False, choices=[("", _("Any mode")), *Mode.choices], label=_("Mode")
    )
    resolution = forms.ChoiceField(
        required=False,
        choices=[("", _("Any resolution")), *RESOLUTION_CHOICES],
        label=_("Resolution"),
    )
    aspect_ratio = forms.ChoiceField(
        required=False,
        choices=[("", _("Any shape")), *ASPECT_CHOICES],
        label=_("Aspect ratio"),
    )
    duration = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any length")), *DURATION_CHOICES],
        label=_("Duration"),
    )
    sound = forms.ChoiceField(required=False, choices=SOUND_FILTERS, label=_("Sound"))
    since = forms.DateField(
        required=False,
        label=pgettext_lazy("date range", "From"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        required=False,
        label=pgettext_lazy("date range", "To"),
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
            raise forms.ValidationError(
                DATE_ERROR,
                code="range",
                params={"first": DATE_MIN.year, "last": DATE_MAX.year},
            )
        return day

    def clean_since(self) -> dt.date | None:
        return self._clean_day("since")

    def clean_until(self) -> dt.date | None:
        return self._clean_day("until")

    def clean(self) -> dict[str, Any]:
        super().clean()
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
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
