"""Storyboard services: keyword-only writes a view calls, one each.

Takes are created through ``services.create_generations`` (the one place that
writes a task with its hold), so a take is queued, held, charged and refunded
like any other task. A board holds credits only for shots actually queued.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from generations import credits, media_store, services
from generations.models import (
    TERMINAL_STATES,
    Film,
    GenerationTask,
    InputImage,
    Mode,
    Shot,
    State,
    Storyboard,
    VideoAsset,
)
from generations.models.storyboards import MAX_CROSSFADE_SECONDS, MAX_SHOTS
from generations.params import GenerationParams
from generations.services import Refused
from generations.storyboards import frames

# A take in one of these states can never be continued from.
DEAD_STATES = frozenset(TERMINAL_STATES - {State.SUCCEEDED})


def require_owner(owner: User, board: Storyboard) -> None:
    """Only the owner edits a board (teammates see it: ``Storyboard.visible_to``)."""
    if board.owner_id != owner.pk:
        raise Refused(_("Only the owner of this storyboard can change it."))


def create_board(
    *,
    owner: User,
    title: str,
    aspect_ratio: str,
    resolution: str,
    sound: bool,
    routing: str,
    is_private: bool = False,
) -> Storyboard:
    title = title.strip()
    if not title:
        raise Refused(_("Give the storyboard a title."))
    limit = Storyboard._meta.get_field("title").max_length or 0
    if len(title) > limit:
        raise Refused(
            _("Keep the title under %(limit)d characters.") % {"limit": limit}
        )
    # The settings are checked by GenerationParams' own parsing at each take; the
    # choices are checked here so a board never holds a value no shot could use.
    GenerationParams.from_values(
        {
            "aspect_ratio": aspect_ratio,
            "resolution": resolution,
            "sound": sound,
            "routing": routing,
        }
    ).cost()
    return Storyboard.objects.create(
        owner=owner,
        title=title,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        sound=sound,
        routing=routing,
        is_private=is_private,
    )


def set_board_private(*, owner: User, board: Storyboard, private: bool) -> None:
    """A private board, its takes and its films are the owner's alone; made the
    team's again, all of them come back. New takes and films follow the board."""
    require_owner(owner, board)
    with transaction.atomic():
        Storyboard.objects.filter(pk=board.pk).update(
            is_private=private, updated_at=timezone.now()
        )
        made_here = GenerationTask.objects.filter(
            Q(shot__board=board) | Q(film__board=board)
        ).values_list("pk", flat=True)
        services.set_private(owner=owner, task_ids=made_here, private=private)
    board.is_private = private


def add_shot(
    *,
    owner: User,
    board: Storyboard,
    prompt: str,
    duration: int,
    start: str = Shot.Start.TEXT,
    start_image: InputImage | None = None,
    end_image: InputImage | None = None,
) -> Shot:
    require_owner(owner, board)
    with transaction.atomic():
        shots = Shot.objects.filter(board=board)
        if shots.count() >= MAX_SHOTS:
            raise Refused(
                _("A storyboard has at most %(count)d shots.") % {"count": MAX_SHOTS}
            )
        if start == Shot.Start.CONTINUE and not shots.exists():
            raise Refused(_("The first shot has no previous shot to continue."))
        if start == Shot.Start.IMAGE and start_image is None:
            raise Refused(_("Give a start image for a shot that starts from one."))
        last = shots.aggregate(n=Max("position"))["n"]
        shot = Shot.objects.create(
            board=board,
            position=(last or 0) + 1,
            prompt=prompt.strip(),
            duration=duration,
            start=start,
            start_image=start_image if start == Shot.Start.IMAGE else None,
            end_image=end_image,
        )
    return shot


def update_shot(
    *,
    owner: User,
    shot: Shot,
    prompt: str | None = None,
    duration: int | None = None,
    cut: str | None = None,
    crossfade_seconds: float | None = None,
) -> Shot:
    require_owner(owner, shot.board)
    if prompt is not None:
        shot.prompt = prompt.strip()
    if duration is not None:
        shot.duration = duration
    if cut is not None:
        if cut not in Shot.Cut.values:
            raise Refused(_("Choose a hard cut or a crossfade."))
        shot.cut = cut
    if crossfade_seconds is not None:
        if not 0.1 <= crossfade_seconds <= MAX_CROSSFADE_SECONDS:
            raise Refused(
                _("A crossfade lasts from 0.1 to %(max)s seconds.")
                % {"max": MAX_CROSSFADE_SECONDS}
            )
        shot.crossfade_seconds = crossfade_seconds
    shot.save()
    return shot


