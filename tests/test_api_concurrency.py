"""Idempotency under real concurrency: one key, many identical requests at once.

Runs on SQLite and on PostgreSQL alike:
``DATABASE_URL=postgres://... pytest tests/test_api_concurrency.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from generations.api import tokens
from generations.models import GenerationTask, IdempotencyKey, LedgerEntry
from tests.factories import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

REQUESTS = 50
BODY = {
    "prompt": "a lighthouse in a storm, slow push in",
    "resolution": "480p",
    "duration": 4,
    "sound": False,
}


def test_it_makes_one_task_and_one_hold_for_fifty_identical_requests(
    alice: Any, settings: Any
) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 1000
    secret = tokens.create_token(
        owner=alice, name="ci", scopes=["generate"], expires_in_days=1
    ).secret

    def submit(_index: int) -> tuple[int, list[int]]:
        response = Client().post(
            "/api/v1/generations",
            data=json.dumps(BODY),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
            HTTP_IDEMPOTENCY_KEY="nightly-2026-11-30",
        )
        data = response.json()
        return response.status_code, [t["id"] for t in data.get("tasks", [])]

    results = run_in_threads(REQUESTS, submit)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors
    assert {status for status, _ids in results} == {201}
    assert len({tuple(ids) for _status, ids in results}) == 1
    assert GenerationTask.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="hold").count() == 1
    assert IdempotencyKey.objects.count() == 1
