"""What every page's views share: the typed request and permission helpers."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django_htmx.middleware import HtmxDetails

from generations.models import GenerationTask, State


class AuthedHttpRequest(HttpRequest):
    """A request behind ``login_required`` that went through HtmxMiddleware."""

    htmx: HtmxDetails
    user: User


def visible_to_q(user: User) -> Q:
    """Tasks a member may look at: their own, or the team's that are not private."""
    return Q(owner_id=user.pk) | Q(is_private=False, hidden=False)


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
        GenerationTask.objects.filter(visible_to_q(request.user), pk=pk)
        .filter(state=State.SUCCEEDED, video__isnull=False)
        .select_related("video", "owner")
        .first()
    )
    if task is None:
        raise Http404("No such video.")
    return task


def gallery_tasks(user: User) -> QuerySet[GenerationTask]:
    return GenerationTask.objects.filter(
        Q(owner_id=user.pk) | Q(is_private=False),
        state=State.SUCCEEDED,
        hidden=False,
        video__isnull=False,
    )
