"""Submitting a queued task to the provider, without ever paying twice.

The ``submitting`` state is committed before the POST. Only an answer that proves
the request never created a task (connection refused, 429, a 4xx rejection) sends
the task back to the queue or fails it; anything else that leaves us without a
taskId (timeout after sending, 5xx, a dropped connection, a worker killed mid-call)
makes the outcome "unknown", which is resolved by ``generations.pipeline.unknown``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from generations.apixo.client import ProviderError
from generations.models import Delivery, GenerationTask, Mode, State
from generations.models.tasks import transition
from generations.params import GenerationParams
from generations.pipeline import schedule
from generations.pipeline.common import (
    fail_task,
    get_client,
    in_seconds,
    lease_deadline,
    new_callback_token,
    note_provider_error,
    release_lease,
)

log = logging.getLogger(__name__)

# A task sent back to the queue this often (429 storms, provider unreachable) stays
# queued with growing backoff; it is never failed for the provider's unavailability.
MAX_BACKOFF_ATTEMPT = 8
# How long a worker keeps retrying to record an accepted submission while the
# database is unreachable (a restart or failover), and the pause between tries.
RECORD_RETRY_SECONDS = 30.0
RECORD_RETRY_PAUSE = 0.5


def submit_task(task_id: int) -> None:
    now = timezone.now()
    if not transition(
        task_id,
        State.QUEUED,
        State.SUBMITTING,
        "Sending to the provider",
        submit_attempts=F("submit_attempts") + 1,
        submitted_at=now,
        lease_until=lease_deadline(),
    ):
        return
    task = _until_the_database_answers(
        lambda: GenerationTask.objects.get(pk=task_id), task_id
    )
    if task.provider_task_id:
        # A callback of an earlier attempt named the task: it is at the provider.
        _continue_with_learned_id(task_id, task.provider_task_id, "")
        return
    callback_url = None
    if task.delivery == Delivery.WEBHOOK:
        token, token_hash = new_callback_token()
        _until_the_database_answers(
            lambda: GenerationTask.objects.filter(pk=task_id).update(
                callback_token_hash=token_hash
            ),
            task_id,
        )
        callback_url = settings.PUBLIC_BASE_URL + reverse(
            "apixo_callback", args=[task_id, token]
        )
    payload = GenerationParams.from_task(task).provider_input()
    if task.mode == Mode.IMAGE:
        payload["image_urls"] = _image_urls(task)
    try:
        provider_id = get_client().create_task(
            input=payload, provider=task.routing, callback_url=callback_url
        )
    except ProviderError as exc:
        _handle_submit_error(task, exc)
        return
    accepted_at = timezone.now()

    def record() -> None:
        if not transition(
            task_id,
            State.SUBMITTING,
            State.WAITING,
            f"Accepted by the provider as {provider_id}",
            provider_task_id=provider_id,
            image_urls=payload.get("image_urls", []),
            next_action_at=schedule.next_poll_for(task, now, accepted_at),
            lease_until=None,
            last_error="",
        ):
            # The sweeper declared us dead meanwhile; keep the id so it can be
            # resolved.
            GenerationTask.objects.filter(pk=task_id, provider_task_id=None).update(
                provider_task_id=provider_id
            )

    _until_the_database_answers(record, task_id)


def _until_the_database_answers[T](step: Callable[[], T], task_id: int) -> T:
    """A database step of a submission in flight, retried while the database is
    unreachable (a restart or failover of a few seconds).

    Once ``submitting`` is committed, a step that fails for the database alone
    would strand the task: the sweeper would make it unknown and then fail it as
    unconfirmed, though before the POST nothing was sent, and after it the
    provider has accepted (and will charge for) the task. So the step, and the
    provider's taskId kept in memory, are tried again for up to
    ``RECORD_RETRY_SECONDS``; the sweeper's compare-and-set keeps a late write
    harmless.
    """
    deadline = time.monotonic() + RECORD_RETRY_SECONDS
    while True:
        try:
            return step()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() > deadline:
                raise
            log.warning(
                "task %s: database unreachable (%s); retrying the submission's "
                "database step",
                task_id,
                type(exc).__name__,
            )
            connection.close()  # the next query opens a fresh connection
            time.sleep(RECORD_RETRY_PAUSE)


def _image_urls(task: GenerationTask) -> list[str]:
    from generations.images import signed_url_for

    return [signed_url_for(image) for image in task.images.order_by("position")]


def _continue_with_learned_id(task_id: int, provider_id: str, error: str) -> bool:
    return transition(
        task_id,
        State.SUBMITTING,
        State.WAITING,
        f"Provider task id learned from its callback: {provider_id}",
        next_action_at=timezone.now(),
        lease_until=None,
        last_error=error,
    )


def _learned_id(task_id: int) -> str | None:
    """The provider's id, if a callback taught it while we waited for our answer."""
    return (
        GenerationTask.objects.filter(pk=task_id)
        .values_list("provider_task_id", flat=True)
        .first()
    )


def _handle_submit_error(task: GenerationTask, exc: ProviderError) -> None:
    message = str(exc)
    log.warning("submit of task %s failed: %s", task.pk, message)
    note_provider_error(exc)
    learned = _learned_id(task.pk)
    if learned and _continue_with_learned_id(task.pk, learned, message):
        # Only our POST carried the callback token: the provider has the task,
        # whatever the answer said. Never sent again, never failed here.
        return
    if not exc.maybe_sent and exc.retryable:
        attempt = min(task.submit_attempts, MAX_BACKOFF_ATTEMPT)
        delay = schedule.backoff_seconds(attempt, exc.retry_after)
        transition(
            task.pk,
            State.SUBMITTING,
            State.QUEUED,
            f"Not sent ({exc.kind}); retrying in {delay:.0f} s",
            next_action_at=in_seconds(delay),
            lease_until=None,
            last_error=message,
        )
        return
    if not exc.maybe_sent:
        fail_task(
            task.pk,
            State.SUBMITTING,
            f"Rejected by the provider: {message}",
            fail_code=exc.kind.upper(),
            fail_message=message,
            release_reason="Rejected by the provider",
            last_error=message,
        )
        return
    transition(
        task.pk,
        State.SUBMITTING,
        State.UNKNOWN,
        f"No clear answer to the submission: {message}",
        next_action_at=timezone.now(),
        lease_until=None,
        last_error=message,
    )
    release_lease(task.pk)
