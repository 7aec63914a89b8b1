"""``{{ task.prompt|clip:150 }}``: ``truncatechars`` without its walk of short texts.

Django's ``truncatechars`` walks every character of the text (to skip combining
marks) even when the text is shorter than the limit, as a prompt on a card
nearly always is; a list of 30 cards paid for 30 walks. A text of at most
``length`` characters cannot have more than ``length`` to keep, so it comes
back as it is (NFC-normalised, as Django's); a longer one is truncated by
Django's own ``Truncator``.
"""

from __future__ import annotations

import unicodedata

from django import template
from django.template.defaultfilters import stringfilter
from django.utils.text import Truncator

register = template.Library()


@register.filter(is_safe=True)
@stringfilter
def clip(value: str, length: int | str) -> str:
    try:
        limit = int(length)
    except ValueError:
        return value  # as truncatechars does with a bad length
    text = unicodedata.normalize("NFC", value)  # as Truncator gives it back
    if len(text) <= limit:
        return text
    return Truncator(text).chars(limit)
