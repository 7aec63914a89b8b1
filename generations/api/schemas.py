"""The JSON shapes of /api/v1/ (OpenAPI is generated from these)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db import models
from ninja import Schema
from pydantic import Field

from generations import images, services, sharing
from generations.apixo import contract
from generations.models import Shot, Storyboard
from generations.models.tasks import AspectRatio, Resolution, Routing


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


# ---------- Storyboards and films ----------


def _board_default(name: str) -> Any:
    field = Storyboard._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.default


class BoardIn(Schema):
    """A new board's settings: the model's choices and defaults."""

    title: str
    aspect_ratio: AspectRatio = AspectRatio(_board_default("aspect_ratio"))
    resolution: Resolution = Resolution(_board_default("resolution"))
    sound: bool = _board_default("sound")
    routing: Routing = Routing(_board_default("routing"))


class ShotIn(Schema):
    """A shot from its prompt (``text``) or continuing the previous one."""

    prompt: str = Field(min_length=contract.PROMPT_MIN, max_length=contract.PROMPT_MAX)
    duration: int = 8
    start: str = "text"


class FilmIn(Schema):
    """How the film enters each shot after the first; omitted: as the shots say."""

    cut: Shot.Cut | None = None
    crossfade_seconds: float | None = None


class ShotOut(Schema):
    id: int
    position: int
    prompt: str
    duration: int
    start: str
    cut: str
    crossfade_seconds: float
    wanted: bool
    note: str
    chosen_take_id: int | None
    take_state: str | None


class FilmOut(Schema):
    id: int
    board_id: int
    version: int
    state: str
    progress: float
    error: str
    task_id: int | None
    video_url: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class BoardEstimateOut(Schema):
    seconds: int
    cost_to_generate: int
    chosen_cost: int


class BoardSummaryOut(Schema):
    id: int
    title: str
    owner: str
    is_owner: bool
    state: str
    pause_message: str
    aspect_ratio: str
    resolution: str
    sound: bool
    routing: str
    created_at: dt.datetime
    updated_at: dt.datetime


class BoardOut(BoardSummaryOut):
    shots: list[ShotOut]
    estimate: BoardEstimateOut
    films: list[FilmOut]


class BoardPage(Schema):
    items: list[BoardSummaryOut]
    next_cursor: str | None


class GenerateAllOut(Schema):
    asked: int
    state: str
    pause_message: str
    balance: int
