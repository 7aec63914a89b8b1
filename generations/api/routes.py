"""The operations of /api/v1/: thin adapters over the pages' services and rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db.models import F
from django.db.models.lookups import LessThan
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.urls import reverse
from ninja import Form, NinjaAPI, UploadedFile
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.params import functions as param_functions

from generations import credits, services
from generations.api import auth, idempotency, problems
from generations.api.problems import Problem
from generations.api.schemas import (
    ERRORS,
    CreatedOut,
    EstimateOut,
    GenerationIn,
    ProblemOut,
    TaskOut,
    TaskPage,
)
from generations.forms import GenerationForm
from generations.forms.gallery import GalleryFilterForm
from generations.models import (
    GenerationTask,
    InputImage,
    State,
)
from generations.models.api import Scope
from generations.views.gallery import gallery_queryset
from generations.views.media import ranged_file_response

api = NinjaAPI(
    title="Seedance Studio API",
    version="1",
    urls_namespace="api",
    auth=[auth.TokenAuth(), auth.SessionCaller()],
    docs_url="/docs",
)

PAGE_MAX = 100
# ninja's marker for an optional multipart file part.
OPTIONAL_FILE: Any = param_functions.File(None)


# ---------- Errors: every refusal is a problem document ----------


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problems.from_problem(exc)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problems.problem_response(
        401, "Send a personal access token as 'Authorization: Bearer …'."
    )


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"loc": [str(p) for p in e.get("loc", [])], "msg": str(e.get("msg", ""))}
        for e in exc.errors
    ]
    return problems.problem_response(
        422, "The request does not match the schema.", errors=errors
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problems.problem_response(exc.status_code, str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problems.problem_response(404, "No such object (or not yours to see).")


def task_out(task: GenerationTask) -> dict[str, Any]:
    done = task.state == State.SUCCEEDED and hasattr(task, "video")
    return {
        "id": task.pk,
        "state": task.state,
        **{name: getattr(task, name) for name in services.GenerationParams.names()},
        "cost": task.cost,
        "batch": str(task.batch) if task.batch else None,
        "created_at": task.created_at,
        "finished_at": task.finished_at,
        "fail_code": task.fail_code or None,
        "fail_reason": task.fail_reason if task.fail_code else None,
        "video_url": reverse("api:task_video", args=[task.pk]) if done else None,
    }


def json_safe(value: dict[str, Any]) -> dict[str, Any]:
    """Datetimes as ISO strings all the way down, as the stored idempotent answer
    keeps them."""
    return {k: _json_value(v) for k, v in value.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json_safe(value)
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value


def form_data(payload: GenerationIn) -> dict[str, Any]:
    """The create form's fields from JSON (a checkbox is present when on)."""
    data: dict[str, Any] = payload.dict()
    for name in services.GenerationParams.yes_no_names():
        if not data.pop(name):
            continue
        data[name] = "on"
    return data


def _valid_form(
    user: User, payload: GenerationIn, files: dict[str, Any] | None = None
) -> GenerationForm:
    query = QueryDict(mutable=True)
    for name, value in form_data(payload).items():
        if isinstance(value, list):
            query.setlist(name, [str(v) for v in value])
        else:
            query[name] = str(value)
    form = GenerationForm(query, files or {}, owner=user)
    if not form.is_valid():
        errors = [
            {"loc": ["body", field], "msg": str(e["message"])}
            for field, items in form.errors.get_json_data().items()
            for e in items
        ]
        raise Problem(422, "The parameters were refused.", errors=errors)
    return form


def _refusal(exc: credits.CreditsRefused) -> Problem:
    return Problem(402, str(exc))


def _created(user: User, created: list[GenerationTask]) -> idempotency.Answer:
    """The answer of a spending create: the new tasks, their cost, the balance."""
    return 201, json_safe(
        {
            "tasks": [task_out(t) for t in created],
            "cost": sum(t.cost for t in created),
            "balance": credits.account_for(user).balance,
        }
    )


