"""The team's gallery of finished videos and each video's detail page."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.timesince import timesince
from django.views.decorators.http import require_GET

from generations.models import GenerationTask
from generations.views.cards import remix_url
from generations.views.common import (
    AuthedHttpRequest,
    gallery_tasks,
    visible_video_task_or_404,
)

PAGE_SIZE = 24


@dataclass(frozen=True)
class Tile:
    task: GenerationTask

    @property
    def age(self) -> str:
        """How long ago it finished, in one unit ("3 hours")."""
        return timesince(self.task.finished_at or self.task.created_at, depth=1)


@login_required
@require_GET
def gallery(request: AuthedHttpRequest) -> HttpResponse:
    """Newest first, paged by id (keyset), so page 4,000 costs what page 1 does."""
    before = request.GET.get("before", "")
    if before and not before.isdigit():
        return HttpResponseBadRequest("before must be a task id")
    tasks = gallery_tasks(request.user)
    if before:
        tasks = tasks.filter(pk__lt=int(before))
    rows = list(tasks.select_related("video", "owner").order_by("-id")[: PAGE_SIZE + 1])
    page = rows[:PAGE_SIZE]
    context = {
        "tiles": [Tile(task) for task in page],
        "next_before": page[-1].pk if len(rows) > PAGE_SIZE else None,
        "is_first_page": not before,
    }
    template = "generations/gallery.html"
    if request.htmx and before:
        template += "#page"
    return render(request, template, context)


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
        "provider_seconds": (
            round(task.provider_cost_ms / 1000, 1) if task.provider_cost_ms else None
        ),
    }
    return render(request, "generations/detail.html", context)
