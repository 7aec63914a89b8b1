"""The gallery's tiles and favourite stars: what they hold, written in Python.

A gallery page is 24 tiles, each with its favourite form. Through the template
engine a tile was about 45 nodes (its variables, eight translations, the form's
CSRF field): half of the search page's time in a profile. Written here, every
value escaped as the templates escaped it (translations too), a page's tiles
cost about a millisecond. The words tiles share are translated once a language
(``TileWords``).

The markup is the one ``gallery.html`` had (``tests/test_gallery_tiles.py``);
templates write a star with ``{% star_form star %}`` (``templatetags/tiles.py``),
so the detail page, the star's own answer and the bulk answers write the same
form as the tiles.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from generations.models import GenerationTask, Kind
from generations.templatetags.clip import clip
from generations.views.common import escaped as _e
from generations.views.common import per_language, url_pattern

JUST_NOW = dt.timedelta(minutes=1)
STAR_PATH = "m12 3.5 2.6 5.3 5.9.9-4.3 4.1 1 5.8-5.2-2.7-5.2 2.7 1-5.8-4.3-4.1 5.9-.9z"


@dataclass(frozen=True)
class UrlPatterns:
    detail: str
    video: str
    poster: str
    favourite: str

    @classmethod
    def build(cls) -> UrlPatterns:
        names = ("video_detail", "video_file", "video_poster", "video_favourite")
        return cls(*(url_pattern(name) for name in names))


@dataclass(frozen=True)
class Star:
    """One video's favourite toggle, for one member."""

    pk: int
    on: bool
    url: str


def star_for(pk: int, on: bool) -> Star:
    return Star(pk=pk, on=on, url=reverse("video_favourite", args=[pk]))


@dataclass(frozen=True)
class Tile:
    task: GenerationTask
    is_favourite: bool
    is_own: bool
    urls: UrlPatterns

    @property
    def age(self) -> str:
        """How long ago it finished, in one unit ("3 hours ago"); within the first
        minute "just now" (not "0 minutes ago")."""
        finished = self.task.finished_at or self.task.created_at
        if timezone.now() - finished < JUST_NOW:
            return _("just now")
        return _("%(age)s ago") % {"age": timesince(finished, depth=1)}

    @property
    def detail_url(self) -> str:
        return self.urls.detail.format(pk=self.task.pk)

    @property
    def video_url(self) -> str:
        return self.urls.video.format(pk=self.task.pk)

    @property
    def poster_url(self) -> str:
        return self.urls.poster.format(pk=self.task.pk)

    @property
    def star(self) -> Star:
        url = self.urls.favourite.format(pk=self.task.pk)
        return Star(pk=self.task.pk, on=self.is_favourite, url=url)


@dataclass(frozen=True)
class TileWords:
    """The words every tile of a page shares, in the page's language."""

    film: str
    with_sound: str
    you: str
    private: str
    select: str
    star_add: str
    star_remove: str

    @classmethod
    def now(cls) -> TileWords:
        """In the active language."""
        return _tilewords()


@per_language
def _tilewords() -> TileWords:
    return TileWords(
        film=_("Film"),
        with_sound=_("With sound"),
        you=_("You"),
        private=_("Private"),
        select=_("Select"),
        star_add=_("Add to your favourites"),
        star_remove=_("Remove from your favourites"),
    )


@dataclass(frozen=True)
class Page:
    """What every form on the page shares: its CSRF field and where it returns."""

    csrf_token: str
    next_url: str

    @classmethod
    def of(cls, request: Any, next_url: str = "") -> Page:
        return cls(get_token(request), next_url or request.get_full_path())


def tiles_html(tiles: list[Tile], page: Page) -> SafeString:
    words = TileWords.now()
    return mark_safe("".join(tile_html(tile, page, words) for tile in tiles))


