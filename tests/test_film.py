"""Films: stitched from real MP4s, stream copy or re-encode as the cuts need,
silence for silent takes, faded cuts, and a worker killed mid-stitch."""

from __future__ import annotations

import datetime as dt
import io
import math
from array import array
from pathlib import Path
from typing import Any

import av
import pytest
from django.utils import timezone
from PIL import Image

from generations import media_store
from generations.models import Film, GenerationTask, Kind
from generations.models.storyboards import MAX_FILM_ATTEMPTS
from generations.storyboards import driver, frames, services
from generations.storyboards import film as film_job
from generations.storyboards.film import claim, film_path, stitch_film, work_path
from generations.storyboards.stitch import AUDIO_RATE, part_name
from tests.factories import media_bytes
from tests.processes import Stack, wait_until
from tests.storyboard_helpers import board_with_takes

FRAME = 1 / 24


def make(owner: Any, **kwargs: Any) -> Film:
    board = board_with_takes(owner, **kwargs)
    film = services.make_film(owner=owner, board=board)
    driver.dispatch_films(enqueue=lambda _func, film_id: stitch_film(film_id))
    film.refresh_from_db()
    assert film.state == Film.State.SUCCEEDED, film.error
    return film


def streams(film: Film) -> dict[str, Any]:
    assert film.task is not None
    with (
        media_store.local_copy(film.task.video.file.name) as path,
        av.open(str(path)) as container,
    ):
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        return {
            "frames": frames,
            "size": (video.codec_context.width, video.codec_context.height),
            "video": video.codec_context.name,
            "audio": [a.codec_context.name for a in container.streams.audio],
            "seconds": container.duration / av.time_base,
        }


def loudness(film: Film, start: float, end: float) -> float:
    """RMS of the film's sound between two times (seconds)."""
    assert film.task is not None
    samples: array[float] = array("f")
    with (
        media_store.local_copy(film.task.video.file.name) as path,
        av.open(str(path)) as container,
    ):
        resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 4])
    part = samples[int(start * AUDIO_RATE) : int(end * AUDIO_RATE)]
    return math.sqrt(sum(x * x for x in part) / max(1, len(part)))


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_stream_copies_hard_cuts_between_matching_takes(alice: Any) -> None:
    film = make(alice, takes=[(4, True), (8, True), (4, True)])
    assert film.stream_copy is True
    found = streams(film)
    assert found["video"] == "h264" and found["audio"] == ["aac"]
    assert found["frames"] == 16 * 24
    assert found["seconds"] == pytest.approx(16, abs=3 * FRAME)
    assert film.task is not None and film.task.kind == Kind.FILM
    assert film.task.video.duration_seconds == pytest.approx(16, abs=3 * FRAME)
    video = film.task.video
    assert media_store.sha256_of(video.file.name) == video.sha256
    assert media_store.stat(video.poster.name).size > 0
    assert not any(media_store.scratch_dir().rglob("*.mp4"))  # no work file left


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_stores_a_takes_last_frame_as_a_start_image(alice: Any) -> None:
    board = board_with_takes(alice, takes=[(4, False)])
    take = GenerationTask.objects.get(shot__board=board)
    image = frames.store_frame(take.video, owner=alice)
    with Image.open(io.BytesIO(media_bytes(image.file.name))) as stored:
        assert stored.size == (take.video.width, take.video.height)
    assert not any(media_store.scratch_dir().iterdir())  # the local copy is gone
    media_store.remove(take.video.file.name)
    with pytest.raises(frames.FrameUnavailable):
        frames.store_frame(take.video, owner=alice)


@pytest.mark.django_db
@pytest.mark.parametrize("crossfade", [0.25, 1.0])
def test_it_reencodes_crossfades_of_the_chosen_length(
    alice: Any, crossfade: float
) -> None:
    film = make(
        alice, takes=[(4, True), (4, True), (8, True)], cut="crossfade",
        crossfade=crossfade,
    )  # fmt: skip
    assert film.stream_copy is False
    found = streams(film)
    overlap = round(crossfade * 24)
    assert found["frames"] == 16 * 24 - 2 * overlap
    assert found["seconds"] == pytest.approx(16 - 2 * crossfade, abs=2 * FRAME)


