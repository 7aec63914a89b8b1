"""Collections of videos and public share links (model only for now)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Collection(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="collections"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, models.CASCADE, related_name="items")
    video = models.ForeignKey("generations.VideoAsset", models.CASCADE)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "video"], name="collection_video_once"
            )
        ]


class ShareLink(models.Model):
    """A public link to one video or one collection. Only the token's hash is kept."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="share_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    video = models.ForeignKey(
        "generations.VideoAsset", models.CASCADE, null=True, blank=True
    )
    collection = models.ForeignKey(Collection, models.CASCADE, null=True, blank=True)
    show_prompt = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(video__isnull=False, collection__isnull=True)
                | models.Q(video__isnull=True, collection__isnull=False),
                name="share_link_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"Share link {self.pk}"