def tile_html(tile: Tile, page: Page, words: TileWords) -> str:
    """One tile: poster, badges, prompt, who and when; its tick box and star."""
    task = tile.task
    video = task.video
    pk = task.pk
    finished = task.finished_at
    when = dateformat.format(localtime(finished), "c") if finished else ""
    who = words.you if tile.is_own else task.owner.get_username()
    private = f" · {_e(words.private)}" if task.is_private else ""
    select_label = _("Select video %(pk)s: %(prompt)s") % {
        "pk": pk,
        "prompt": clip(task.prompt, 60),
    }
    return (
        f'<li class="tile" id="tile-{pk}">'
        f'<a class="tile-link" href="{_e(tile.detail_url)}"'
        f' data-preview="{_e(tile.video_url)}">'
        '<span class="tile-frame">'
        f'<img src="{_e(tile.poster_url)}" alt="" loading="lazy" decoding="async"'
        f' width="{_e(video.width)}" height="{_e(video.height)}">'
        f'<span class="tile-badges" aria-hidden="true">{_badges(task, words)}</span>'
        '<span class="play-badge" aria-hidden="true"><svg viewBox="0 0 24 24">'
        '<path d="M8 5v14l11-7z"/></svg></span>'
        "</span>"
        '<span class="tile-caption">'
        f'<span class="tile-prompt">{_e(clip(task.prompt, 90))}</span>'
        f'<span class="tile-meta muted">{_e(who)} · <time datetime="{_e(when)}">'
        f"{_e(tile.age)}</time>{private}</span>"
        "</span>"
        "</a>"
        f'<label class="tile-select" for="pick-{pk}" title="{_e(words.select)}">'
        f'<input type="checkbox" class="pick" id="pick-{pk}" name="ids" value="{pk}"'
        f' form="bulk-form" data-own="{1 if tile.is_own else 0}">'
        '<span class="pick-box" aria-hidden="true"><svg viewBox="0 0 24 24"'
        ' class="icon"><path d="m5 12.5 4.5 4.5L19 7.5"/></svg></span>'
        f'<span class="visually-hidden">{_e(select_label)}</span>'
        "</label>"
        f"{star_html(tile.star, page, words=words)}"
        "</li>"
    )


def _badges(task: GenerationTask, words: TileWords) -> str:
    film = f'<span class="badge-film">{_e(words.film)}</span>'
    seconds = _("%(seconds)s s") % {"seconds": task.duration}
    sound = f'<span title="{_e(words.with_sound)}">♪</span>'
    return (
        (film if task.kind == Kind.FILM else "")
        + f"<span>{_e(seconds)}</span>"
        + f"<span>{_e(task.resolution)}</span>"
        + f"<span>{_e(task.aspect_ratio)}</span>"
        + (sound if task.sound else "")
    )


def star_html(
    star: Star, page: Page, *, oob: bool = False, words: TileWords | None = None
) -> SafeString:
    """The favourite form of one video: its star button, pressed or not."""
    words = words or TileWords.now()
    url = _e(star.url)
    oob_attribute = ' hx-swap-oob="true"' if oob else ""
    value, pressed = ("0", "true") if star.on else ("1", "false")
    title = words.star_remove if star.on else words.star_add
    label = _("Favourite video %(pk)s") % {"pk": star.pk}
    return mark_safe(
        f'<form id="star-{star.pk}" class="star-form" method="post" action="{url}"'
        f' hx-post="{url}" hx-swap="outerHTML"{oob_attribute}>'
        '<input type="hidden" name="csrfmiddlewaretoken"'
        f' value="{_e(page.csrf_token)}">'
        f'<input type="hidden" name="value" value="{value}">'
        f'<input type="hidden" name="next" value="{_e(page.next_url)}">'
        f'<button type="submit" class="star-btn" aria-pressed="{pressed}"'
        f' aria-label="{_e(label)}" title="{_e(title)}">'
        '<svg aria-hidden="true" viewBox="0 0 24 24" class="icon star-icon">'
        f'<path d="{STAR_PATH}"/></svg>'
        "</button>"
        "</form>"
    )
