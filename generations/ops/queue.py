"""Members steer their own queue: move a queued task to the top, cancel in bulk.

Staff pausing submissions team-wide is the breaker forced open with a reason
(generations/ops/breaker.py ``force``): one switch stops submissions.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Max

from generations.models import GenerationTask, QueueBump, State
from generations.services import cancel_task

MAX_BULK = 1000
QUEUE_SHOWN = 20  # the queue panel lists this many; "cancel all" reaches the rest


def queue_of(
    owner: User, *, queued: int | None = None
) -> tuple[list[GenerationTask], int]:
    """The owner's queued tasks in the order they go out (the first
    ``QUEUE_SHOWN``) and how many are queued in all (``queued``, when the caller
    counted them already: the Studio's live header does)."""
    tasks = GenerationTask.objects.in_task_list_of(owner).filter(state=State.QUEUED)
    shown = list(tasks.in_queue_order()[:QUEUE_SHOWN])
    if queued is None:
        queued = tasks.count() if len(shown) == QUEUE_SHOWN else len(shown)
    return shown, max(queued, len(shown))  # counted a moment apart


def move_to_top(*, task: GenerationTask) -> bool:
    """Put a queued task first among its owner's queued tasks; False if it has
    left the queue. Other members' places do not change (fair sharing)."""
    if task.state != State.QUEUED:
        return False
    top = QueueBump.objects.filter(
        task__owner_id=task.owner_id, task__state=State.QUEUED
    ).aggregate(rank=Max("rank"))["rank"]
    QueueBump.objects.update_or_create(task=task, defaults={"rank": (top or 0) + 1})
    # It may have been submitted meanwhile: then the bump is simply unused.
    return GenerationTask.objects.filter(pk=task.pk, state=State.QUEUED).exists()


def cancel_queued(*, owner: User, ids: list[int] | None = None) -> int:
    """Cancel the owner's queued tasks (those of ``ids``, or all); each releases
    its hold in its own transaction. Returns how many were cancelled."""
    tasks = GenerationTask.objects.filter(owner_id=owner.pk, state=State.QUEUED)
    if ids is not None:
        tasks = tasks.filter(pk__in=ids)
    return sum(cancel_task(task) for task in tasks.order_by("pk")[:MAX_BULK])
