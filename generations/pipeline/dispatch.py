"""The dispatcher: hands due work (submits, polls, downloads) to the workers.

No worker ever sleeps waiting for the provider: each row carries ``next_action_at``,
and this loop leases due rows (compare-and-set on ``lease_until``) and enqueues one
django-q2 job per row. A lease that expires (a worker died) makes the row due again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.db.models import Count, Min
from django.utils import timezone

from generations import credits
from generations.models import (
    POLLED_STATES,
    PROVIDER_SLOT_STATES,
    CreditAccount,
    GenerationTask,
    State,
)
from generations.models.tasks import lease_expired_q, transition
from generations.ops import breaker

log = logging.getLogger(__name__)

Enqueue = Callable[[str, int], Any]
BATCH = 500
HEARTBEAT_KEY = "seedance:dispatcher:heartbeat"

JOBS = {
    "poll": "generations.tasks.poll_task",
    "download": "generations.tasks.download_result",
    "resolve": "generations.tasks.resolve_unknown",
    "submit": "generations.tasks.submit_task",
}


_broker: Any = None


def django_q_enqueue(func: str, task_id: int) -> Any:
    from django_q.brokers import get_broker
    from django_q.tasks import async_task

    # One broker per process: django-q2 would build one (and for Redis a new
    # connection pool) for every job otherwise.
    global _broker
    if _broker is None:
        _broker = get_broker()
    name = f"{func.rsplit('.', 1)[-1]}-{task_id}"
    return async_task(func, task_id, task_name=name, broker=_broker)


def dispatch_once(
    now: dt.datetime | None = None, enqueue: Enqueue | None = None
) -> dict[str, int]:
    now = now or timezone.now()
    enqueue = enqueue or django_q_enqueue
    # The provider circuit breaker (generations/ops/breaker.py): while it is open,
    # no submissions and only a few status reads a pass.
    gate = breaker.gate(now, enqueue)
    reads = gate.read_limit or BATCH
    counts = {
        "poll": _dispatch_due(POLLED_STATES, "poll", now, enqueue, reads),
        "download": _dispatch_due({State.DOWNLOADING}, "download", now, enqueue),
        "resolve": _dispatch_due({State.UNKNOWN}, "resolve", now, enqueue, reads),
    }
    counts["submit"] = _dispatch_submits(now, enqueue) if gate.submitting else 0
    counts["boards"] = _advance_storyboards(now, enqueue)
    cache.set(HEARTBEAT_KEY, now.timestamp(), timeout=None)
    return counts


def _advance_storyboards(now: dt.datetime, enqueue: Enqueue) -> int:
    # Continuing shots queued as their predecessors succeed; films to stitch.
    from generations.storyboards import driver

    return driver.advance(now=now, enqueue=enqueue)


def _lease(task_id: int, now: dt.datetime) -> bool:
    until = now + dt.timedelta(seconds=settings.LEASE_SECONDS)
    return (
        GenerationTask.objects.filter(pk=task_id)
        .filter(lease_expired_q(now))
        .update(lease_until=until)
        == 1
    )


def _dispatch_due(
    states: Collection[State],
    job: str,
    now: dt.datetime,
    enqueue: Enqueue,
    limit: int = BATCH,
) -> int:
    ids = list(
        GenerationTask.objects.filter(state__in=states, next_action_at__lte=now)
        .filter(lease_expired_q(now))
        .order_by("next_action_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for task_id in ids:
        if _lease(task_id, now):
            enqueue(JOBS[job], task_id)
            sent += 1
    return sent


def concurrency_limit() -> int:
    return int(settings.PROVIDER_CONCURRENT_LIMIT)


def _dispatch_submits(now: dt.datetime, enqueue: Enqueue) -> int:
    # Queued rows already handed to a worker (leased) count too: they will be at
    # the provider in a moment, and the next pass must not hand out their slots.
    occupying = models.Q(state__in=PROVIDER_SLOT_STATES) | models.Q(
        state=State.QUEUED, lease_until__gt=now
    )
    in_flight = dict(
        GenerationTask.objects.filter(occupying)
        .values_list("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    slots = min(BATCH, concurrency_limit() - sum(in_flight.values()))
    if slots <= 0:
        return 0
    order = pick_fair_order(now, slots, in_flight)
    sent = 0
    for task_id in order:
        if _lease(task_id, now):
            enqueue(JOBS["submit"], task_id)
            sent += 1
    return sent


def pick_fair_order(
    now: dt.datetime, slots: int, in_flight: dict[int, int]
) -> list[int]:
    """Queued, due task ids for ``slots`` free slots, shared fairly between members.

    Round-robin across members, the member with the fewest tasks in flight first,
    so one member's batch of 200 cannot starve another member's single job. A
    member's own cap on tasks in flight is respected.
    """
    queued = GenerationTask.objects.filter(
        state=State.QUEUED, next_action_at__lte=now
    ).filter(lease_expired_q(now))
    owners = list(
        queued.values("owner_id").annotate(first=Min("created_at")).order_by("first")
    )
    if not owners:
        return []
    caps = dict(
        CreditAccount.objects.filter(
            user_id__in=[o["owner_id"] for o in owners], max_in_flight__isnull=False
        ).values_list("user_id", "max_in_flight")
    )
    per_owner: dict[int, list[int]] = {}
    for row in owners:
        owner = row["owner_id"]
        room = slots
        if owner in caps:
            room = min(room, (caps[owner] or 0) - in_flight.get(owner, 0))
        if room > 0:
            per_owner[owner] = list(
                queued.filter(owner_id=owner)
                .in_queue_order()  # a member's own "move to top" first
                .values_list("pk", flat=True)[:room]
            )
    load = {owner: in_flight.get(owner, 0) for owner in per_owner}
    # Ties go to the member whose oldest queued task waited longest (``owners``
    # order), never to the lowest user id every time.
    waited = {row["owner_id"]: rank for rank, row in enumerate(owners)}
    picked: list[int] = []
    while len(picked) < slots and any(per_owner.values()):
        owner = min(
            (o for o in per_owner if per_owner[o]), key=lambda o: (load[o], waited[o])
        )
        picked.append(per_owner[owner].pop(0))
        load[owner] += 1
    return picked


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Recover rows stuck after a worker or dispatcher death."""
    now = now or timezone.now()
    stale_submits = list(
        GenerationTask.objects.filter(
            state=State.SUBMITTING, lease_until__lt=now
        ).values_list("pk", flat=True)[:BATCH]
    )
    moved = sum(
        transition(
            task_id,
            State.SUBMITTING,
            State.UNKNOWN,
            "The worker stopped while submitting; outcome unknown",
            next_action_at=now,
            lease_until=None,
        )
        for task_id in stale_submits
    )
    revived = (
        GenerationTask.objects.filter(
            state__in=[
                State.QUEUED,
                State.WAITING,
                State.GENERATING,
                State.DOWNLOADING,
                State.UNKNOWN,
            ],
            next_action_at__isnull=True,
        )
        .filter(lease_expired_q(now))
        .update(next_action_at=now)
    )
    return {
        "submitting_to_unknown": moved,
        "revived": revived,
        "settled": credits.settle_finished_tasks(),
    }


def dispatcher_heartbeat() -> float | None:
    value = cache.get(HEARTBEAT_KEY)
    return float(value) if value is not None else None