@pytest.mark.django_db
def test_it_reencodes_takes_of_another_size_to_the_boards(alice: Any) -> None:
    film = make(alice, takes=[(4, False), (4, False)], take_resolution="480p",
                resolution="720p")  # fmt: skip
    assert film.stream_copy is False
    found = streams(film)
    assert found["size"] == (1280, 720)
    assert found["frames"] == 8 * 24


@pytest.mark.django_db
def test_it_puts_silence_under_silent_takes(alice: Any) -> None:
    film = make(alice, takes=[(4, True), (4, False), (4, True)])
    # Silent takes alone differ in nothing but the audio: still a stream copy.
    assert film.stream_copy is True
    assert streams(film)["audio"] == ["aac"]
    assert loudness(film, 0.5, 3.5) > 0.01
    assert loudness(film, 4.5, 7.5) < 0.001
    assert loudness(film, 8.5, 11.5) > 0.01


@pytest.mark.django_db
def test_it_fades_the_sound_at_a_hard_cut(alice: Any) -> None:
    film = make(alice, takes=[(4, True), (4, True)])
    # Right at the cut the sound is faded down: no click.
    assert loudness(film, 4.0 - 0.003, 4.0 + 0.003) < 0.5 * loudness(film, 3.0, 3.9)


@pytest.mark.django_db
def test_it_refuses_a_film_while_a_shot_has_no_finished_take(alice: Any) -> None:
    board = board_with_takes(alice, takes=[(4, False)])
    services.add_shot(owner=alice, board=board, prompt="later", duration=4)
    with pytest.raises(services.Refused, match="Shots 2"):
        services.make_film(owner=alice, board=board)
    assert not Film.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_makes_the_film_again_after_a_worker_is_killed(
    stack: Stack, alice: Any
) -> None:
    board = board_with_takes(
        alice, takes=[(12, True)] * 3, resolution="720p", cut="crossfade"
    )
    film = services.make_film(owner=alice, board=board)
    first = work_path(film, 1)
    part = first.parent / part_name(first)
    stack.start_dispatcher()
    stack.start_workers()
    wait_until(
        lambda: part.exists() and part.stat().st_size > 0,
        120,
        "stitching",
        explain=lambda: (
            f"{Film.objects.filter(pk=film.pk).values().get()}\n"
            + stack.log("dispatcher")[-3000:]
            + stack.log("worker")[-3000:]
        ),
    )
    stack.kill("worker")
    film.refresh_from_db()
    assert film.state == Film.State.STITCHING and film.attempts == 1
    assert not first.exists()  # no half film under the film's name
    assert not media_store.exists(str(film_path(film, 1)))
    stack.start_workers()
    wait_until(
        lambda: Film.objects.get(pk=film.pk).state == Film.State.SUCCEEDED,
        120,
        "the film made again",
        explain=lambda: stack.log("worker")[-3000:],
    )
    film.refresh_from_db()
    assert film.attempts == 2
    assert not part.exists()  # the dead worker's half film is swept
    assert streams(film)["frames"] == 36 * 24 - 2 * 12
    assert film.task is not None
    assert film.task.video.file.name == str(film_path(film, 2))
    assert GenerationTask.objects.filter(kind=Kind.FILM).count() == 1