def move_shot(*, owner: User, shot: Shot, offset: int) -> None:
    """Swap the shot with its neighbour before (-1) or after (+1)."""
    require_owner(owner, shot.board)
    with transaction.atomic():
        ordered = list(Shot.objects.filter(board_id=shot.board_id).order_by("position"))
        index = next(i for i, s in enumerate(ordered) if s.pk == shot.pk)
        other = index + offset
        if offset not in (-1, 1) or not 0 <= other < len(ordered):
            return
        ordered[index], ordered[other] = ordered[other], ordered[index]
        _renumber(ordered)


def reorder_shots(*, owner: User, board: Storyboard, shot_ids: list[int]) -> None:
    """Put the board's shots in the order of ``shot_ids`` (a drag and drop)."""
    require_owner(owner, board)
    with transaction.atomic():
        shots = {s.pk: s for s in Shot.objects.filter(board=board)}
        if sorted(shot_ids) != sorted(shots):
            raise Refused(_("The list of shots changed meanwhile; reload the page."))
        _renumber([shots[pk] for pk in shot_ids])


def _renumber(ordered: list[Shot]) -> None:
    # Two passes so the positions never collide half-way (no unique index today,
    # but a stable order for readers in between).
    for number, shot in enumerate(ordered, start=1):
        Shot.objects.filter(pk=shot.pk).update(position=number)
    first = ordered[0] if ordered else None
    if first is not None and first.start == Shot.Start.CONTINUE:
        # The first shot has nothing to continue: it starts from its prompt.
        Shot.objects.filter(pk=first.pk).update(start=Shot.Start.TEXT)


def delete_shot(*, owner: User, shot: Shot) -> None:
    require_owner(owner, shot.board)
    with transaction.atomic():
        board = shot.board
        shot.delete()
        _renumber(list(Shot.objects.filter(board=board).order_by("position")))


def choose_take(*, owner: User, shot: Shot, take_id: int) -> Shot:
    require_owner(owner, shot.board)
    take = shot.takes.filter(pk=take_id).first()
    if take is None:
        raise Refused(_("That take does not belong to this shot."))
    Shot.objects.filter(pk=shot.pk).update(chosen_take=take, updated_at=timezone.now())
    shot.chosen_take = take
    return shot


def shot_params(shot: Shot) -> GenerationParams:
    """The generation parameters of a take of this shot: the board's settings."""
    board = shot.board
    image = shot.start != Shot.Start.TEXT or shot.end_image_id is not None
    return GenerationParams(
        mode=Mode.IMAGE if image else Mode.TEXT,
        prompt=shot.prompt,
        resolution=board.resolution,
        duration=shot.duration,
        sound=board.sound,
        aspect_ratio=board.aspect_ratio,
        routing=board.routing,
    )


@dataclass(frozen=True)
class BoardTotals:
    seconds: int
    cost_to_generate: int
    chosen_cost: int


def totals(board: Storyboard, shots: list[Shot]) -> BoardTotals:
    """Length, the estimate of Generate all, and what the chosen takes cost."""
    return BoardTotals(
        seconds=sum(s.duration for s in shots),
        cost_to_generate=sum(shot_params(s).cost() for s in shots if needs_take(s)),
        chosen_cost=sum(s.chosen_take.cost for s in shots if s.chosen_take),
    )


def needs_take(shot: Shot) -> bool:
    """Generate all queues it: no chosen take, or one that failed."""
    take = shot.chosen_take
    return take is None or take.state in DEAD_STATES


def generate_all(*, owner: User, board: Storyboard) -> int:
    """Ask for a take of every shot without a usable one; returns how many.

    Nothing is held here: the driver queues (and holds for) each shot when it can
    start, now for most shots, later for a shot that continues another.
    """
    require_owner(owner, board)
    shots = list(Shot.objects.filter(board=board).select_related("chosen_take"))
    wanted = [s.pk for s in shots if needs_take(s)]
    with transaction.atomic():
        Shot.objects.filter(pk__in=wanted).update(wanted=True, note="")
        Storyboard.objects.filter(pk=board.pk).update(
            state=Storyboard.State.RUNNING, pause_message=""
        )
    from generations.storyboards import driver

    driver.advance_board(board.pk)
    return len(wanted)


