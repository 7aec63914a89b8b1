"""The team's gallery (filters, search, favourites, bulk actions) and video pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.lookups import LessThan
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from generations import forms, media_store, search, services, zips
from generations.models import (
    Collection,
    Favourite,
    GenerationTask,
)
from generations.models.favourites import set_favourites
from generations.views.cards import remix_url
from generations.views.collections import chosen_collection
from generations.views.common import (
    AuthedHttpRequest,
    own_task_or_404,
    visible_video_task_or_404,
)
from generations.views.tiles import (
    Page,
    Tile,
    UrlPatterns,
    star_for,
    star_html,
    tiles_html,
)

TEMPLATE = "generations/gallery.html"
PAGE_SIZE = 24
# One request may change this many videos at once (a few pages of selection).
BULK_MAX = 200
# A zip is built while it streams; keep one download to a size a browser finishes.
ZIP_MAX = 50
COLLECTIONS_SHOWN = 100


class BadSelection(Exception):
    """The member's selection cannot be acted on; the message says why."""


# ---------- Queries ----------


def gallery_queryset(user: User, filters: dict[str, Any]) -> QuerySet[GenerationTask]:
    """Finished, visible videos matching the filters. Callers page and order by
    the alias ``newest`` (descending): the id, or what a search streams by.

    "Mine" drops the OR with public videos, so the owner index applies; the
    favourites filter drives from the member's (few) stars via ``id IN``.
    """
    tasks = GenerationTask.objects.in_gallery_of(
        user, only_own=filters.get("owner") == "mine"
    )
    for name in ("mode", "resolution", "aspect_ratio", "duration"):
        if name in filters:
            tasks = tasks.filter(**{name: filters[name]})
    if "sound" in filters:
        tasks = tasks.filter(sound=filters["sound"] == "on")
    if "since" in filters:
        tasks = tasks.filter(created_at__gte=_start_of(filters["since"]))
    if "until" in filters and filters["until"] < forms.DATE_MAX:
        tasks = tasks.filter(
            created_at__lt=_start_of(filters["until"] + dt.timedelta(days=1))
        )
    if filters.get("favourites"):
        starred = Favourite.objects.filter(user_id=user.pk).values("task_id")
        tasks = tasks.filter(pk__in=starred)
    if "q" in filters:
        # Word starts through the engine's full-text index (generations/search.py).
        tasks = search.matching(tasks, filters["q"])
    return tasks.alias(newest=search.newest(tasks))


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def with_favourite_flag(
    tasks: QuerySet[GenerationTask], user: User
) -> QuerySet[GenerationTask]:
    """Each row says whether this member starred it: a subquery, not a query per row."""
    mine = Favourite.objects.filter(user_id=user.pk, task_id=OuterRef("pk"))
    return tasks.annotate(is_favourite=Exists(mine))


def _visible_ids(user: User, ids: list[int]) -> list[int]:
    """Of the selected tasks, those whose video this member may see in the gallery."""
    visible = gallery_queryset(user, {}).filter(pk__in=ids)
    return list(visible.order_by("-id").values_list("pk", flat=True))


# ---------- Gallery page ----------


@login_required
@require_GET
def gallery(request: AuthedHttpRequest) -> HttpResponse:
    """Newest first, paged by id (keyset), so page 4,000 costs what page 1 does."""
    before = request.GET.get("before", "")
    if before and not forms.is_id(before):
        return HttpResponseBadRequest("before must be a task id")
    form = forms.GalleryFilterForm(request.GET)
    filters = form.filters()
    tasks = gallery_queryset(request.user, filters)
    if before:
        tasks = tasks.filter(LessThan(F("newest"), int(before)))
    rows = list(
        with_favourite_flag(tasks, request.user)
        .select_related("video", "owner")
        .order_by(F("newest").desc())[: PAGE_SIZE + 1]
    )
    page = rows[:PAGE_SIZE]
    query = form.query_string()
    urls = UrlPatterns.build()
    tiles = [_tile(request.user, task, urls) for task in page]
    # Where each tile's favourite form comes back to: read once, not per tile.
    next_url = request.get_full_path()
    context: dict[str, Any] = {
        "form": form,
        "tiles": tiles,
        "tiles_html": tiles_html(tiles, Page.of(request, next_url)),
        "next_before": page[-1].pk if len(rows) > PAGE_SIZE else None,
        "is_first_page": not before,
        "filtered": bool(filters),
        "filter_query": query,
        "page_url": _gallery_url(query),
        "zip_max": ZIP_MAX,
        "bulk_max": BULK_MAX,
        "next_url": next_url,
    }
    template = TEMPLATE
    if request.htmx and not request.htmx.history_restore_request:
        template += "#page" if before else "#results"
    else:
        context["collections"] = list(
            Collection.objects.filter(owner_id=request.user.pk)
            .order_by("-created_at")
            .only("pk", "title")[:COLLECTIONS_SHOWN]
        )
    response = render(request, template, context)
    # The same URL answers with a fragment or a page: caches must keep both.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _tile(user: User, task: GenerationTask, urls: UrlPatterns) -> Tile:
    return Tile(
        task=task,
        is_favourite=bool(getattr(task, "is_favourite", False)),
        is_own=task.owner_id == user.pk,
        urls=urls,
    )


