"""Resolving submissions whose outcome we do not know.

Policy (see README.md, "Decisions"): a task in ``unknown`` is never re-sent by us.
- If its provider task id becomes known (a late callback names our task), it goes
  back to ``waiting`` and is polled like any other.
- If the submission carried a callback URL, we wait for the provider's callback
  for as long as the provider may still deliver one (longest generation plus the
  three documented webhook retries).
- Otherwise, or once that window has passed, nothing can tell us more: the task is
  failed as SUBMISSION_UNCONFIRMED and its hold released, so the member is not
  charged for a video they will never see. Staff see these tasks and may resubmit.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from generations.apixo import contract
from generations.models import FailCode, GenerationTask, State
from generations.models.tasks import transition
from generations.pipeline import schedule
from generations.pipeline.common import fail_task, release_lease


def callback_window() -> dt.timedelta:
    longest = max(high for _, high in contract.GENERATION_SECONDS.values())
    seconds = longest + sum(contract.WEBHOOK_RETRY_DELAYS) + 60
    return dt.timedelta(seconds=seconds / schedule.time_scale())


def resolve_unknown(task_id: int) -> None:
    task = GenerationTask.objects.filter(pk=task_id, state=State.UNKNOWN).first()
    if task is None:
        release_lease(task_id)
        return
    now = timezone.now()
    if task.provider_task_id:
        transition(
            task_id,
            State.UNKNOWN,
            State.WAITING,
            f"Provider task id learned: {task.provider_task_id}",
            next_action_at=now,
            lease_until=None,
        )
        return
    sent_at = task.submitted_at or task.created_at
    deadline = sent_at + callback_window()
    if task.callback_token_hash and now < deadline:
        release_lease(task_id, next_action_at=deadline)
        return
    fail_task(
        task_id,
        State.UNKNOWN,
        "Outcome of the submission could not be confirmed",
        fail_code=FailCode.SUBMISSION_UNCONFIRMED,
        # The code's own sentence says it all (FailCode's label); a message
        # restating it was shown twice on the card.
        fail_message="",
        release_reason="Submission could not be confirmed",
    )