def lapse(film: Film) -> None:
    """The film's lease runs out (its worker died, or the queue is behind)."""
    Film.objects.filter(pk=film.pk).update(
        lease_until=timezone.now() - dt.timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_it_gives_up_on_a_film_after_three_dead_workers(alice: Any) -> None:
    board = board_with_takes(alice, takes=[(4, False)])
    film = services.make_film(owner=alice, board=board)
    sent: list[int] = []
    for attempt in range(1, MAX_FILM_ATTEMPTS + 1):
        assert driver.dispatch_films(enqueue=lambda _f, pk: sent.append(pk)) == 1
        assert Film.objects.get(pk=film.pk).state == Film.State.QUEUED
        assert claim(film.pk) == attempt  # a worker starts it ...
        lapse(film)  # ... and dies
    assert driver.dispatch_films(enqueue=lambda _f, pk: sent.append(pk)) == 0
    film.refresh_from_db()
    assert film.state == Film.State.FAILED and film.error
    assert sent == [film.pk] * MAX_FILM_ATTEMPTS
    assert claim(film.pk) is None  # a copy still in the queue does nothing


@pytest.mark.django_db
def test_a_film_waiting_in_a_long_queue_is_never_given_up(alice: Any) -> None:
    board = board_with_takes(alice, takes=[(4, False)])
    film = services.make_film(owner=alice, board=board)
    sent: list[int] = []
    for _ in range(MAX_FILM_ATTEMPTS + 2):
        # Handed over, but no worker starts it before the lease runs out.
        assert driver.dispatch_films(enqueue=lambda _f, pk: sent.append(pk)) == 1
        lapse(film)
    film.refresh_from_db()
    assert film.state == Film.State.QUEUED and film.attempts == 0
    assert len(sent) == MAX_FILM_ATTEMPTS + 2
    # The first copy a worker reaches makes the film; the others find it made.
    assert stitch_film(film.pk) is True
    assert stitch_film(film.pk) is False
    film.refresh_from_db()
    assert film.state == Film.State.SUCCEEDED and film.attempts == 1


@pytest.mark.django_db
def test_a_living_worker_keeps_its_film(alice: Any) -> None:
    board = board_with_takes(alice, takes=[(4, False)])
    film = services.make_film(owner=alice, board=board)
    assert claim(film.pk) == 1
    # A second copy of the job (handed over while the queue was behind) finds
    # the film in a living worker's hands; so does the dispatcher.
    assert claim(film.pk) is None
    assert driver.dispatch_films(enqueue=lambda _f, _pk: None) == 0
    assert Film.objects.get(pk=film.pk).attempts == 1


@pytest.mark.django_db
def test_a_frozen_worker_that_thaws_after_a_takeover_changes_nothing(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = board_with_takes(alice, takes=[(4, True)] * 2, cut="crossfade")
    film = services.make_film(owner=alice, board=board)
    real_stitch = film_job.stitch
    frozen: list[Path] = []

    def first_worker_freezes(clips: Any, target: Path, **kwargs: Any) -> Any:
        report = kwargs.pop("progress")
        if frozen:  # the second worker: stitches as usual
            return real_stitch(clips, target, progress=report, **kwargs)
        frozen.append(target)

        def freezes_midway(fraction: float) -> None:
            report(fraction)
            if fraction > 0.3 and len(frozen) == 1:
                frozen.append(target)
                # Frozen past its lease: the film goes to another worker, who
                # makes it while this one sleeps.
                lapse(film)
                assert driver.dispatch_films(enqueue=lambda _f, pk: stitch_film(pk))
                made = Film.objects.get(pk=film.pk)
                assert made.state == Film.State.SUCCEEDED and made.attempts == 2

        return real_stitch(clips, target, progress=freezes_midway, **kwargs)

    monkeypatch.setattr(film_job, "stitch", first_worker_freezes)
    # It thaws: its half-made file was swept, so it stops, having moved nothing.
    with pytest.raises(FileNotFoundError):
        stitch_film(film.pk)
    assert len(frozen) == 2
    film.refresh_from_db()
    assert film.state == Film.State.SUCCEEDED and film.progress == 1.0
    assert film.attempts == 2 and film.lease_until is None
    assert film.task is not None
    assert film.task.video.file.name == str(film_path(film, 2))
    assert media_store.exists(str(film_path(film, 2)))
    assert not media_store.exists(str(film_path(film, 1)))
    assert not any(media_store.scratch_dir().rglob("*.part"))
    assert GenerationTask.objects.filter(kind=Kind.FILM).count() == 1


@pytest.mark.django_db
def test_a_stale_worker_cannot_report_on_or_fail_a_taken_over_film(
    alice: Any,
) -> None:
    board = board_with_takes(alice, takes=[(4, False)])
    film = services.make_film(owner=alice, board=board)
    assert claim(film.pk) == 1
    lapse(film)
    assert claim(film.pk) == 2
    before = Film.objects.values("progress", "lease_until", "state").get(pk=film.pk)
    film_job._progress(film.pk, 1, 0.9)
    film_job._fail(film.pk, 1, "stale")
    assert (
        Film.objects.values("progress", "lease_until", "state").get(pk=film.pk)
        == before
    )
    film_job._progress(film.pk, 2, 0.5)
    assert Film.objects.get(pk=film.pk).progress == 0.5


@pytest.mark.django_db
def test_it_never_hands_a_leased_film_to_a_second_worker(alice: Any) -> None:
    board = board_with_takes(alice, takes=[(4, False)])
    services.make_film(owner=alice, board=board)
    assert driver.dispatch_films(enqueue=lambda _f, _pk: None) == 1
    assert driver.dispatch_films(enqueue=lambda _f, _pk: None) == 0
