"""Presets: a member's named sets of create-form parameters."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

MAX_PRESETS_PER_MEMBER = 50


class Preset(models.Model):
    """Parameters only (never the prompt or frames): applying one keeps the draft."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="presets"
    )
    name = models.CharField(max_length=60)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="preset_name_once")
        ]

    def __str__(self) -> str:
        return self.name

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params}
