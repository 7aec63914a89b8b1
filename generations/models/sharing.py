"""Collections of videos and public share links.

A share link is named by a random token that is shown to its creator once; only
the token's sha256 is stored, so a database leak does not open any link.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Shown on the public page and in link previews: a few paragraphs at most.
DESCRIPTION_MAX_LENGTH = 2000


class Collection(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="collections"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH)
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


class LinkStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


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
    show_owner = models.BooleanField(
        default=False, help_text=_("Show the sharer's name on the public page.")
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["owner", "-created_at"], name="sharelink_owner_created"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(video__isnull=False, collection__isnull=True)
                | models.Q(video__isnull=True, collection__isnull=False),
                name="share_link_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"Share link {self.pk}"

    def status_at(self, now: dt.datetime) -> LinkStatus:
        if self.revoked_at is not None:
            return LinkStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return LinkStatus.EXPIRED
        return LinkStatus.ACTIVE

    @property
    def status(self) -> LinkStatus:
        return self.status_at(timezone.now())

    @property
    def is_active(self) -> bool:
        return self.status == LinkStatus.ACTIVE
