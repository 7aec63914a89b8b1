"""Provider usage, the provider balance, worker and dispatcher health."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy

from generations.apixo import contract
from generations.apixo.client import ApixoClient, ProviderError
from generations.models import PROVIDER_SLOT_STATES
from generations.ops import jobs
from generations.overview.census import Census, census
from generations.overview.common import (
    BALANCE_CACHE_KEY,
    BALANCE_CACHE_SECONDS,
    LOW_BALANCE_USD,
    _seconds,
)
from generations.pipeline import dispatch, ratelimit

log = logging.getLogger(__name__)
HOUR = dt.timedelta(hours=1)

# --- Provider usage: request rate and tasks in flight ---------------------------------


@dataclass(frozen=True)
class Usage:
    requests_last_minute: int | None
    rate_error: str
    request_budget: int  # ours, per minute
    provider_rate_limit: int
    in_flight: dict[str, int]  # state -> count, every non-terminal state
    slot_limit: int  # ours
    provider_slot_limit: int

    @property
    def at_provider(self) -> int:
        """Tasks holding (or maybe holding) one of the provider's slots."""
        return sum(self.in_flight.get(state, 0) for state in PROVIDER_SLOT_STATES)

    @property
    def rate_share(self) -> float:
        return (self.requests_last_minute or 0) / self.provider_rate_limit

    @property
    def slot_share(self) -> float:
        return self.at_provider / self.provider_slot_limit


def requests_last_minute(now: float | None = None) -> int:
    """Provider requests of the last 60 s, from the shared rate limiter."""
    return ratelimit.requests_last_minute(now)


def usage(now: dt.datetime, counted: Census | None = None) -> Usage:
    """Provider requests of the last minute and tasks in flight (from the
    overview's census when given)."""
    in_flight = (counted or census(now)).in_flight
    rate: int | None
    try:
        rate, error = requests_last_minute(now.timestamp()), ""
    except Exception as exc:  # Redis down: show it, keep the page
        log.warning("could not read the provider request rate: %s", exc)
        rate, error = (
            None,
            gettext("Could not read the request counters: %(error)s") % {"error": exc},
        )
    return Usage(
        requests_last_minute=rate,
        rate_error=error,
        request_budget=int(settings.PROVIDER_RATE_LIMIT_PER_MINUTE),
        provider_rate_limit=contract.RATE_LIMIT_PER_MINUTE,
        in_flight=in_flight,
        slot_limit=dispatch.concurrency_limit(),
        provider_slot_limit=contract.CONCURRENT_TASK_LIMIT,
    )


# --- Provider balance -----------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    usd: float | None
    error: str
    checked_at: dt.datetime | None
    threshold: float

    @property
    def low(self) -> bool:
        return self.usd is not None and self.usd < self.threshold


def low_balance_threshold() -> float:
    return float(getattr(settings, "PROVIDER_LOW_BALANCE_USD", LOW_BALANCE_USD))


def provider_balance() -> Balance:
    """The balance a worker last read (``refresh_provider_balance``).

    Never asks the provider: a web request must not wait on it (up to ~35 s with
    the rate limiter's wait and the timeouts). A reading older than
    ``BALANCE_CACHE_SECONDS`` has expired: then no worker is refreshing it.
    """
    cached = cache.get(BALANCE_CACHE_KEY)
    if cached is None:
        return Balance(
            usd=None,
            error=gettext("no recent reading; is a worker running?"),
            checked_at=None,
            threshold=low_balance_threshold(),
        )
    return Balance(threshold=low_balance_threshold(), **cached)


def refresh_provider_balance(
    client: Callable[[], ApixoClient] | None = None,
) -> Balance:
    """Ask the provider for the balance and keep the answer for the overview.

    Runs in a worker (a django-q2 schedule, every minute). An error is kept like
    an answer, as text staff read.
    """
    reading = _fetch_balance(client)
    cache.set(BALANCE_CACHE_KEY, reading, BALANCE_CACHE_SECONDS)
    return Balance(threshold=low_balance_threshold(), **reading)


