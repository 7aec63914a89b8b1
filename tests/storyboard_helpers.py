"""Builders for storyboard tests: boards whose takes hold real MP4s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generations import credits
from generations.apixo.simulator.video import VideoSpec, render_mp4
from generations.models import GenerationTask, Shot, State, Storyboard, VideoAsset
from generations.models.tasks import transition
from generations.pipeline import media
from generations.storyboards import services
from tests.factories import put_media

CLIP_CACHE = Path("/tmp") / f"seedance-test-clips-{Path.cwd().name}"


def board_with_takes(
    owner: Any,
    takes: list[tuple[int, bool]],
    *,
    resolution: str = "480p",
    take_resolution: str | None = None,
    cut: str = "hard",
    crossfade: float = 0.5,
) -> Storyboard:
    """A board with one finished take per (seconds, sound), the takes chosen."""
    board = services.create_board(
        owner=owner,
        title="Test film",
        aspect_ratio="16:9",
        resolution=resolution,
        sound=True,
        routing="auto",
    )
    for index, (seconds, sound) in enumerate(takes):
        shot = services.add_shot(
            owner=owner, board=board, prompt=f"shot {index}", duration=seconds
        )
        if index:
            services.update_shot(
                owner=owner, shot=shot, cut=cut, crossfade_seconds=crossfade
            )
        take = finished_take(owner, shot, seconds, sound, take_resolution or resolution)
        Shot.objects.filter(pk=shot.pk).update(chosen_take=take)
    return board


def finished_take(
    owner: Any, shot: Shot, seconds: int, sound: bool, resolution: str
) -> GenerationTask:
    """A take that went through the ledger (hold, capture) with a real video."""
    params = services.shot_params(shot)
    params.sound = sound
    params.resolution = resolution
    [take] = services.services.create_generations(owner=owner, variants=[params])
    GenerationTask.objects.filter(pk=take.pk).update(shot=shot)
    spec = VideoSpec.for_task(
        resolution=resolution,
        aspect_ratio="16:9",
        duration=seconds,
        sound=sound,
        prompt=shot.prompt,
    )
    cached = CLIP_CACHE / f"{spec.cache_key()}.mp4"
    if not cached.exists():
        render_mp4(spec, cached)
    relative = f"videos/take-{take.pk}.mp4"
    put_media(relative, cached.read_bytes())
    info = media.probe(cached)
    VideoAsset.objects.create(
        task=take,
        file=relative,
        width=info.width,
        height=info.height,
        duration_seconds=info.duration_seconds,
        has_audio=info.has_audio,
        size_bytes=cached.stat().st_size,
        sha256="0" * 64,
    )
    assert transition(take.pk, State.QUEUED, State.SUCCEEDED, "test: finished")
    credits.capture_for_task(take.pk)
    take.refresh_from_db()
    return take
