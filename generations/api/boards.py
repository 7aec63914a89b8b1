"""Storyboards and films on /api/v1/: thin adapters over the storyboard services.

Every lookup goes through ``Storyboard.objects.visible_to`` (the pages' rule): a
stranger's board is a 404, a teammate reads it, and the services' owner check
(``services.require_owner``) turns a teammate's change into a 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from generations import credits
from generations.api import auth, idempotency
from generations.api.problems import Problem
from generations.api.routes import api, cursor_page, json_safe
from generations.api.schemas import (
    ERRORS,
    BoardIn,
    BoardOut,
    BoardPage,
    FilmIn,
    FilmOut,
    GenerateAllOut,
    ShotIn,
    ShotOut,
)
from generations.apixo import contract
from generations.models import Film, Shot, Storyboard
from generations.models.api import Scope
from generations.services import Refused
from generations.storyboards import services

# The API adds shots from text or from the previous shot (no image upload here).
API_STARTS = (Shot.Start.TEXT, Shot.Start.CONTINUE)


def _board(user: User, board_id: int) -> Storyboard:
    board = (
        Storyboard.objects.visible_to(user)
        .filter(pk=board_id)
        .select_related("owner")
        .first()
    )
    if board is None:
        raise Http404
    return board


def _owned(user: User, board_id: int) -> Storyboard:
    board = _board(user, board_id)
    try:
        services.require_owner(user, board)
    except Refused as exc:
        raise Problem(403, str(exc)) from None
    return board


def _refused(exc: Refused | ValidationError) -> Problem:
    if isinstance(exc, ValidationError):
        return Problem(422, " ".join(exc.messages))
    return Problem(422, str(exc))


def summary_out(board: Storyboard, user: User) -> dict[str, Any]:
    return {
        "id": board.pk,
        "title": board.title,
        "owner": board.owner.get_username(),
        "is_owner": board.owner_id == user.pk,
        "state": board.state,
        "pause_message": board.pause_text,
        "aspect_ratio": board.aspect_ratio,
        "resolution": board.resolution,
        "sound": board.sound,
        "routing": board.routing,
        "created_at": board.created_at,
        "updated_at": board.updated_at,
    }


def shot_out(shot: Shot) -> dict[str, Any]:
    take = shot.chosen_take
    return {
        "id": shot.pk,
        "position": shot.position,
        "prompt": shot.prompt,
        "duration": shot.duration,
        "start": shot.start,
        "cut": shot.cut,
        "crossfade_seconds": shot.crossfade_seconds,
        "wanted": shot.wanted,
        "note": shot.note_text,
        "chosen_take_id": shot.chosen_take_id,
        "take_state": take.state if take is not None else None,
    }


def film_out(film: Film) -> dict[str, Any]:
    ready = film.state == Film.State.SUCCEEDED and film.task_id is not None
    return {
        "id": film.pk,
        "board_id": film.board_id,
        "version": film.version,
        "state": film.state,
        "progress": film.progress,
        "error": film.error_text,
        "task_id": film.task_id,
        "video_url": reverse("api:task_video", args=[film.task_id]) if ready else None,
        "created_at": film.created_at,
        "finished_at": film.finished_at,
    }


def board_out(board: Storyboard, user: User) -> dict[str, Any]:
    # Through board.shots, so totals' shot_params reuses this board (no query a shot).
    shots = list(board.shots.select_related("chosen_take").order_by("position"))
    films = Film.objects.filter(board=board).order_by("-version")
    totals = services.totals(board, shots)
    return {
        **summary_out(board, user),
        "shots": [shot_out(s) for s in shots],
        "estimate": {
            "seconds": totals.seconds,
            "cost_to_generate": totals.cost_to_generate,
            "chosen_cost": totals.chosen_cost,
        },
        "films": [film_out(f) for f in films],
    }


@api.get("/storyboards", response={200: BoardPage, **ERRORS}, summary="Storyboards")
def list_boards(
    request: HttpRequest, cursor: str | None = None, limit: int = 20
) -> dict[str, Any]:
    """The boards you may see (yours and your teammates'), newest first."""
    user = auth.require(request, Scope.READ)
    boards = Storyboard.objects.visible_to(user).select_related("owner")
    return cursor_page(boards, cursor, limit, lambda b: summary_out(b, user))


@api.get(
    "/storyboards/{board_id}",
    response={200: BoardOut, **ERRORS},
    summary="A storyboard: settings, shots, estimate and films",
)
def get_board(request: HttpRequest, board_id: int) -> dict[str, Any]:
    user = auth.require(request, Scope.READ)
    return board_out(_board(user, board_id), user)


@api.post(
    "/storyboards",
    response={201: BoardOut, **ERRORS},
    summary="Create a storyboard; send an Idempotency-Key",
)
def create_board(request: HttpRequest, payload: BoardIn) -> HttpResponse:
    user = auth.require(request, Scope.GENERATE)

    def produce() -> idempotency.Answer:
        try:
            board = services.create_board(
                owner=user,
                title=payload.title,
                aspect_ratio=payload.aspect_ratio,
                resolution=payload.resolution,
                sound=payload.sound,
                routing=payload.routing,
            )
        except (Refused, ValidationError) as exc:
            raise _refused(exc) from None
        return 201, json_safe(board_out(board, user))

    return idempotency.run_idempotent(
        request,
        owner=user,
        route="storyboards",
        payload=payload.dict(),
        produce=produce,
    )


@api.post(
    "/storyboards/{board_id}/shots",
    response={201: ShotOut, **ERRORS},
    summary="Add a shot (from its prompt, or continuing the previous one)",
)
def add_shot(request: HttpRequest, board_id: int, payload: ShotIn) -> HttpResponse:
    user = auth.require(request, Scope.GENERATE)
    board = _owned(user, board_id)

    def produce() -> idempotency.Answer:
        if payload.start not in API_STARTS:
            raise Problem(422, "A shot starts from 'text' or 'continue'.")
        if payload.duration not in contract.DURATIONS:
            raise Problem(422, "Choose one of the offered durations.")
        try:
            shot = services.add_shot(
                owner=user,
                board=board,
                prompt=payload.prompt,
                duration=payload.duration,
                start=payload.start,
            )
        except (Refused, ValidationError) as exc:
            raise _refused(exc) from None
        return 201, shot_out(shot)

    return idempotency.run_idempotent(
        request,
        owner=user,
        route=f"storyboards:{board_id}:shots",
        payload=payload.dict(),
        produce=produce,
    )


@api.post(
    "/storyboards/{board_id}/generate",
    response={200: GenerateAllOut, **ERRORS},
    summary="Generate all: a take of every shot without a usable one",
)
def generate_all(request: HttpRequest, board_id: int) -> HttpResponse:
    """Holds credits for the shots that can start now; a board short of credits
    pauses (``state`` paused, ``pause_message`` says why)."""
    user = auth.require(request, Scope.GENERATE)
    board = _owned(user, board_id)

    def produce() -> idempotency.Answer:
        try:
            asked = services.generate_all(owner=user, board=board)
        except (Refused, ValidationError) as exc:
            raise _refused(exc) from None
        board.refresh_from_db()
        return 200, {
            "asked": asked,
            "state": board.state,
            "pause_message": board.pause_text,
            "balance": credits.account_for(user).balance,
        }

    return idempotency.run_idempotent(
        request,
        owner=user,
        route=f"storyboards:{board_id}:generate",
        payload={},
        produce=produce,
    )


@api.post(
    "/storyboards/{board_id}/film",
    response={201: FilmOut, **ERRORS},
    summary="Make a new version of the film from the chosen takes",
)
def make_film(request: HttpRequest, board_id: int, payload: FilmIn) -> HttpResponse:
    """``cut`` (hard or crossfade) and ``crossfade_seconds``, when given, are set
    on every shot after the first before the film is made, as the page does."""
    user = auth.require(request, Scope.GENERATE)
    board = _owned(user, board_id)

    def produce() -> idempotency.Answer:
        try:
            # A refused film leaves the shots' cuts as they were.
            with transaction.atomic():
                if payload.cut is not None or payload.crossfade_seconds is not None:
                    for shot in Shot.objects.filter(board=board, position__gt=1):
                        services.update_shot(
                            owner=user,
                            shot=shot,
                            cut=payload.cut,
                            crossfade_seconds=payload.crossfade_seconds,
                        )
                film = services.make_film(owner=user, board=board)
        except (Refused, ValidationError) as exc:
            raise _refused(exc) from None
        return 201, json_safe(film_out(film))

    return idempotency.run_idempotent(
        request,
        owner=user,
        route=f"storyboards:{board_id}:film",
        payload=payload.dict(),
        produce=produce,
    )


@api.get("/films/{film_id}", response={200: FilmOut, **ERRORS}, summary="A film")
def get_film(request: HttpRequest, film_id: int) -> dict[str, Any]:
    user = auth.require(request, Scope.READ)
    film = Film.objects.filter(
        pk=film_id, board__in=Storyboard.objects.visible_to(user)
    ).first()
    if film is None:
        raise Http404
    return film_out(film)
