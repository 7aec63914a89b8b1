"""The operations of /api/v1/: thin adapters over the pages' services and rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from ninja import Form, NinjaAPI, Schema, UploadedFile
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.params import functions as param_functions
from pydantic import Field

from generations import credits, images, services, sharing
from generations.api import auth, idempotency, problems
from generations.api.problems import Problem
from generations.apixo import contract
from generations.forms import GenerationForm
from generations.forms.gallery import GalleryFilterForm
from generations.models import (
    GenerationTask,
    InputImage,
    LedgerEntry,
    ShareLink,
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


# ---------- Schemas ----------


class ProblemOut(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


ERRORS: dict[int, type[Schema]] = dict.fromkeys(
    (401, 403, 404, 409, 422, 429), ProblemOut
)


DEFAULTS: dict[str, Any] = {
    f.name: f.default
    for f in dataclasses.fields(services.GenerationParams)
    if f.default is not dataclasses.MISSING
}


class GenerationIn(Schema):
    """The create form's fields; defaults are GenerationParams' own."""

    prompt: str = Field(max_length=contract.PROMPT_MAX)
    mode: str = DEFAULTS["mode"]
    resolution: str = DEFAULTS["resolution"]
    duration: int = DEFAULTS["duration"]
    sound: bool = DEFAULTS["sound"]
    aspect_ratio: str = DEFAULTS["aspect_ratio"]
    fixed_lens: bool = DEFAULTS["fixed_lens"]
    routing: str = DEFAULTS["routing"]
    delivery: str = DEFAULTS["delivery"]
    start_image_url: str = Field("", max_length=images.URL_MAX_LENGTH)
    end_image_url: str = Field("", max_length=images.URL_MAX_LENGTH)
    # Batch variants: one task per (aspect ratio, duration) combination.
    extra_aspect_ratios: list[str] = Field(default_factory=list, max_length=10)
    extra_durations: list[int] = Field(default_factory=list, max_length=10)


class TaskOut(Schema):
    id: int
    state: str
    mode: str
    prompt: str
    resolution: str
    duration: int
    sound: bool
    aspect_ratio: str
    fixed_lens: bool
    routing: str
    delivery: str
    cost: int
    batch: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    fail_code: str | None
    fail_reason: str | None
    video_url: str | None


class TaskPage(Schema):
    items: list[TaskOut]
    next_cursor: str | None


class CreatedOut(Schema):
    tasks: list[TaskOut]
    cost: int
    balance: int


class EstimateOut(Schema):
    variants: int
    cost: int
    balance: int
    balance_after: int


class BalanceOut(Schema):
    balance: int


class LedgerEntryOut(Schema):
    id: int
    kind: str
    amount: int
    task_id: int | None
    reason: str
    created_at: dt.datetime


class LedgerPage(Schema):
    items: list[LedgerEntryOut]
    next_cursor: str | None


class LinkIn(Schema):
    task_id: int | None = None
    collection_id: int | None = None
    expiry: str = sharing.DEFAULT_EXPIRY
    show_prompt: bool = False
    show_owner: bool = False


class LinkOut(Schema):
    id: int
    task_id: int | None
    collection_id: int | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    url: str | None = None


class CollectionOut(Schema):
    id: int
    title: str
    description: str
    created_at: dt.datetime
    task_ids: list[int]


# ---------- Adapters ----------


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


def _json(value: dict[str, Any]) -> dict[str, Any]:
    """Datetimes as ISO strings, as the stored idempotent answer keeps them."""
    return {
        k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in value.items()
    }


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
    from django.http import QueryDict

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
        return 201, {
            "tasks": [_json(task_out(t)) for t in created],
            "cost": sum(t.cost for t in created),
            "balance": credits.account_for(user).balance,
        }

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
    return _page(tasks, cursor, limit)


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
    return _page(gallery_queryset(user, filters), cursor, limit)


def _page(
    rows: Any,
    cursor: str | None,
    limit: int,
    out: Callable[[Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Newest first; the cursor is the last id of the previous page."""
    limit = max(1, min(limit, PAGE_MAX))
    before = _cursor(cursor)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    page = list(rows.order_by("-pk")[: limit + 1])
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
        return 201, {
            "tasks": [_json(task_out(new_task))],
            "cost": new_task.cost,
            "balance": credits.account_for(user).balance,
        }

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


