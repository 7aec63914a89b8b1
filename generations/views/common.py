"""What every page's views share: the typed request, permission helpers, and the
links and escaping of list rows written in Python (cards, tiles)."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.translation import get_language, override
from django_htmx.middleware import HtmxDetails

from generations.models import GenerationTask


class AuthedHttpRequest(HttpRequest):
    """A request behind ``login_required`` that went through HtmxMiddleware."""

    htmx: HtmxDetails
    user: User


# A list's per-row links (cards, tiles): reversing each link of each row costs
# more than the page's SQL. Reverse each once per request with a placeholder
# and format the rest.
PK_PLACEHOLDER = 918273645


def url_pattern(name: str) -> str:
    """``reverse(name, args=[pk])`` as a format string with ``{pk}``."""
    return reverse(name, args=[PK_PLACEHOLDER]).replace(str(PK_PLACEHOLDER), "{pk}")


def escaped(value: Any) -> str:
    """``value`` as the templates write it: escaped as ``django.utils.html.escape``
    does, a value marked safe as it is. Without ``escape``'s lazy-string wrapper,
    which cost more than the escaping itself on a page of rows."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


def per_language[Words](make: Callable[[], Words]) -> Callable[[], Words]:
    """``make()`` in the active language, made once a language a process serves:
    the words every row of a list shares (a card's buttons, a tile's badges)."""

    @functools.lru_cache(maxsize=16)
    def made(language: str | None) -> Words:
        with override(language):
            return make()

    @functools.wraps(make)
    def now() -> Words:
        return made(get_language())

    return now


def own_task_or_404(request: AuthedHttpRequest, pk: int) -> GenerationTask:
    task = (
        GenerationTask.objects.filter(pk=pk, owner_id=request.user.pk)
        .select_related("video")
        .first()
    )
    if task is None:
        raise Http404("No such task.")
    return task


def visible_video_task_or_404(request: AuthedHttpRequest, pk: int) -> GenerationTask:
    """A finished task with its video, if this member may watch it."""
    task = (
        GenerationTask.objects.visible_to(request.user)
        .finished_videos()
        .filter(pk=pk)
        .select_related("video", "owner")
        .first()
    )
    if task is None:
        raise Http404("No such video.")
    return task