def _fetch_balance(client: Callable[[], ApixoClient] | None) -> dict[str, Any]:
    if client is None:
        from generations.pipeline.common import get_client

        client = get_client
    usd: float | None = None
    try:
        usd, error = client().get_balance(), ""
    except ProviderError as exc:
        error = str(exc)
    except Exception as exc:  # never a 500 for a number on a dashboard
        log.exception("balance read failed")
        error = f"{type(exc).__name__}: {exc}"
    return {"usd": usd, "error": error, "checked_at": timezone.now()}


def forget_balance() -> None:
    cache.delete(BALANCE_CACHE_KEY)


# --- Worker and dispatcher health -----------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    name: str
    host: str
    status: str
    workers: int
    uptime_seconds: float | None
    task_queue: int

    @property
    def uptime(self) -> str:
        return "" if self.uptime_seconds is None else _seconds(self.uptime_seconds)

    @property
    def status_label(self) -> str:
        """django-q2's status word in the active language (unknown words as is)."""
        label = CLUSTER_STATUSES.get(self.status)
        return self.status if label is None else str(label)


# The states django-q2 reports for a cluster (django_q.status).
CLUSTER_STATUSES: dict[str, Promise] = {
    "Starting": pgettext_lazy("worker cluster", "Starting"),
    "Working": pgettext_lazy("worker cluster", "Working"),
    "Idle": pgettext_lazy("worker cluster", "Idle"),
    "Stopping": pgettext_lazy("worker cluster", "Stopping"),
    "Stopped": pgettext_lazy("worker cluster", "Stopped"),
}


@dataclass(frozen=True)
class Health:
    dispatcher_at: dt.datetime | None
    dispatcher_age: float | None
    dispatcher_stale_after: float
    clusters: list[Cluster] = field(default_factory=list)
    cluster_error: str = ""
    queued_jobs: int | None = None
    last_job_at: dt.datetime | None = None
    failed_jobs_last_hour: int | None = None

    @property
    def dispatcher_ok(self) -> bool:
        return (
            self.dispatcher_age is not None
            and self.dispatcher_age <= self.dispatcher_stale_after
        )

    @property
    def workers_ok(self) -> bool:
        return any(
            cluster.status not in {"Stopped", "Stopping"} for cluster in self.clusters
        )


def dispatcher_stale_after() -> float:
    return max(15.0, 10 * float(settings.DISPATCH_INTERVAL_SECONDS))


def health(now: dt.datetime) -> Health:
    beat = dispatch.dispatcher_heartbeat()
    at = dt.datetime.fromtimestamp(beat, tz=dt.UTC) if beat is not None else None
    age = max(0.0, now.timestamp() - beat) if beat is not None else None
    report = Health(
        dispatcher_at=at,
        dispatcher_age=age,
        dispatcher_stale_after=dispatcher_stale_after(),
    )
    try:
        return _with_cluster_stats(report, now)
    except Exception as exc:  # the broker or its cache is down: say so
        log.warning("could not read the task queue's status: %s", exc)
        return Health(
            dispatcher_at=at,
            dispatcher_age=age,
            dispatcher_stale_after=report.dispatcher_stale_after,
            cluster_error=gettext("Could not read the task queue's status: %(error)s")
            % {"error": exc},
        )


def _with_cluster_stats(report: Health, now: dt.datetime) -> Health:
    from django_q.brokers import get_broker
    from django_q.models import Task
    from django_q.status import Stat

    broker = get_broker()
    clusters = [
        Cluster(
            name=str(stat.cluster_id),
            host=str(stat.host),
            status=str(stat.status),
            workers=len(stat.workers),
            uptime_seconds=(now - stat.tob).total_seconds() if stat.tob else None,
            task_queue=int(stat.task_q_size),
        )
        for stat in Stat.get_all(broker=broker)
    ]
    # Only failures are kept as rows (save_limit -1); the last success is a stamp.
    failed = Task.objects.filter(success=False, stopped__gte=now - HOUR).count()
    return Health(
        dispatcher_at=report.dispatcher_at,
        dispatcher_age=report.dispatcher_age,
        dispatcher_stale_after=report.dispatcher_stale_after,
        clusters=sorted(clusters, key=lambda c: (c.host, c.name)),
        queued_jobs=int(broker.queue_size()),
        last_job_at=jobs.last_job_done_at(),
        failed_jobs_last_hour=failed,
    )