def _gallery_url(query: str) -> str:
    return reverse("gallery") + (f"?{query}" if query else "")


# ---------- Favourites ----------


@login_required
@require_POST
def video_favourite(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Star or unstar one video (``value`` 1 or 0: a double click cannot flip twice)."""
    task = visible_video_task_or_404(request, pk)
    value = request.POST.get("value", "")
    if value not in {"0", "1"}:
        return HttpResponseBadRequest("value must be 1 or 0")
    set_favourites(user_id=request.user.pk, task_ids=[task.pk], value=value == "1")
    if request.htmx:
        star = star_for(task.pk, value == "1")
        return HttpResponse(star_html(star, Page.of(request, _next_url(request))))
    return redirect(_next_url(request))


@login_required
@require_POST
def bulk_favourite(request: AuthedHttpRequest) -> HttpResponse:
    value = request.POST.get("value", "")
    if value not in {"0", "1"}:
        return HttpResponseBadRequest("value must be 1 or 0")
    try:
        ids = _selection(request, BULK_MAX)
    except BadSelection as exc:
        return _bulk_refused(request, str(exc))
    visible = _visible_ids(request.user, ids)
    set_favourites(user_id=request.user.pk, task_ids=visible, value=value == "1")
    count = len(visible)
    if value == "1":
        text = ngettext("Starred %(count)s video.", "Starred %(count)s videos.", count)
    else:
        text = ngettext(
            "Unstarred %(count)s video.", "Unstarred %(count)s videos.", count
        )
    messages.success(request, text % {"count": count})
    return _bulk_done(request, starred=visible, fav=value == "1")


# ---------- Privacy ----------


@login_required
@require_POST
def video_privacy(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The owner makes a video private (teammates no longer see it anywhere,
    links and collections included) or the team's again."""
    task = own_task_or_404(request, pk)
    private = request.POST.get("private") == "1"
    services.set_private(owner=request.user, task_ids=[task.pk], private=private)
    if private:
        messages.success(
            request,
            _(
                "Private: teammates no longer see this video; "
                "your own links keep working."
            ),
        )
    else:
        messages.success(request, _("Your team sees this video again."))
    return redirect("video_detail", task.pk)


# ---------- Hide ----------


@login_required
@require_POST
def bulk_hide(request: AuthedHttpRequest) -> HttpResponse:
    """Hide the member's own videos; teammates' videos are theirs to hide."""
    try:
        ids = _selection(request, BULK_MAX)
    except BadSelection as exc:
        return _bulk_refused(request, str(exc))
    own = services.set_hidden(owner=request.user, task_ids=ids, hidden=True)
    if not own:
        return _bulk_refused(
            request,
            _("None of these videos are yours: only their owners can hide them."),
        )
    text = ngettext(
        "Hid %(count)s video from the gallery and your task list.",
        "Hid %(count)s videos from the gallery and your task list.",
        len(own),
    ) % {"count": len(own)}
    if len(own) < len(ids):
        stayed = len(ids) - len(own)
        text += " " + ngettext(
            "%(count)s video by teammates stayed.",
            "%(count)s videos by teammates stayed.",
            stayed,
        ) % {"count": stayed}
    messages.success(request, text)
    return _bulk_done(request, removed=own)


# ---------- Download ----------


@login_required
@require_POST
def bulk_download(request: AuthedHttpRequest) -> HttpResponseBase:
    """The selected videos as one zip, written while it streams (no temp file)."""
    try:
        ids = _selection(request, ZIP_MAX, what="download")
    except BadSelection as exc:
        return _bulk_refused(request, str(exc))
    tasks = [
        task
        for task in gallery_queryset(request.user, {})
        .filter(pk__in=ids)
        .select_related("video")
        .order_by("-id")
        if media_store.exists(task.video.file.name or "")
    ]
    if not tasks:
        return _bulk_refused(
            request, _("None of the selected videos can be downloaded.")
        )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        zips.zip_chunks(tasks), content_type="application/zip"
    )
    filename = f"seedance-{len(tasks)}-videos-{stamp}.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# ---------- Collections ----------


