"""Storyboards against the simulator over real HTTP: shots that continue each
other, dependency and money, new takes, and the film made by the driver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from PIL import ImageChops, ImageStat

from generations import credits
from generations.models import (
    Film,
    GenerationTask,
    Kind,
    Shot,
    State,
    Storyboard,
)
from generations.storyboards import frames, services
from tests.sim import assert_books_balance, drive

pytestmark = pytest.mark.django_db(transaction=True)

# Mean absolute difference (0-255 per channel) between the last frame of shot k
# and the first frame of shot k+1. H.264 at the simulator's CRF twice (our PNG of
# the last frame is exact; the next clip re-encodes it) stays well under 4; a
# different picture (another prompt's gradient) is far above 20.
CONTINUITY_THRESHOLD = 6.0


@pytest.fixture
def studio(sim: Any, live_server: Any, settings: Any) -> Any:
    """The simulator fetching our signed frame URLs from a live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    return sim


def make_board(owner: Any, *starts: str, duration: int = 4) -> Storyboard:
    board = services.create_board(
        owner=owner,
        title="Fox at dawn",
        aspect_ratio="16:9",
        resolution="480p",
        sound=True,
        routing="auto",
    )
    prompts = ["a red fox in snow", "the fox runs on", "the fox leaps", "it lands"]
    for start, prompt in zip(starts, prompts, strict=False):
        services.add_shot(
            owner=owner, board=board, prompt=prompt, duration=duration, start=start
        )
    return board


def shots_of(board: Storyboard) -> list[Shot]:
    return list(
        Shot.objects.filter(board=board)
        .select_related("chosen_take__video")
        .order_by("position")
    )


def no_work_left() -> bool:
    return (
        not GenerationTask.objects.exclude(
            state__in=[State.SUCCEEDED, State.FAILED, State.CANCELLED]
        ).exists()
        and not Shot.objects.filter(wanted=True)
        .exclude(note__contains="Blocked")
        .exclude(note__contains="Waiting")
        .exists()
        and not Film.objects.filter(
            state__in=[Film.State.QUEUED, Film.State.STITCHING]
        ).exists()
    )


def chain_settled(board: Storyboard) -> bool:
    return no_work_left() and not Shot.objects.filter(board=board, wanted=True).exists()


C, T = Shot.Start.CONTINUE, Shot.Start.TEXT


def test_it_chains_continuing_shots_from_their_predecessors_last_frame(
    studio: Any, alice: Any
) -> None:
    board = make_board(alice, T, C, C)
    services.generate_all(owner=alice, board=board)
    # Only the first shot is queued: the others wait for their predecessor.
    assert GenerationTask.objects.filter(shot__board=board).count() == 1
    drive(lambda: chain_settled(board), timeout=90)
    shots = shots_of(board)
    takes = [s.chosen_take for s in shots]
    assert all(t is not None and t.state == State.SUCCEEDED for t in takes)
    # Shot 3 was never submitted before shot 2 succeeded.
    for before, after in zip(takes, takes[1:], strict=False):
        assert before is not None and after is not None
        assert before.finished_at is not None and after.submitted_at is not None
        assert after.submitted_at > before.finished_at
        assert after.mode == "image-to-video"
        last = frames.frame_at(before.video.file.path)
        first = frames.frame_at(after.video.file.path, 0.0)
        assert last.size == first.size == (864, 480)
        difference = ImageStat.Stat(ImageChops.difference(last, first)).mean
        assert sum(difference) / 3 < CONTINUITY_THRESHOLD, difference
    assert_books_balance()


def test_it_tells_apart_frames_that_do_not_continue(studio: Any, alice: Any) -> None:
    """The continuity measure can fail: two unrelated shots are far apart."""
    board = make_board(alice, T, T)
    services.generate_all(owner=alice, board=board)
    drive(lambda: chain_settled(board), timeout=60)
    one, two = (s.chosen_take for s in shots_of(board))
    assert one is not None and two is not None
    last = frames.frame_at(one.video.file.path)
    first = frames.frame_at(two.video.file.path, 0.0)
    difference = ImageStat.Stat(ImageChops.difference(last, first)).mean
    assert sum(difference) / 3 > CONTINUITY_THRESHOLD


