"""The create form's last parameters, per member: the next visit starts there."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class RememberedParams(models.Model):
    """In the presets' terms (never the prompt or frames); one row per member."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="remembered_params"
    )
    params = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"last parameters of {self.owner_id}"

    @classmethod
    def remember(cls, *, owner_id: int, params: dict[str, Any]) -> None:
        cls.objects.update_or_create(
            owner_id=owner_id, defaults={"params": params, "updated_at": timezone.now()}
        )

    @classmethod
    def of(cls, owner_id: int) -> dict[str, Any]:
        row = cls.objects.filter(owner_id=owner_id).values_list("params", flat=True)
        params = row.first()
        return params if isinstance(params, dict) else {}