@login_required
@require_POST
def bulk_collect(request: AuthedHttpRequest) -> HttpResponse:
    """Add the member's own selected videos to a collection of theirs, or a new one."""
    try:
        ids = _selection(request, BULK_MAX)
    except BadSelection as exc:
        return _bulk_refused(request, str(exc))
    collection = chosen_collection(request)
    try:
        collection, added = services.collect_videos(
            owner=request.user,
            task_ids=ids,
            collection=collection,
            title=request.POST.get("new_title", ""),
        )
    except services.Refused as exc:
        return _bulk_refused(request, str(exc))
    text = ngettext(
        "Added %(count)s video to “%(title)s”.",
        "Added %(count)s videos to “%(title)s”.",
        added,
    ) % {"count": added, "title": collection.title}
    if added == 0:
        text = _("Those videos are already in “%(title)s”.") % {
            "title": collection.title
        }
    messages.success(request, text)
    return _bulk_done(request)


# ---------- Shared bulk plumbing ----------


def _selection(
    request: AuthedHttpRequest, limit: int, what: str = "change"
) -> list[int]:
    ids = forms.parse_ids(request.POST.getlist("ids"))
    if ids is None:
        raise BadSelection(_("The selection was not understood; reload the page."))
    if not ids:
        raise BadSelection(_("Select at least one video first."))
    if len(ids) > limit:
        if what == "download":
            text = ngettext(
                "You can download at most %(limit)s videos at once;"
                " %(count)s is selected.",
                "You can download at most %(limit)s videos at once;"
                " %(count)s are selected.",
                len(ids),
            )
        else:
            text = ngettext(
                "You can change at most %(limit)s videos at once;"
                " %(count)s is selected.",
                "You can change at most %(limit)s videos at once;"
                " %(count)s are selected.",
                len(ids),
            )
        raise BadSelection(text % {"limit": limit, "count": len(ids)})
    return ids


def _bulk_refused(request: AuthedHttpRequest, text: str) -> HttpResponse:
    messages.error(request, text)
    if request.htmx:
        return render(request, f"{TEMPLATE}#bulk_done", {}, status=422)
    return redirect(_next_url(request))


def _bulk_done(
    request: AuthedHttpRequest,
    *,
    starred: list[int] | None = None,
    fav: bool = False,
    removed: list[int] | None = None,
) -> HttpResponse:
    if not request.htmx:
        return redirect(_next_url(request))
    context = {
        "stars": [star_for(pk, fav) for pk in starred or []],
        "removed": removed or [],
        "next_url": _next_url(request),
    }
    return render(request, f"{TEMPLATE}#bulk_done", context)


def _next_url(request: AuthedHttpRequest) -> str:
    """Where a form without JavaScript returns to: the page it was posted from."""
    url = request.POST.get("next", "") or request.htmx.current_url_abs_path or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("gallery")


# ---------- Detail ----------


@login_required
@require_GET
def video_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    task = visible_video_task_or_404(request, pk)
    frames = list(task.images.all())
    context = {
        "task": task,
        "video": task.video,
        "frames": frames,
        "remix_url": remix_url(task),
        "is_owner": task.owner_id == request.user.pk,
        "star": star_for(
            task.pk,
            Favourite.objects.filter(user_id=request.user.pk, task_id=task.pk).exists(),
        ),
        "provider_seconds": (
            round(task.provider_cost_ms / 1000, 1) if task.provider_cost_ms else None
        ),
    }
    return render(request, "generations/detail.html", context)
