"""Storyboard pages: the list, a board (shots, takes, films, live state), and
the Continue / Use this frame actions of a video.

Every lookup goes through ``Storyboard.objects.visible_to`` (the one visibility
rule): a teammate sees a board, only its owner changes it (the services refuse
anyone else); a stranger's board is a 404.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from generations import credits, forms
from generations.apixo import contract
from generations.models import (
    IN_FLIGHT_STATES,
    Film,
    GenerationTask,
    Mode,
    Routing,
    Shot,
    Storyboard,
)
from generations.models.tasks import AspectRatio, Resolution
from generations.services import Refused
from generations.storyboards import frames, services
from generations.views.common import AuthedHttpRequest, visible_video_task_or_404

TEMPLATE = "generations/storyboard.html"


def board_or_404(request: AuthedHttpRequest, pk: int) -> Storyboard:
    board = (
        Storyboard.objects.visible_to(request.user)
        .filter(pk=pk)
        .select_related("owner")
        .first()
    )
    if board is None:
        raise Http404("No such storyboard.")
    return board


def _on_visible_board_or_404[M: (Shot, Film)](
    model: type[M], request: AuthedHttpRequest, pk: int
) -> M:
    """A shot or film (with its board) on a board the member may see."""
    found = (
        model.objects.filter(
            pk=pk, board__in=Storyboard.objects.visible_to(request.user)
        )
        .select_related("board")
        .first()
    )
    if found is None:
        raise Http404(f"No such {model.__name__.lower()}.")
    return found


def shot_or_404(request: AuthedHttpRequest, pk: int) -> Shot:
    return _on_visible_board_or_404(Shot, request, pk)


@login_required
@require_GET
def board_list(request: AuthedHttpRequest) -> HttpResponse:
    boards = list(
        Storyboard.objects.visible_to(request.user)
        .select_related("owner")
        .prefetch_related("shots")
    )
    return render(
        request,
        "generations/storyboards.html",
        {
            "boards": boards,
            "aspect_ratios": AspectRatio.choices,
            "resolutions": Resolution.choices,
            "routings": Routing.choices,
        },
    )


@login_required
@require_POST
def board_create(request: AuthedHttpRequest) -> HttpResponse:
    post = request.POST
    try:
        board = services.create_board(
            owner=request.user,
            title=post.get("title", ""),
            aspect_ratio=_choice(post.get("aspect_ratio"), AspectRatio.values),
            resolution=_choice(post.get("resolution"), Resolution.values),
            sound=post.get("sound") == "on",
            routing=_choice(post.get("routing"), Routing.values),
            is_private=post.get("private") == "on",
        )
    except (Refused, ValidationError) as exc:
        messages.error(request, _message(exc))
        return redirect("storyboard_list")
    return redirect("storyboard_detail", board.pk)


def _choice(value: str | None, allowed: list[str]) -> str:
    if value not in allowed:
        raise Refused(_("Choose one of the offered settings."))
    return str(value)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def board_context(request: AuthedHttpRequest, board: Storyboard) -> dict[str, Any]:
    shots = list(
        board.shots.select_related("chosen_take__video", "start_image", "end_image")
        .prefetch_related(
            Prefetch(
                "takes",
                queryset=GenerationTask.objects.select_related("video").order_by("id"),
            )
        )
        .order_by("position")
    )
    films = list(
        Film.objects.filter(board=board)
        .select_related("task__video")
        .order_by("-version")
    )
    totals = services.totals(board, shots)
    live = any(
        (s.chosen_take and s.chosen_take.state in IN_FLIGHT_STATES) or s.wanted
        for s in shots
    ) or any(f.state in (Film.State.QUEUED, Film.State.STITCHING) for f in films)
    return {
        "board": board,
        "shots": shots,
        "films": films,
        "totals": totals,
        "is_owner": board.owner_id == request.user.pk,
        "live": live,
        "balance": credits.account_for(request.user).balance,
        "durations": contract.DURATIONS,
        "starts": Shot.Start.choices,
        "cuts": Shot.Cut.choices,
        "preview": [
            reverse("video_file", args=[s.chosen_take_id])
            for s in shots
            if s.chosen_take and hasattr(s.chosen_take, "video")
        ],
    }


@login_required
@require_GET
def board_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    board = board_or_404(request, pk)
    context = board_context(request, board)
    if request.htmx:
        return render(request, f"{TEMPLATE}#board_live", context)
    return render(request, TEMPLATE, context)


def _back(request: AuthedHttpRequest, board: Storyboard) -> HttpResponse:
    if request.htmx:
        board.refresh_from_db()
        return render(request, f"{TEMPLATE}#board_live", board_context(request, board))
    return redirect("storyboard_detail", board.pk)


def _run(request: AuthedHttpRequest, board: Storyboard, action: Any) -> HttpResponse:
    """Call one service; a refusal becomes the message the member reads."""
    try:
        done = action()
    except (Refused, ValidationError) as exc:
        messages.error(request, _message(exc))
    else:
        if isinstance(done, str):
            messages.success(request, done)
    return _back(request, board)


@login_required
@require_POST
def board_privacy(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    board = board_or_404(request, pk)
    private = request.POST.get("private") == "1"

    def change() -> str:
        services.set_board_private(owner=request.user, board=board, private=private)
        if private:
            return _("Private: only you see this storyboard, its takes and its films.")
        return _("Your team sees this storyboard, its takes and its films again.")

    return _run(request, board, change)


@login_required
@require_POST
def shot_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    board = board_or_404(request, pk)
    post = request.POST
    prompt = post.get("prompt", "").strip()

    def add() -> str:
        _check_prompt(prompt)
        start = _choice(post.get("start", Shot.Start.TEXT), Shot.Start.values)
        start_image = None
        if start == Shot.Start.IMAGE:
            start_image = _image(request, "start")
        services.add_shot(
            owner=request.user,
            board=board,
            prompt=prompt,
            duration=_duration(post.get("duration")),
            start=start,
            start_image=start_image,
            end_image=_image(request, "end", required=False),
        )
        return _("Shot added.")

    return _run(request, board, add)


def _check_prompt(prompt: str) -> None:
    if not contract.PROMPT_MIN <= len(prompt.strip()) <= contract.PROMPT_MAX:
        raise Refused(
            _("Write a prompt of %(min)d to %(max)d characters.")
            % {"min": contract.PROMPT_MIN, "max": contract.PROMPT_MAX}
        )


def _duration(raw: str | None) -> int:
    if raw is None or not raw.isdecimal() or int(raw) not in contract.DURATIONS:
        raise Refused(_("Choose one of the offered durations."))
    return int(raw)


def _image(request: AuthedHttpRequest, slot: str, *, required: bool = True) -> Any:
    from generations import images

    upload = request.FILES.get(f"{slot}_image")
    url = request.POST.get(f"{slot}_image_url", "").strip()
    position = 0 if slot == "start" else 1
    try:
        if upload:
            return images.store_upload(upload, owner=request.user, position=position)
        if url:
            return images.image_from_url(url, owner=request.user, position=position)
    except images.ImageRejected as exc:
        raise Refused(exc.message) from None
    if required:
        raise Refused(_("Give a start image: a file or an https address."))
    return None


@login_required
@require_POST
def shot_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shot = shot_or_404(request, pk)
    post = request.POST

    def edit() -> str:
        prompt = post.get("prompt")
        if prompt is not None:
            _check_prompt(prompt)
        fade = post.get("crossfade_seconds")
        try:
            seconds = float(fade) if fade else None
        except ValueError:
            raise Refused(_("Give the crossfade in seconds, like 0.5.")) from None
        services.update_shot(
            owner=request.user,
            shot=shot,
            prompt=prompt,
            duration=_duration(post["duration"]) if "duration" in post else None,
            cut=post.get("cut"),
            crossfade_seconds=seconds,
        )
        return _("Saved.")

    return _run(request, shot.board, edit)


@login_required
@require_POST
def shot_move(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shot = shot_or_404(request, pk)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponseBadRequest("direction must be up or down")
    return _run(
        request,
        shot.board,
        lambda: services.move_shot(owner=request.user, shot=shot, offset=offset),
    )


@login_required
@require_POST
def shots_reorder(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    board = board_or_404(request, pk)
    raw = request.POST.getlist("shot")
    if not raw or not all(forms.is_id(value) for value in raw):
        return HttpResponseBadRequest("shot must list shot ids")
    ids = [int(value) for value in raw]
    return _run(
        request,
        board,
        lambda: services.reorder_shots(owner=request.user, board=board, shot_ids=ids),
    )


@login_required
@require_POST
def shot_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shot = shot_or_404(request, pk)

    def delete() -> str:
        services.delete_shot(owner=request.user, shot=shot)
        return _("Removed.")

    return _run(request, shot.board, delete)


@login_required
@require_POST
def take_choose(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shot = shot_or_404(request, pk)
    raw = request.POST.get("take", "")
    if not forms.is_id(raw):
        return HttpResponseBadRequest("take must be a task id")
    return _run(
        request,
        shot.board,
        lambda: (
            services.choose_take(owner=request.user, shot=shot, take_id=int(raw))
            and _("Take chosen.")
        ),
    )


@login_required
@require_POST
def shot_new_take(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shot = shot_or_404(request, pk)
    redo = request.POST.get("redo_following") == "1"
    return _run(
        request,
        shot.board,
        lambda: (
            services.new_take(owner=request.user, shot=shot, redo_following=redo)
            and _("New take asked for.")
        ),
    )


@login_required
@require_POST
def board_generate(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    board = board_or_404(request, pk)

    def generate() -> str:
        count = services.generate_all(owner=request.user, board=board)
        board.refresh_from_db()
        if board.state == Storyboard.State.PAUSED:
            return board.pause_text
        return _("%(count)d shots asked for.") % {"count": count}

    return _run(request, board, generate)


@login_required
@require_POST
def film_make(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    board = board_or_404(request, pk)
    return _run(
        request,
        board,
        lambda: (
            services.make_film(owner=request.user, board=board)
            and _("The film is being made.")
        ),
    )


@login_required
@require_POST
def film_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    film = _on_visible_board_or_404(Film, request, pk)

    def delete() -> str:
        services.delete_film(owner=request.user, film=film)
        return _("Film deleted.")

    return _run(request, film.board, delete)


@login_required
@require_POST
def video_continue(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Continue from a video (its last frame, or ``at`` seconds: Use this frame):
    the Studio form opens in image-to-video mode with that frame as start."""
    task = visible_video_task_or_404(request, pk)
    raw = request.POST.get("at", "")
    at: float | None = None
    if raw:
        try:
            at = float(raw)
        except ValueError:
            at = math.nan
        if not math.isfinite(at) or at < 0:
            return HttpResponseBadRequest("at must be a number of seconds")
    try:
        image = frames.store_frame(task.video, owner=request.user, at=at)
    except frames.FrameUnavailable:
        messages.error(request, _("This video's frame could not be read."))
        return redirect("video_detail", task.pk)
    query = {
        "mode": Mode.IMAGE,
        "aspect_ratio": task.aspect_ratio,
        "resolution": task.resolution,
        "start_image_ref": forms.sign_image_ref(image),
    }
    return redirect(f"{reverse('dashboard')}?{urlencode(query)}")
