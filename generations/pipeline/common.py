"""Small helpers shared by the pipeline steps."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from generations import credits
from generations.apixo.client import ApixoClient, ProviderError, client_from_settings
from generations.models import GenerationTask, State
from generations.models.tasks import transition

_client: ApixoClient | None = None


def get_client() -> ApixoClient:
    """One client (and connection pool) per worker process."""
    global _client
    if _client is None:
        from generations.ops.watch import observe_provider_call
        from generations.pipeline.ratelimit import limiter_from_settings

        _client = client_from_settings(
            before_request=limiter_from_settings().acquire,
            after_request=observe_provider_call,
        )
    return _client


def reset_client() -> None:
    global _client
    _client = None


def release_lease(task_id: int, **fields: Any) -> None:
    """Give the row back to the dispatcher, optionally with its next due time."""
    GenerationTask.objects.filter(pk=task_id).update(
        lease_until=None, updated_at=timezone.now(), **fields
    )


def in_seconds(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def lease_deadline() -> dt.datetime:
    return in_seconds(settings.LEASE_SECONDS)


def new_callback_token() -> tuple[str, str]:
    """A 256-bit token for the callback URL and the hash we keep of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ms_to_datetime(value: int | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def note_provider_error(exc: ProviderError) -> None:
    """A 429 from the provider itself pauses every process for its Retry-After."""
    if exc.status == 429:
        from generations.pipeline.ratelimit import pause_all

        pause_all(exc.retry_after if exc.retry_after is not None else 5.0)


def fail_task(
    task_id: int,
    from_states: State | frozenset[State] | set[State],
    reason: str,
    *,
    fail_code: str,
    fail_message: str,
    release_reason: str,
    **fields: Any,
) -> bool:
    """Fail the task and give its credits back, in one transaction.

    A worker killed between the two would otherwise leave a finished task with
    its credits still held.
    """
    with transaction.atomic():
        if not transition(
            task_id,
            from_states,
            State.FAILED,
            reason,
            fail_code=fail_code,
            fail_message=fail_message,
            **fields,
        ):
            return False
        credits.release_for_task(task_id, release_reason)
    return True
