"""What our history says about how long the provider takes."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from generations.models import GenerationTask, State


def observed_generation_seconds(
    *,
    duration: int | None = None,
    resolution: str | None = None,
    sound: bool | None = None,
    routing: str | None = None,
    limit: int = 500,
) -> list[float]:
    """Recent provider generation times (seconds) of finished tasks like these.

    Measured on the provider's own clock (completeTime - createTime), so clock skew
    between us and the provider does not distort it; costTime where that is missing.
    """
    query = GenerationTask.objects.filter(
        state__in=[State.DOWNLOADING, State.SUCCEEDED]
    ).filter(
        Q(provider_created_at__isnull=False, provider_completed_at__isnull=False)
        | Q(provider_cost_ms__isnull=False)
    )
    if duration is not None:
        query = query.filter(duration=duration)
    if resolution is not None:
        query = query.filter(resolution=resolution)
    if sound is not None:
        query = query.filter(sound=sound)
    if routing is not None:
        query = query.filter(routing=routing)
    rows = query.order_by("-id").values_list(
        "provider_created_at", "provider_completed_at", "provider_cost_ms"
    )[:limit]
    seconds = [generation_seconds(*row) for row in rows]
    return [value for value in seconds if value is not None and value > 0]


def generation_seconds(
    created: dt.datetime | None, completed: dt.datetime | None, cost_ms: int | None
) -> float | None:
    """How long the provider took: its own clock (completeTime - createTime), so
    clock skew between us does not distort it; costTime where that is missing."""
    if created is not None and completed is not None:
        return (completed - created).total_seconds()
    if cost_ms is not None:
        return cost_ms / 1000
    return None
