"""Durations in the member's language: "1 min 05 s" reads "1 мин 05 с" in Russian.

The one place that writes a number of seconds for people; views, forms and
templates (the ``seconds`` filter in ``durations`` tags) all go through it.
"""

from __future__ import annotations

from django.utils.translation import gettext


def format_seconds(seconds: float) -> str:
    """A short duration in the active language: "45 s", "1 min 05 s", "2 h 03 min"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return gettext("%(seconds)s s") % {"seconds": seconds}
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return gettext("%(minutes)s min %(seconds)s s") % {
            "minutes": minutes,
            "seconds": f"{rest:02d}",
        }
    hours, minutes = divmod(minutes, 60)
    return gettext("%(hours)s h %(minutes)s min") % {
        "hours": hours,
        "minutes": f"{minutes:02d}",
    }
