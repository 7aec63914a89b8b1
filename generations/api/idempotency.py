"""Idempotency-Key: a retried spending or creating POST gets the first answer.

The key row, the work and the stored answer commit in one transaction. A twin
request with the same key waits on the key's unique index (PostgreSQL) or on the
write lock (SQLite, IMMEDIATE transactions) and then reads the stored answer: one
task, one hold, however many copies arrive at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from generations.api.problems import PROBLEM_TYPE, Problem, problem_body
from generations.models.api import IdempotencyKey

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255
# At least 24 h, as promised to API users; the schedule forgets older keys.
KEEP_FOR = dt.timedelta(hours=48)

Answer = tuple[int, dict[str, Any]]


def body_hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _respond(status: int, body: dict[str, Any], *, replayed: bool) -> HttpResponse:
    content_type = PROBLEM_TYPE if status >= 400 else "application/json"
    response = HttpResponse(json.dumps(body), status=status, content_type=content_type)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _run(produce: Callable[[], Answer]) -> Answer:
    try:
        return produce()
    except Problem as problem:
        if problem.status >= 500 or problem.status == 429:
            raise
        return problem.status, problem_body(
            problem.status, problem.detail, problem.errors
        )


def run_idempotent(
    request: HttpRequest,
    *,
    owner: User,
    route: str,
    payload: Any,
    produce: Callable[[], Answer],
) -> HttpResponse:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        status, body = _run(produce)
        return _respond(status, body, replayed=False)
    if len(key) > KEY_MAX_LENGTH:
        raise Problem(422, f"The {HEADER} is longer than {KEY_MAX_LENGTH} characters.")
    digest = body_hash(payload)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    owner=owner, key=key, route=route, body_hash=digest
                )
        except IntegrityError:
            return _replay(owner=owner, key=key, route=route, digest=digest)
        status, body = _run(produce)
        IdempotencyKey.objects.filter(pk=row.pk).update(status=status, response=body)
    return _respond(status, body, replayed=False)


def _replay(*, owner: User, key: str, route: str, digest: str) -> HttpResponse:
    row = IdempotencyKey.objects.filter(owner=owner, key=key, route=route).first()
    if row is None or row.status is None or row.response is None:
        raise Problem(
            409, "A request with this Idempotency-Key is in progress.", retry_after=1
        )
    if row.body_hash != digest:
        raise Problem(
            409, "This Idempotency-Key was used with a different request body."
        )
    return _respond(row.status, dict(row.response), replayed=True)


def forget_old_keys(now: dt.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
