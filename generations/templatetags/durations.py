"""``{{ task.duration|seconds }}``: a duration in the active language."""

from __future__ import annotations

from django import template

from generations.durations import format_seconds

register = template.Library()


@register.filter
def seconds(value: float | str | None) -> str:
    try:
        return format_seconds(float(value or 0))
    except (TypeError, ValueError):
        return ""