def new_take(*, owner: User, shot: Shot, redo_following: bool) -> list[int]:
    """Ask for another take of ``shot``; returns the ids of the shots asked for.

    With ``redo_following`` the shots that continue from it (directly or down a
    chain) are asked for again too, and wait for its new take; without, they
    keep their takes.
    """
    board = shot.board
    require_owner(owner, board)
    redo = [shot.pk]
    if redo_following:
        for later in Shot.objects.filter(
            board=board, position__gt=shot.position
        ).order_by("position"):
            if later.start != Shot.Start.CONTINUE:
                break
            redo.append(later.pk)
    with transaction.atomic():
        Shot.objects.filter(pk__in=redo).update(wanted=True, note="")
        Storyboard.objects.filter(pk=board.pk).update(
            state=Storyboard.State.RUNNING, pause_message=""
        )
    from generations.storyboards import driver

    driver.advance_board(board.pk)
    return redo


def queue_take(shot: Shot) -> GenerationTask:
    """Create (and hold for) one take of a shot that can start now.

    Raises credits.CreditsRefused (nothing held) or frames.FrameUnavailable.
    """
    params = shot_params(shot)
    available = credits.account_for(shot.board.owner).balance
    if available < params.cost():
        # Cheap early answer for a paused board, before reading any frame; the
        # hold in create_generations is the check that counts.
        raise credits.InsufficientCredits(params.cost(), available)
    images: list[InputImage] = []
    if shot.start == Shot.Start.CONTINUE:
        previous = previous_shot(shot)
        assert previous is not None and previous.chosen_take is not None
        images.append(
            frames.store_frame(previous.chosen_take.video, owner=shot.board.owner)
        )
    elif shot.start == Shot.Start.IMAGE and shot.start_image is not None:
        images.append(shot.start_image)
    if shot.end_image is not None:
        images.append(shot.end_image)
    with transaction.atomic():
        [take] = services.create_generations(
            owner=shot.board.owner, variants=[params], images=images
        )
        GenerationTask.objects.filter(pk=take.pk).update(
            shot=shot, is_private=shot.board.is_private
        )
        updated = Shot.objects.filter(pk=shot.pk, wanted=True).update(
            wanted=False, chosen_take=take, note="", updated_at=timezone.now()
        )
        if updated != 1:
            # Someone else queued it meanwhile: roll back this take and its hold.
            raise _AlreadyQueued
    return take


class _AlreadyQueued(Exception):
    pass


def previous_shot(shot: Shot) -> Shot | None:
    return (
        Shot.objects.filter(board_id=shot.board_id, position__lt=shot.position)
        .select_related("chosen_take__video")
        .order_by("-position")
        .first()
    )


def make_film(*, owner: User, board: Storyboard) -> Film:
    """Queue a new version of the board's film from its chosen takes."""
    require_owner(owner, board)
    shots = list(
        Shot.objects.filter(board=board)
        .select_related("chosen_take__video")
        .order_by("position")
    )
    if not shots:
        raise Refused(_("Add shots before making the film."))
    missing = [
        s.position
        for s in shots
        if s.chosen_take is None
        or s.chosen_take.state != State.SUCCEEDED
        or not hasattr(s.chosen_take, "video")
    ]
    if missing:
        raise Refused(
            _("Shots %(shots)s have no finished chosen take yet.")
            % {"shots": ", ".join(str(n) for n in missing)}
        )
    plan = [
        {
            "take": s.chosen_take_id,
            "cut": s.cut if index else Shot.Cut.HARD,
            "crossfade": s.crossfade_seconds if index else 0.0,
        }
        for index, s in enumerate(shots)
    ]
    with transaction.atomic():
        last = Film.objects.filter(board=board).aggregate(n=Max("version"))["n"]
        return Film.objects.create(board=board, version=(last or 0) + 1, plan=plan)


def delete_film(*, owner: User, film: Film) -> None:
    """Delete one version of a film: its video task, its files and the row.

    The files go once the rows are gone for good (after the commit), so a
    rolled-back delete never leaves a film without its video.
    """
    require_owner(owner, film.board)
    files = [
        name
        for pair in VideoAsset.objects.filter(task_id=film.task_id).values_list(
            "file", "poster"
        )
        for name in pair
        if name
    ]
    with transaction.atomic():
        if film.task_id is not None:
            GenerationTask.objects.filter(pk=film.task_id).delete()
        film.delete()
        transaction.on_commit(lambda: _remove_files(files))


def _remove_files(names: list[str]) -> None:
    media_store.remove(*names)  # a name already gone is no error


def pause(board_id: int, message: str) -> None:
    """``message``: stored text (``stored_text.every_language``)."""
    Storyboard.objects.filter(pk=board_id, state=Storyboard.State.RUNNING).update(
        state=Storyboard.State.PAUSED,
        pause_message=message,
        updated_at=timezone.now(),
    )
