"""The storyboard driver: one step of the dispatcher's loop advances every board.

For each running or paused board, in shot order, a shot that was asked for
(``wanted``) is queued when it can start: a shot from text or an image at once, a
shot that continues the previous one once that shot's chosen take succeeded (its
last frame becomes the start image). A continuing shot whose predecessor failed
is blocked: nothing is held for it. When the member's credits (or daily limit)
refuse a take, the board pauses with the reason; a later pass resumes it as
soon as the take can be held. Films waiting for a worker (or whose worker died:
its lease ran out) are handed to one; only a worker's start counts as an attempt.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from generations import credits
from generations.models import Film, Shot, State, Storyboard
from generations.models.storyboards import FILM_GAVE_UP, MAX_FILM_ATTEMPTS
from generations.stored_text import every_language
from generations.storyboards import frames, services

log = logging.getLogger(__name__)

Enqueue = Callable[[str, int], Any]
STITCH_JOB = "generations.tasks.stitch_film"


def advance(now: dt.datetime | None = None, enqueue: Enqueue | None = None) -> int:
    """One pass over the boards with work waiting; returns takes queued + films."""
    queued = 0
    board_ids = Storyboard.objects.filter(
        state__in=[Storyboard.State.RUNNING, Storyboard.State.PAUSED],
        shots__wanted=True,
    ).values_list("pk", flat=True)
    for board_id in set(board_ids):
        queued += advance_board(board_id)
    _finish_idle_boards()
    return queued + dispatch_films(now=now, enqueue=enqueue)


def advance_board(board_id: int) -> int:
    """Queue every wanted shot of the board that can start; returns how many."""
    shots = list(
        Shot.objects.filter(board_id=board_id)
        .select_related("board__owner", "chosen_take__video", "start_image")
        .order_by("position")
    )
    queued = 0
    previous: Shot | None = None
    for shot in shots:
        if shot.wanted:
            why_not = _why_waiting(shot, previous)
            if why_not is None:
                outcome = _queue(shot)
                if outcome is False:
                    return queued  # paused: later shots must not overtake
                queued += 1
            elif shot.note != why_not:
                Shot.objects.filter(pk=shot.pk).update(note=why_not)
        previous = shot
    if queued:
        Storyboard.objects.filter(pk=board_id, state=Storyboard.State.PAUSED).update(
            state=Storyboard.State.RUNNING, pause_message=""
        )
    return queued


def _why_waiting(shot: Shot, previous: Shot | None) -> str | None:
    """None when the shot can be queued now, else what it waits for."""
    if shot.start != Shot.Start.CONTINUE:
        return None
    if previous is None:
        return None  # moved first: starts from its prompt (reorder fixes start)
    take = previous.chosen_take
    if take is not None and take.state in services.DEAD_STATES:
        return every_language(lambda: _("Blocked: the previous shot failed."))
    finished = take is not None and take.state == State.SUCCEEDED
    if previous.wanted or not finished or not hasattr(take, "video"):
        return every_language(lambda: _("Waiting for the previous shot."))
    return None


def _queue(shot: Shot) -> bool:
    """Queue one take; False when credits refused it (the board is paused)."""
    try:
        take = services.queue_take(shot)
    except credits.CreditsRefused as refused:
        hold_for_credits(shot, refused)
        return False
    except frames.FrameUnavailable as error:
        log.warning(
            "board %s shot %s: no last frame: %s", shot.board_id, shot.pk, error
        )
        # Not retried each pass: the member asks again (New take) or picks
        # another take of the previous shot.
        Shot.objects.filter(pk=shot.pk).update(
            wanted=False,
            note=every_language(
                lambda: _("The previous shot's last frame could not be read.")
            ),
        )
        return True
    except services._AlreadyQueued:
        return True
    log.info("board %s: queued take %s of shot %s", shot.board_id, take.pk, shot.pk)
    return True


def hold_for_credits(shot: Shot, refused: credits.CreditsRefused) -> None:
    """The shot's take was refused for credits: say why on the shot, pause the
    board (a later pass resumes it once the take can be held)."""
    reason = refused.render

    def paused() -> str:
        return _("Paused: %(reason)s It resumes when credits arrive.") % {
            "reason": reason()
        }

    note = every_language(reason)
    if shot.note != note:
        Shot.objects.filter(pk=shot.pk).update(note=note)
    services.pause(shot.board_id, every_language(paused))


def _finish_idle_boards() -> None:
    """Running boards with nothing left to queue go back to rest."""
    Storyboard.objects.filter(state=Storyboard.State.RUNNING).exclude(
        shots__wanted=True
    ).update(state=Storyboard.State.DRAFT)


def dispatch_films(
    now: dt.datetime | None = None, enqueue: Enqueue | None = None
) -> int:
    """Hand films to a worker: a film waiting for one, and a film whose worker
    died (its lease ran out). A hand-over holds the film for a lease too; when that
    runs out before a worker started it (the queue lost it or is behind), it is
    handed over again. Only a worker's start counts as an attempt (``film.claim``),
    so a long queue never makes a film give up; three dead workers do."""
    now = now or timezone.now()
    lapsed = Film.lease_lapsed(now)
    due = Film.objects.filter(
        lapsed, state__in=[Film.State.QUEUED, Film.State.STITCHING]
    ).values_list("pk", "state", "attempts")
    sent = 0
    for film_id, state, attempts in list(due):
        row = Film.objects.filter(lapsed, pk=film_id, state=state, attempts=attempts)
        if state == Film.State.STITCHING and attempts >= MAX_FILM_ATTEMPTS:
            row.update(
                state=Film.State.FAILED,
                error=FILM_GAVE_UP,
                finished_at=now,
                lease_until=None,
            )
            continue
        queued = row.update(
            state=Film.State.QUEUED, progress=0.0, lease_until=Film.lease_end(now)
        )
        if queued == 1:
            (enqueue or _django_q_enqueue)(STITCH_JOB, film_id)
            sent += 1
    return sent


def _django_q_enqueue(func: str, film_id: int) -> Any:
    from django_q.tasks import async_task

    return async_task(func, film_id, task_name=f"stitch_film-{film_id}")