def test_it_blocks_the_dependents_of_a_failed_shot_holding_nothing(
    studio: Any, alice: Any
) -> None:
    board = make_board(alice, T, C, C)
    Shot.objects.filter(board=board, position=1).update(
        prompt="a red fox [sim:fail=NSFW_DETECTED]"
    )
    services.generate_all(owner=alice, board=board)
    drive(lambda: no_work_left(), timeout=60)
    drive(lambda: Shot.objects.filter(note__contains="Blocked").count() == 1)
    first, second, third = shots_of(board)
    assert first.chosen_take is not None and first.chosen_take.state == State.FAILED
    assert second.chosen_take is None and third.chosen_take is None
    assert "Blocked" in second.note_text
    # One task only (the failed one), its hold released: nothing held for 2 and 3.
    assert GenerationTask.objects.filter(shot__board=board).count() == 1
    assert credits.account_for(alice).balance == 1000
    assert_books_balance()


def test_it_pauses_when_credits_run_out_and_resumes_when_they_arrive(
    studio: Any, alice: Any
) -> None:
    board = make_board(alice, T, C, C)
    cost = services.shot_params(shots_of(board)[0]).cost()
    # Exactly two shots' worth of credits.
    _set_balance(alice, 2 * cost)
    services.generate_all(owner=alice, board=board)
    drive(
        lambda: Storyboard.objects.get(pk=board.pk).state == Storyboard.State.PAUSED,
        timeout=60,
    )
    board.refresh_from_db()
    assert "credits" in board.pause_text
    assert credits.account_for(alice).balance >= 0
    assert GenerationTask.objects.filter(shot__board=board).count() == 2
    assert Shot.objects.get(board=board, position=3).chosen_take is None
    # Still paused on later passes: nothing queued, nothing overdrawn.
    drive(timeout=30)
    assert Storyboard.objects.get(pk=board.pk).state == Storyboard.State.PAUSED
    assert GenerationTask.objects.filter(shot__board=board).count() == 2
    credits.grant(user=alice, amount=cost, reason="top up")
    drive(lambda: chain_settled(board), timeout=60)
    board.refresh_from_db()
    assert board.state == Storyboard.State.DRAFT
    assert all(s.chosen_take.state == State.SUCCEEDED for s in shots_of(board))  # type: ignore[union-attr]
    assert credits.account_for(alice).balance == 0
    assert_books_balance()


def _set_balance(user: Any, amount: int) -> None:
    balance = credits.account_for(user).balance
    credits.adjust(user=user, amount=amount - balance, reason="test: set balance")


@pytest.mark.parametrize("redo", [True, False])
def test_it_makes_a_new_take_of_a_middle_shot(
    studio: Any, alice: Any, redo: bool
) -> None:
    board = make_board(alice, T, C, C)
    services.generate_all(owner=alice, board=board)
    drive(lambda: chain_settled(board), timeout=90)
    before = [s.chosen_take_id for s in shots_of(board)]
    asked = services.new_take(owner=alice, shot=shots_of(board)[1], redo_following=redo)
    drive(lambda: chain_settled(board), timeout=90)
    after = [s.chosen_take_id for s in shots_of(board)]
    assert after[0] == before[0]
    assert after[1] != before[1]
    if redo:
        assert len(asked) == 2 and after[2] != before[2]
        third = GenerationTask.objects.get(pk=after[2])
        second = GenerationTask.objects.get(pk=after[1])
        assert third.submitted_at > second.finished_at  # type: ignore[operator]
    else:
        assert len(asked) == 1 and after[2] == before[2]
    # The old take stays a take of the shot, to choose again.
    assert GenerationTask.objects.filter(shot_id=shots_of(board)[1].pk).count() == 2
    assert_books_balance()


def test_it_makes_the_film_of_the_chosen_takes(
    studio: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    board = make_board(alice, T, C, C)
    services.generate_all(owner=alice, board=board)
    drive(lambda: chain_settled(board), timeout=90)
    film = services.make_film(owner=alice, board=board)
    drive(lambda: Film.objects.get(pk=film.pk).state == Film.State.SUCCEEDED)
    film.refresh_from_db()
    assert film.task is not None and film.task.kind == Kind.FILM
    assert film.stream_copy is True
    video = film.task.video
    with av.open(video.file.path) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
    assert video.duration_seconds == pytest.approx(12.0, abs=3 / 24)
    # A second version leaves the first.
    second = services.make_film(owner=alice, board=board)
    drive(lambda: Film.objects.get(pk=second.pk).state == Film.State.SUCCEEDED)
    assert second.version == 2
    assert Film.objects.filter(board=board, state=Film.State.SUCCEEDED).count() == 2
    assert GenerationTask.objects.filter(kind=Kind.FILM).count() == 2
    # Deleting a version takes its files too; the other version keeps its own.
    first_files = [Path(video.file.path), Path(video.poster.path)]
    assert all(path.exists() for path in first_files)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_film(owner=alice, film=film)
    assert not any(path.exists() for path in first_files)
    second.refresh_from_db()
    assert second.task is not None and Path(second.task.video.file.path).exists()
