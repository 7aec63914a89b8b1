"""Reading a task's state at the provider: the only source of truth.

Only a provider terminal state (or, later, an unobtainable result) ends a task that
reached the provider. Errors of the status read itself never fail a task: they are
stored for staff and the read is rescheduled with backoff.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import F
from django.utils import timezone

from generations.apixo import contract
from generations.apixo.client import NotFound, ProviderError, TaskStatus
from generations.models import POLLED_STATES, FailCode, GenerationTask, State
from generations.models.tasks import transition
from generations.pipeline import schedule
from generations.pipeline.common import (
    fail_task,
    get_client,
    in_seconds,
    ms_to_datetime,
    note_provider_error,
    release_lease,
)

log = logging.getLogger(__name__)

# A provider that keeps saying "no such task" for this long, after accepting it,
# has lost it: the member gets their credits back.
NOT_FOUND_GIVE_UP_SECONDS = 30 * 60


def poll_task(task_id: int) -> None:
    task = GenerationTask.objects.filter(pk=task_id, state__in=POLLED_STATES).first()
    if task is None or not task.provider_task_id:
        release_lease(task_id)
        return
    GenerationTask.objects.filter(pk=task_id).update(poll_count=F("poll_count") + 1)
    try:
        status = get_client().get_status(task.provider_task_id)
    except NotFound as exc:
        _handle_not_found(task, exc)
        return
    except ProviderError as exc:
        log.warning("status read of task %s failed: %s", task_id, exc)
        note_provider_error(exc)
        delay = schedule.backoff_seconds(task.poll_count % 6, exc.retry_after)
        release_lease(task_id, next_action_at=in_seconds(delay), last_error=str(exc))
        return
    apply_status(task, status)


def apply_status(task: GenerationTask, status: TaskStatus) -> None:
    """Move the task to what the provider says; reschedule if still running."""
    now = timezone.now()
    times = {
        "provider_created_at": ms_to_datetime(status.create_time_ms),
        "provider_completed_at": ms_to_datetime(status.complete_time_ms),
        "provider_cost_ms": status.cost_time_ms,
    }
    fields: dict[str, Any] = {k: v for k, v in times.items() if v is not None}
    # What the provider said, verbatim: staff see an undocumented state as
    # "provider says: queued", not as an error.
    fields["provider_state"] = status.state
    if status.state == contract.SUCCESS:
        transition(
            task.pk,
            POLLED_STATES,
            State.DOWNLOADING,
            "The provider finished the video",
            result_urls=status.result_urls,
            next_action_at=now,
            lease_until=None,
            last_error="",
            **fields,
        )
        return
    if status.state == contract.FAILED:
        reason = f"The provider failed the task: {status.fail_code or 'no code'}"
        fail_task(
            task.pk,
            POLLED_STATES,
            reason,
            fail_code=status.fail_code or FailCode.UNKNOWN_FAILURE,
            fail_message=status.fail_message,
            release_reason="The provider failed the task",
            last_error="",
            **fields,
        )
        return
    if not status.is_documented:
        log.info("task %s: provider says %r", task.pk, status.state)
    next_at = schedule.next_poll_for(task, task.submitted_at, now)
    if status.state == contract.PROCESSING and task.state == State.WAITING:
        transition(
            task.pk,
            State.WAITING,
            State.GENERATING,
            "The provider started generating",
            next_action_at=next_at,
            lease_until=None,
            last_error="",
            **fields,
        )
        return
    # Conditional: a late answer must not touch a task that finished meanwhile.
    GenerationTask.objects.filter(pk=task.pk, state__in=POLLED_STATES).update(
        lease_until=None,
        updated_at=now,
        next_action_at=next_at,
        last_error="",
        **fields,
    )


def _handle_not_found(task: GenerationTask, exc: ProviderError) -> None:
    since = task.submitted_at or task.created_at
    if (timezone.now() - since).total_seconds() > NOT_FOUND_GIVE_UP_SECONDS:
        fail_task(
            task.pk,
            POLLED_STATES,
            "The provider no longer knows this task",
            fail_code=FailCode.TASK_NOT_FOUND,
            fail_message=str(exc),
            release_reason="The provider lost the task",
        )
        return
    delay = schedule.backoff_seconds(task.poll_count % 6)
    release_lease(task.pk, next_action_at=in_seconds(delay), last_error=str(exc))
