"""Favourites: a member's stars on finished videos (private to that member)."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.utils import timezone


class Favourite(models.Model):
    """One member's star on one task's video. Keyed by task: the gallery pages by it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="favourites"
    )
    task = models.ForeignKey(
        "generations.GenerationTask", models.CASCADE, related_name="favourites"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "task"], name="favourite_once")
        ]

    def __str__(self) -> str:
        return f"Favourite of task {self.task_id}"


def set_favourites(*, user_id: int, task_ids: Iterable[int], value: bool) -> None:
    """Star (or unstar) tasks the caller has already checked the member may see.

    Idempotent: starring twice, or a double click racing itself, keeps one row.
    """
    ids = list(task_ids)
    if not value:
        Favourite.objects.filter(user_id=user_id, task_id__in=ids).delete()
        return
    Favourite.objects.bulk_create(
        [Favourite(user_id=user_id, task_id=pk) for pk in ids],
        ignore_conflicts=True,
    )
