"""Sentences written now for a member to read later, in the reader's language.

Background work (the dispatcher's storyboard driver, a web request pausing a
board) writes a member-facing sentence into a row: why a board paused, what a
shot waits for. Whoever reads it later may read another language than the one
that was active when it was written. So the sentence is rendered once in every
interface language and stored as a small JSON object (``every_language``);
``for_reader`` gives it in the active language. Plain text (a row written before
this) reads as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.utils import translation


def every_language(render: Callable[[], str]) -> str:
    """``render()`` in each of settings.LANGUAGES, as stored text."""
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = str(render())
    return json.dumps(texts, ensure_ascii=False)


def for_reader(stored: str) -> str:
    """Stored text in the active language (the default one when it lacks it)."""
    if not stored.startswith("{"):
        return stored
    try:
        texts = json.loads(stored)
    except ValueError:
        return stored
    if not isinstance(texts, dict) or not texts:
        return stored
    active = translation.get_language() or settings.LANGUAGE_CODE
    for code in (active, active.split("-")[0], settings.LANGUAGE_CODE):
        if isinstance(texts.get(code), str):
            return str(texts[code])
    return str(next(iter(texts.values())))
