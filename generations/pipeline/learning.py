"""What our history says about how long the provider takes."""

from __future__ import annotations

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
    seconds = []
    for created, completed, cost_ms in rows:
        if created is not None and completed is not None:
            value = (completed - created).total_seconds()
        else:
            value = (cost_ms or 0) / 1000
        if value > 0:
            seconds.append(value)
    return seconds
