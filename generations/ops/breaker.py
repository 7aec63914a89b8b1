"""The provider circuit breaker: stop submitting while the provider is down.

After ``BREAKER_FAILURE_THRESHOLD`` provider failures in a row (connection errors,
5xx, timeouts) the breaker opens: the dispatcher hands out no submissions (queued
tasks keep waiting with their credits held) and only a few status reads a pass.
Every ``BREAKER_PROBE_SECONDS`` it enqueues one probe (a free balance read); any
answer from the provider, the probe's or a status read's, closes it again.

The state is one database row shared by every process; every change is a
compare-and-set, so two workers seeing the same outage open it once. Staff may
force it open or closed from the overview; forcing wins over the automatic state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from generations.apixo.client import ProviderError
from generations.models import BreakerForce, BreakerState, ProviderBreaker

log = logging.getLogger(__name__)

NAME = "provider"
# Errors that say the provider is not answering. Any other answer (a 4xx, a 429)
# proves it is up; a malformed answer proves nothing either way.
FAILURE_KINDS = frozenset({"transport", "server_error"})
NEUTRAL_KINDS = frozenset({"malformed", "provider_error"})
PROBE_JOB = "generations.ops.breaker.probe"
# The last known state, for the members' banner on every page without a query;
# refreshed by every dispatcher pass and at once by every change.
PUBLISHED_KEY = "seedance:ops:breaker"
PUBLISHED_SECONDS = 120


def failure_threshold() -> int:
    return int(getattr(settings, "BREAKER_FAILURE_THRESHOLD", 5))


def probe_seconds() -> float:
    return float(getattr(settings, "BREAKER_PROBE_SECONDS", 30.0))


def reads_per_pass_while_open() -> int:
    return int(getattr(settings, "BREAKER_READS_PER_PASS", 2))


def _row() -> ProviderBreaker:
    row = ProviderBreaker.objects.filter(name=NAME).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return ProviderBreaker.objects.create(name=NAME)
    except IntegrityError:  # another process created it first
        return ProviderBreaker.objects.get(name=NAME)


def record(error: ProviderError | None) -> None:
    """Feed one provider call's outcome to the breaker."""
    if error is None or (
        error.kind not in FAILURE_KINDS and error.kind not in NEUTRAL_KINDS
    ):
        record_success()
    elif error.kind in FAILURE_KINDS:
        record_failure(error.kind)


def record_success() -> None:
    row = (
        ProviderBreaker.objects.filter(name=NAME)
        .values_list("state", "failures")
        .first()
    )
    if row is None or row == (BreakerState.CLOSED, 0):
        return  # the common case costs one read, no write
    closed = ProviderBreaker.objects.filter(name=NAME, state=BreakerState.OPEN).update(
        state=BreakerState.CLOSED, failures=0, probe_at=None
    )
    if closed:
        log.warning("the provider answers again: submissions resume")
        _queued_tasks_due_now()
        publish(status())
    ProviderBreaker.objects.filter(name=NAME, failures__gt=0).update(failures=0)


def _queued_tasks_due_now() -> None:
    """Tasks sent back to the queue during the outage wait out growing backoffs
    (up to minutes); the provider is back, so they start now, in fair order."""
    from generations.models import GenerationTask, State

    GenerationTask.objects.filter(
        state=State.QUEUED, next_action_at__gt=timezone.now()
    ).update(next_action_at=timezone.now())


def record_failure(kind: str, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    _row()
    ProviderBreaker.objects.filter(name=NAME).update(
        failures=F("failures") + 1, last_failure_at=now, last_failure_kind=kind
    )
    opened = ProviderBreaker.objects.filter(
        name=NAME, state=BreakerState.CLOSED, failures__gte=failure_threshold()
    ).update(
        state=BreakerState.OPEN,
        opened_at=now,
        probe_at=now + dt.timedelta(seconds=probe_seconds()),
    )
    if opened:
        publish(status())
        log.warning(
            "the provider is not answering (%s failures in a row, last: %s): "
            "submissions stop until a probe succeeds",
            failure_threshold(),
            kind,
        )


@dataclass(frozen=True)
class Status:
    state: str
    forced: str
    failures: int
    opened_at: dt.datetime | None
    last_failure_at: dt.datetime | None
    last_failure_kind: str
    probe_at: dt.datetime | None
    forced_by: str
    reason: str = ""

    @property
    def submitting(self) -> bool:
        """Whether the dispatcher may hand out submissions."""
        if self.forced == BreakerForce.OPEN:
            return False
        return self.forced == BreakerForce.CLOSED or self.state == BreakerState.CLOSED

    @property
    def provider_down(self) -> bool:
        """Open by itself (not by staff): the provider is not answering."""
        return self.state == BreakerState.OPEN and self.forced != BreakerForce.CLOSED

    @property
    def read_limit(self) -> int | None:
        """Status reads per dispatcher pass while the provider is down."""
        return reads_per_pass_while_open() if self.provider_down else None


def status() -> Status:
    row = _row()
    return Status(**{f.name: getattr(row, f.name) for f in dataclasses.fields(Status)})


def gate(now: dt.datetime, enqueue: Callable[[str, int], Any]) -> Status:
    """The dispatcher's view for one pass; enqueues a probe when one is due."""
    current = status()
    # Published before a probe can run: a probe that closes the breaker publishes
    # its own, newer state, which this pass must not overwrite.
    publish(current)
    if current.state == BreakerState.OPEN and current.forced != BreakerForce.OPEN:
        # Compare-and-set on probe_at: one probe per interval across dispatchers.
        due = ProviderBreaker.objects.filter(
            name=NAME, state=BreakerState.OPEN, probe_at__lte=now
        ).update(
            probe_at=now + dt.timedelta(seconds=probe_seconds()),
            probes=F("probes") + 1,
        )
        if due:
            enqueue(PROBE_JOB, 0)
    return current


def publish(current: Status) -> None:
    try:
        cache.set(PUBLISHED_KEY, dataclasses.asdict(current), PUBLISHED_SECONDS)
    except Exception as exc:  # the banner is a courtesy; dispatching is not
        log.warning("could not publish the breaker state: %s", type(exc).__name__)


def published() -> Status | None:
    """The breaker as last published (None: unknown, e.g. no dispatcher)."""
    try:
        data = cache.get(PUBLISHED_KEY)
        return Status(**data) if isinstance(data, dict) else None
    except Exception:  # cache down, or published by another version mid-deploy
        return None


def probe(_unused: int = 0) -> None:
    """A django-q2 job: one cheap read; its outcome reaches ``record`` through
    the client's hook (generations/ops/watch.py)."""
    from generations.pipeline.common import get_client

    try:
        get_client().get_balance()
    except ProviderError as exc:
        log.info("provider probe failed: %s", exc.kind)


MAX_REASON = 200


def force(mode: str, *, by: str, reason: str = "") -> None:
    """Staff override: ``open`` (pause submissions, with a reason members see),
    ``closed`` (submit regardless), or ``""`` for automatic."""
    if mode not in BreakerForce.values:
        raise ValueError(f"unknown breaker mode {mode!r}")
    if len(reason) > MAX_REASON:
        raise ValueError(f"the reason is longer than {MAX_REASON} characters")
    _row()
    ProviderBreaker.objects.filter(name=NAME).update(
        forced=mode,
        forced_by=by if mode else "",
        reason=reason.strip() if mode == BreakerForce.OPEN else "",
    )
    publish(status())
    log.warning("provider breaker set to %s by %s", mode or "automatic", by)
