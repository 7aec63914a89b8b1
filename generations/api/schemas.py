"""The JSON shapes of /api/v1/ (OpenAPI is generated from these)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from generations import images, services, sharing
from generations.apixo import contract


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