def _cursor(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise Problem(422, "The cursor is not one this API gave out.")
    return int(value)


# ---------- Operations ----------


@api.post(
    "/estimate",
    response={200: EstimateOut, **ERRORS},
    summary="Estimate the cost of a generation (nothing is spent)",
)
def estimate(request: HttpRequest, payload: GenerationIn) -> dict[str, Any]:
    user = auth.require(request, Scope.READ)
    form = _valid_form(user, payload)
    variants = form.variants()
    cost = sum(v.cost() for v in variants)
    balance = credits.account_for(user).balance
    return {
        "variants": len(variants),
        "cost": cost,
        "balance": balance,
        "balance_after": balance - cost,
    }


@api.post(
    "/generations",
    response={201: CreatedOut, 402: ProblemOut, **ERRORS},
    summary="Create generations (one per variant); send an Idempotency-Key",
)
def create_generations(request: HttpRequest, payload: GenerationIn) -> HttpResponse:
    user = auth.require(request, Scope.GENERATE)
    return _create(request, user, payload, {}, payload.dict())


@api.post(
    "/generations/upload",
    response={201: CreatedOut, 402: ProblemOut, **ERRORS},
    summary="Create generations with uploaded frames (multipart/form-data)",
)
def create_generations_upload(
    request: HttpRequest,
    payload: Form[GenerationIn],
    start_image: UploadedFile | None = OPTIONAL_FILE,
    end_image: UploadedFile | None = OPTIONAL_FILE,
) -> HttpResponse:
    user = auth.require(request, Scope.GENERATE)
    files = {
        name: upload
        for name, upload in (("start_image", start_image), ("end_image", end_image))
        if upload is not None
    }
    fingerprint = {name: _digest(upload) for name, upload in files.items()}
    return _create(request, user, payload, files, [payload.dict(), fingerprint])


def _digest(upload: UploadedFile) -> str:
    import hashlib

    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _create(
    request: HttpRequest,
    user: User,
    payload: GenerationIn,
    files: dict[str, Any],
    fingerprint: Any,
) -> HttpResponse:
    """The Studio's create path: the form judges, the service holds and queues."""

    def produce() -> idempotency.Answer:
        form = _valid_form(user, payload, files)
        stored = form.store_images(user)
        try:
            created = services.create_generations(
                owner=user, variants=form.variants(), images=stored
            )
        except credits.CreditsRefused as exc:
            raise _refusal(exc) from None
        # The per-task copies point at the stored files; the drafts can go.
        InputImage.objects.filter(pk__in=[i.pk for i in stored], task=None).delete()
        return _created(user, created)

    return idempotency.run_idempotent(
        request,
        owner=user,
        route="generations",
        payload=fingerprint,
        produce=produce,
    )


@api.get("/tasks", response={200: TaskPage, **ERRORS}, summary="List your tasks")
def list_tasks(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = 20,
    state: str | None = None,
    batch: str | None = None,
) -> dict[str, Any]:
    """Your task list (newest first), as the Studio shows it."""
    user = auth.require(request, Scope.READ)
    tasks = GenerationTask.objects.in_task_list_of(user).select_related("video")
    if state:
        if state not in State.values:
            raise Problem(422, f"Unknown state {state!r}.")
        tasks = tasks.filter(state=state)
    if batch:
        tasks = (
            tasks.filter(batch__startswith=batch[:36])
            if _is_uuid(batch)
            else tasks.none()
        )
    return cursor_page(tasks, cursor, limit)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@api.get("/videos", response={200: TaskPage, **ERRORS}, summary="Gallery videos")
def list_videos(
    request: HttpRequest, cursor: str | None = None, limit: int = 20
) -> dict[str, Any]:
    """The gallery with its filters and search (q, owner, mode, resolution,
    aspect_ratio, duration, sound, since, until, favourites), newest first."""
    user = auth.require(request, Scope.READ)
    filters = GalleryFilterForm(request.GET).filters()
    return cursor_page(gallery_queryset(user, filters), cursor, limit, key="newest")


def cursor_page(
    rows: Any,
    cursor: str | None,
    limit: int,
    out: Callable[[Any], dict[str, Any]] | None = None,
    key: str = "pk",
) -> dict[str, Any]:
    """Newest first; the cursor is the last id of the previous page. ``key`` names
    the field or alias holding the id to order by (the gallery's ``newest``)."""
    limit = max(1, min(limit, PAGE_MAX))
    before = _cursor(cursor)
    if before is not None:
        rows = rows.filter(LessThan(F(key), before))
    page = list(rows.order_by(F(key).desc())[: limit + 1])
    more, page = len(page) > limit, page[:limit]
    return {
        "items": [(out or task_out)(row) for row in page],
        "next_cursor": str(page[-1].pk) if more else None,
    }


def _visible_task(user: User, task_id: int) -> GenerationTask:
    task = (
        GenerationTask.objects.visible_to(user)
        .select_related("video")
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise Http404
    return task


def _own_task(user: User, task_id: int) -> GenerationTask:
    task = GenerationTask.objects.filter(pk=task_id, owner_id=user.pk).first()
    if task is None:
        raise Http404
    return task


@api.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, summary="One task")
def get_task(request: HttpRequest, task_id: int) -> dict[str, Any]:
    user = auth.require(request, Scope.READ)
    return task_out(_visible_task(user, task_id))


@api.post(
    "/tasks/{task_id}/cancel",
    response={200: TaskOut, **ERRORS},
    summary="Cancel a task still queued here (its hold is released)",
)
def cancel_task(request: HttpRequest, task_id: int) -> dict[str, Any]:
    user = auth.require(request, Scope.GENERATE)
    task = _own_task(user, task_id)
    if not services.cancel_task(task):
        raise Problem(409, "Only a task still queued here can be cancelled.")
    task.refresh_from_db()
    return task_out(task)


@api.post(
    "/tasks/{task_id}/retry",
    response={201: CreatedOut, 402: ProblemOut, **ERRORS},
    summary="A new task with the same parameters; send an Idempotency-Key",
)
def retry_task(request: HttpRequest, task_id: int) -> HttpResponse:
    user = auth.require(request, Scope.GENERATE)
    task = _own_task(user, task_id)

    def produce() -> idempotency.Answer:
        try:
            new_task = services.retry_task(task)
        except credits.CreditsRefused as exc:
            raise _refusal(exc) from None
        return _created(user, [new_task])

    return idempotency.run_idempotent(
        request,
        owner=user,
        route=f"retry:{task_id}",
        payload={},
        produce=produce,
    )


@api.get(
    "/tasks/{task_id}/video",
    response={200: None, 206: None, **ERRORS},
    url_name="task_video",
    summary="Download the video (Range supported)",
)
def task_video(request: HttpRequest, task_id: int) -> HttpResponseBase:
    user = auth.require(request, Scope.READ)
    task = (
        GenerationTask.objects.visible_to(user)
        .finished_videos()
        .filter(pk=task_id)
        .select_related("video")
        .first()
    )
    if task is None:
        raise Http404
    return ranged_file_response(
        request,
        task.video.file.name,
        "video/mp4",
        download_name=f"seedance-{task.pk}.mp4",
    )


# The account's operations register on ``api`` too (balance, ledger, links,
# collections, storyboards and films); imported last, once everything they use
# here exists.
from generations.api import account, boards  # noqa: E402, F401
