"""The film job: a worker stitches a board's chosen takes into a new version.

The job takes a ``Film`` id (handed over by the driver). A worker claims the
film (``claim``): that start is the attempt, and its number is the worker's
token. A killed worker leaves the row ``stitching`` with a lease that runs out;
the driver hands it to a worker again and the film is made from the start. Each
attempt stitches and stores under its own names, and every write of a worker
names its attempt: a worker that was only frozen and thaws after its film was
taken over can neither move the film's row nor touch the new attempt's files.
The final names only ever hold a whole film.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from generations import media_store
from generations.models import (
    Film,
    GenerationTask,
    Kind,
    Mode,
    State,
    TaskTransition,
    VideoAsset,
)
from generations.models.storyboards import (
    FILM_FPS,
    FILM_TAKE_GONE,
    MAX_FILM_ATTEMPTS,
)
from generations.pipeline import media
from generations.storyboards.stitch import Clip, part_name, stitch

log = logging.getLogger(__name__)


def film_path(film: Film, attempt: int) -> Path:
    """An attempt's media name (in storage: MEDIA_ROOT or the bucket)."""
    return Path("films") / f"board-{film.board_id}" / f"film-{film.pk}.{attempt}.mp4"


def work_path(film: Film, attempt: int) -> Path:
    """Where a worker stitches an attempt (local scratch; the stitcher keeps the
    half-made file under a ``.part`` name beside it)."""
    return media_store.scratch_dir() / film_path(film, attempt)


def claim(film_id: int, now: dt.datetime | None = None) -> int | None:
    """Start an attempt at the film: its number, or None when the film is not
    this worker's to make (finished, given up, or a living worker has it)."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = (
            Film.objects.filter(pk=film_id, attempts__lt=MAX_FILM_ATTEMPTS)
            .filter(
                Q(state=Film.State.QUEUED)
                | Q(Film.lease_lapsed(now), state=Film.State.STITCHING)
            )
            .update(
                state=Film.State.STITCHING,
                progress=0.0,
                error="",
                lease_until=Film.lease_end(now),
                attempts=F("attempts") + 1,
            )
        )
        if claimed != 1:
            return None
        return int(Film.objects.values_list("attempts", flat=True).get(pk=film_id))


def stitch_film(film_id: int) -> bool:
    """Make the film; True when this call finished it."""
    attempt = claim(film_id)
    if attempt is None:
        return False
    film = Film.objects.select_related("board").get(pk=film_id)
    _sweep_earlier_attempts(film, attempt)
    takes = {
        t.pk: t
        for t in GenerationTask.objects.filter(
            pk__in=[step["take"] for step in film.plan]
        ).select_related("video")
    }
    missing = [
        s["take"] for s in film.plan if not hasattr(takes.get(s["take"]), "video")
    ]
    if missing:
        _fail(film_id, attempt, FILM_TAKE_GONE)
        return False
    with contextlib.ExitStack() as copies:
        try:
            local = {
                pk: copies.enter_context(
                    media_store.local_copy(take.video.file.name or "")
                )
                for pk, take in takes.items()
            }
        except FileNotFoundError:
            _fail(film_id, attempt, FILM_TAKE_GONE)
            return False
        clips = [
            Clip(
                path=local[step["take"]],
                cut=str(step["cut"]),
                crossfade=float(step["crossfade"]),
            )
            for step in film.plan
        ]
        width, height = film.board.frame_size
        work = work_path(film, attempt)
        result = stitch(
            clips,
            work,
            width=width,
            height=height,
            fps=FILM_FPS,
            progress=lambda fraction: _progress(film_id, attempt, fraction),
        )
    poster_work = work.with_suffix(".jpg")
    try:
        media.write_poster(work, poster_work)
        info = media.probe(work)
        digest = media_store.file_sha256(work)
        size = work.stat().st_size
        relative = film_path(film, attempt)
        poster = relative.with_suffix(".jpg")
        media_store.store_video(
            work, str(relative), poster_work, str(poster), sha256=digest
        )
    finally:
        work.unlink(missing_ok=True)
        poster_work.unlink(missing_ok=True)
    stored = StoredFilm(relative, poster, info, size, digest)
    if _finish(film, attempt, stored, stream_copy=result.stream_copy):
        return True
    media_store.remove(str(relative), str(poster))  # the film was taken over
    return False


@dataclass(frozen=True)
class StoredFilm:
    relative: Path
    poster: Path
    info: media.VideoInfo
    size: int
    sha256: str


def _sweep_earlier_attempts(film: Film, attempt: int) -> None:
    """Remove what dead workers left in scratch (a thawed one finds its file gone
    and stops: the film is no longer its)."""
    folder = work_path(film, attempt).parent
    for earlier in range(1, attempt):
        target = work_path(film, earlier)
        for path in (target, target.with_suffix(".jpg"), folder / part_name(target)):
            path.unlink(missing_ok=True)


def _held(film_id: int, attempt: int) -> QuerySet[Film]:
    """The film's row while this attempt still holds it."""
    return Film.objects.filter(pk=film_id, state=Film.State.STITCHING, attempts=attempt)


def _progress(film_id: int, attempt: int, fraction: float) -> None:
    # Each report renews the lease: a living worker is never taken over.
    _held(film_id, attempt).update(
        progress=round(fraction, 3), lease_until=Film.lease_end(timezone.now())
    )


def _finish(film: Film, attempt: int, stored: StoredFilm, *, stream_copy: bool) -> bool:
    info = stored.info
    board = film.board
    now = timezone.now()
    with transaction.atomic():
        task = GenerationTask.objects.create(
            owner_id=board.owner_id,
            kind=Kind.FILM,
            is_private=board.is_private,
            state=State.SUCCEEDED,
            mode=Mode.TEXT,
            prompt=f"{board.title} (v{film.version})",
            resolution=board.resolution,
            aspect_ratio=board.aspect_ratio,
            duration=max(1, round(info.duration_seconds)),
            sound=info.has_audio,
            routing=board.routing,
            cost=0,
            finished_at=now,
            state_changed_at=now,
        )
        TaskTransition.objects.create(
            task=task, from_state="", to_state=State.SUCCEEDED, reason="Film stitched"
        )
        VideoAsset.objects.create(
            task=task,
            file=str(stored.relative),
            poster=str(stored.poster),
            **info.asset_fields(),
            size_bytes=stored.size,
            sha256=stored.sha256,
        )
        done = _held(film.pk, attempt).update(
            state=Film.State.SUCCEEDED,
            task=task,
            progress=1.0,
            stream_copy=stream_copy,
            finished_at=now,
            lease_until=None,
        )
        if done != 1:
            transaction.set_rollback(True)
            return False
        # The one hook point for film.ready: the event commits with the success.
        from generations.api.webhooks import record_film_event

        record_film_event(film.pk)
    log.info("film %s stitched (stream copy: %s)", film.pk, stream_copy)
    return True


def _fail(film_id: int, attempt: int, message: str) -> None:
    _held(film_id, attempt).update(
        state=Film.State.FAILED,
        error=message,
        finished_at=timezone.now(),
        lease_until=None,
    )