@api.get("/balance", response={200: BalanceOut, **ERRORS}, summary="Your balance")
def balance(request: HttpRequest) -> dict[str, Any]:
    user = auth.require(request, Scope.READ)
    return {"balance": credits.account_for(user).balance}


@api.get("/ledger", response={200: LedgerPage, **ERRORS}, summary="Your ledger")
def ledger(
    request: HttpRequest, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    user = auth.require(request, Scope.READ)
    rows = LedgerEntry.objects.filter(account__user=user)
    return _page(rows, cursor, limit, entry_out)


def entry_out(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "amount": entry.amount,
        "task_id": entry.task_id,
        "reason": entry.reason,
        "created_at": entry.created_at,
    }


def link_out(link: ShareLink, token: str | None = None) -> dict[str, Any]:
    video = link.video
    return {
        "id": link.pk,
        "task_id": video.task_id if video is not None else None,
        "collection_id": link.collection_id,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "url": settings.PUBLIC_BASE_URL.rstrip("/") + f"/s/{token}/" if token else None,
    }


@api.get("/links", response={200: list[LinkOut], **ERRORS}, summary="Your links")
def list_links(request: HttpRequest) -> list[dict[str, Any]]:
    """Links you may revoke: yours, and teammates' links showing your videos."""
    user = auth.require(request, Scope.READ)
    links = sharing.revocable_links(user).select_related("video").order_by("-pk")
    return [link_out(link) for link in links[:200]]


@api.post(
    "/links",
    response={201: LinkOut, **ERRORS},
    summary="Share a video or a collection; the URL is shown once",
)
def create_link(request: HttpRequest, payload: LinkIn) -> HttpResponse:
    user = auth.require(request, Scope.SHARE)

    def produce() -> idempotency.Answer:
        if payload.expiry not in sharing.EXPIRY_PRESETS:
            raise Problem(422, "Unknown expiry.")
        video = collection = None
        if (payload.task_id is None) == (payload.collection_id is None):
            raise Problem(422, "Name exactly one of task_id and collection_id.")
        if payload.task_id is not None:
            video = sharing.shareable_video_for_task(user, payload.task_id)
            if video is None:
                raise Problem(404, "No such video you may share.")
        else:
            collection = user.collections.filter(pk=payload.collection_id or 0).first()
            if collection is None:
                raise Problem(404, "No such collection of yours.")
        new = sharing.create_link(
            owner=user,
            video=video,
            collection=collection,
            expiry=payload.expiry,
            show_prompt=payload.show_prompt,
            show_owner=payload.show_owner,
        )
        return 201, _json(link_out(new.link, new.token))

    return idempotency.run_idempotent(
        request, owner=user, route="links", payload=payload.dict(), produce=produce
    )


@api.post(
    "/links/{link_id}/revoke",
    response={204: None, **ERRORS},
    summary="Revoke a link at once",
)
def revoke_link(request: HttpRequest, link_id: int) -> HttpResponse:
    user = auth.require(request, Scope.SHARE)
    if not sharing.revocable_links(user).filter(pk=link_id).exists():
        raise Http404
    sharing.revoke_link(owner=user, link_id=link_id)
    return HttpResponse(status=204)


@api.get(
    "/collections",
    response={200: list[CollectionOut], **ERRORS},
    summary="Your collections and the videos they show",
)
def list_collections(request: HttpRequest) -> list[dict[str, Any]]:
    user = auth.require(request, Scope.READ)
    out = []
    for collection in user.collections.order_by("-pk")[:200]:
        items = sharing.available_items(collection).select_related("video")
        out.append(
            {
                "id": collection.pk,
                "title": collection.title,
                "description": collection.description,
                "created_at": collection.created_at,
                "task_ids": [item.video.task_id for item in items],
            }
        )
    return out
