"""Staff services on tasks: re-check, retry, release a hold, resubmit.

The admin's actions parse the selection, call one of these per task and report.
None writes a task's state by hand: they use the compare-and-set transitions and
ledger services the pipeline uses, so a task a worker moves at the same moment is
refused as "changed meanwhile", never half-changed. A refusal raises
``services.Refused`` with the reason staff read.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from generations import credits, services
from generations.models import (
    IN_FLIGHT_STATES,
    POLLED_STATES,
    FailCode,
    GenerationTask,
    State,
)
from generations.models.tasks import (
    RESUBMITTED_AS_MESSAGE,
    RESUBMITTED_MESSAGE,
    STOPPED_BY_STAFF_MESSAGE,
)
from generations.pipeline.common import fail_task

CHANGED_MEANWHILE = gettext_lazy("changed state meanwhile; look again.")


def recheck_task(*, task: GenerationTask) -> str:
    """Make the task due now, so the dispatcher reads its status (or retries its
    download) at its next pass; returns what will happen. Views never call the
    provider."""
    if task.state in POLLED_STATES or (
        task.state == State.UNKNOWN and task.provider_task_id
    ):
        what = gettext("status read")
    elif task.state == State.DOWNLOADING:
        what = gettext("download retried")
    elif task.state == State.UNKNOWN:
        raise services.Refused(
            gettext(
                "no provider task id is known, so there is no status to read: "
                "resubmit it or release its hold."
            )
        )
    elif task.is_terminal:
        raise services.Refused(gettext("finished: nothing to re-check."))
    else:
        raise services.Refused(gettext("not at the provider yet: nothing to re-check."))
    # Compare-and-set on the state: a worker may have moved it meanwhile.
    # The lease is left alone: a worker busy with the task keeps it.
    marked = GenerationTask.objects.filter(pk=task.pk, state=task.state).update(
        next_action_at=timezone.now()
    )
    if not marked:
        raise services.Refused(str(CHANGED_MEANWHILE))
    return what


def retry_failed_task(*, task: GenerationTask) -> GenerationTask:
    """A new task for a failed or cancelled one, once (``services.retry_task``)."""
    if task.state not in (State.FAILED, State.CANCELLED):
        raise services.Refused(
            gettext("succeeded: nothing to retry.")
            if task.state == State.SUCCEEDED
            else gettext("still in flight: release or resubmit it first.")
        )
    if task.retries.exists():
        raise services.Refused(gettext("already retried (see its retries); not again."))
    try:
        return services.retry_task(task)
    except credits.CreditsRefused as exc:
        raise services.Refused(
            gettext("not retried for %(member)s: %(error)s")
            % {"member": task.owner, "error": exc}
        ) from exc


def release_task(*, task: GenerationTask, reason: str, note: str) -> bool:
    """Fail a task in flight as RELEASED_BY_STAFF and give its credits back, in one
    transaction (True); for a finished task, release a hold the pipeline left
    unsettled (False)."""
    if task.state == State.SUCCEEDED:
        raise services.Refused(
            gettext("succeeded: its credits are captured, not held.")
        )
    if task.state in IN_FLIGHT_STATES:
        released = fail_task(
            task.pk,
            IN_FLIGHT_STATES,
            reason,
            fail_code=FailCode.RELEASED_BY_STAFF,
            fail_message=STOPPED_BY_STAFF_MESSAGE % {"note": note},
            release_reason=reason,
        )
        if not released:
            raise services.Refused(str(CHANGED_MEANWHILE))
        return True
    if credits.release_for_task(task.pk, reason):
        return False
    raise services.Refused(gettext("finished and settled: nothing is held."))


def resubmit_unknown_task(
    *, task: GenerationTask, staff_name: str, note: str
) -> GenerationTask:
    """Send again a task whose first submission may or may not have reached the
    provider. The old task is failed and released and the new one holds the cost,
    in one transaction: the member pays at most once."""
    unknown = task.state == State.UNKNOWN
    if unknown and task.provider_task_id:
        raise services.Refused(
            gettext("its provider task id is known: re-check its status instead.")
        )
    unconfirmed = (
        task.state == State.FAILED and task.fail_code == FailCode.SUBMISSION_UNCONFIRMED
    )
    if not unknown and not unconfirmed:
        raise services.Refused(gettext("its outcome is known: not resubmitted."))
    if task.retries.exists():
        raise services.Refused(gettext("already resubmitted or retried; not again."))
    reason = f"Resubmitted by staff ({staff_name})" + (f": {note}" if note else "")
    try:
        with transaction.atomic():
            if unknown and not fail_task(
                task.pk,
                State.UNKNOWN,
                reason,
                fail_code=FailCode.RELEASED_BY_STAFF,
                fail_message=RESUBMITTED_MESSAGE,
                release_reason=reason,
            ):
                raise services.Refused(str(CHANGED_MEANWHILE))
            new_task = services.retry_task(task)
            GenerationTask.objects.filter(pk=task.pk).update(
                fail_message=RESUBMITTED_AS_MESSAGE % {"id": new_task.pk}
            )
    except credits.CreditsRefused as exc:
        # The whole step rolled back: the old task is as it was.
        raise services.Refused(
            gettext("not resubmitted for %(member)s: %(error)s")
            % {"member": task.owner, "error": exc}
        ) from exc
    return new_task
