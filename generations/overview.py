"""The staff overview as numbers: tasks, spend, provider usage, health, attention.

Each function reads the database (or the cache) and returns plain data for the
overview page and its tests. Only ``provider_balance`` reaches the provider, through
the one client, and its answer (or its error) is cached so that a page refreshing
every few seconds asks the provider at most once a minute.

Days are calendar days of the current time zone; a task counts on the day it was
created, in the state it is in now. Queries are written to stay cheap with 100,000
tasks: per-day numbers are conditional aggregates over one range scan (no per-row
date functions, which SQLite runs in Python), and lists are bounded.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from generations.apixo import contract
from generations.apixo.client import ApixoClient, ProviderError
from generations.models import (
    GenerationTask,
    LedgerEntry,
    State,
)
from generations.models.tasks import describe_failure
from generations.pipeline import dispatch, ratelimit, schedule
from generations.pipeline.learning import observed_generation_seconds
from generations.pipeline.unknown import UNCONFIRMED

log = logging.getLogger(__name__)

WINDOW_DAYS = 14
# Below this many USD left at the provider the overview warns (no setting needed;
# PROVIDER_LOW_BALANCE_USD overrides it).
LOW_BALANCE_USD = 20.0
BALANCE_CACHE_KEY = "seedance:overview:provider-balance"
BALANCE_CACHE_SECONDS = 60
# Past days and the generation-time sample are recomputed at most this often:
# scanning two weeks of 100,000 tasks on every 10-second refresh is wasted work.
# Today's numbers, work in flight and the attention list are always live.
HISTORY_CACHE_SECONDS = 600
# The same sample the poll scheduler learns from (pipeline.learning).
GENERATION_SAMPLE = 500
DOWNLOAD_FAILING_ATTEMPTS = 2
ATTENTION_ROWS = 8
FAILURE_CODES_SHOWN = 6
TOP_MEMBERS = 10
POLLED_STATES = (State.WAITING, State.GENERATING)


# Failure codes of our own (the provider's are described in the contract).
def describe_fail_code(code: str) -> str:
    return describe_failure(code)


# --- Time window ----------------------------------------------------------------------


def cached_history[T](key: str, compute: Callable[[], T]) -> T:
    """History that changes slowly, computed at most every HISTORY_CACHE_SECONDS.

    Keys name the first day of the window, so a new day starts a new entry.
    """
    full_key = f"seedance:overview:{timezone.get_current_timezone_name()}:{key}"
    value: T | None = cache.get(full_key)
    if value is None:
        value = compute()
        cache.set(full_key, value, HISTORY_CACHE_SECONDS)
    return value


def day_starts(now: dt.datetime, days: int = WINDOW_DAYS) -> list[dt.datetime]:
    """Midnights (current time zone) from ``days - 1`` days ago to tomorrow."""
    today = timezone.localdate(now)
    tz = timezone.get_current_timezone()
    return [
        dt.datetime.combine(today - dt.timedelta(days=days - 1 - i), dt.time(), tz)
        for i in range(days + 1)
    ]


def _per_day(
    starts: list[dt.datetime], make: Callable[[Q], Any], on: str = "created_at"
) -> dict[str, Any]:
    """One conditional aggregate per day, keyed d0, d1, ..."""
    return {
        f"d{i}": make(Q(**{f"{on}__gte": start, f"{on}__lt": starts[i + 1]}))
        for i, start in enumerate(starts[:-1])
    }


# --- Tasks per day, success rate, failure codes ---------------------------------------


@dataclass(frozen=True)
class Day:
    day: dt.date
    counts: dict[str, int]  # state -> tasks created that day, by their state now

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class FailureCount:
    code: str
    count: int

    @property
    def description(self) -> str:
        return describe_fail_code(self.code) if self.code else "No code given."


@dataclass(frozen=True)
class TaskStats:
    days: list[Day]
    failures: list[FailureCount]

    def total(self, state: str) -> int:
        return sum(day.counts.get(state, 0) for day in self.days)

    @property
    def created(self) -> int:
        return sum(day.total for day in self.days)

    @property
    def finished(self) -> int:
        return self.total(State.SUCCEEDED) + self.total(State.FAILED)

    @property
    def success_rate(self) -> float | None:
        """Succeeded of succeeded + failed (cancelled ones never ran)."""
        if not self.finished:
            return None
        return self.total(State.SUCCEEDED) / self.finished


def task_stats(now: dt.datetime, days: int = WINDOW_DAYS) -> TaskStats:
    """Tasks per day by state and failure codes; past days cached, today live."""
    starts = day_starts(now, days)
    past_counts, past_failures = cached_history(
        f"tasks:{starts[0].isoformat()}:{days}",
        lambda: _task_counts(starts[:-1]),
    )
    today_counts, today_failures = _task_counts(starts[-2:])
    counts = past_counts + today_counts
    failures = Counter(past_failures) + Counter(today_failures)
    return TaskStats(
        days=[Day(starts[i].date(), counts[i]) for i in range(days)],
        failures=[
            FailureCount(code, n)
            for code, n in sorted(
                failures.items(), key=lambda item: (-item[1], item[0])
            )
        ],
    )


def _task_counts(
    starts: list[dt.datetime],
) -> tuple[list[dict[str, int]], dict[str, int]]:
    """Per day between ``starts``: tasks by state; and failure codes overall."""
    if len(starts) < 2:
        return [], {}
    window = GenerationTask.objects.filter(
        created_at__gte=starts[0], created_at__lt=starts[-1]
    ).order_by()
    # Rows keyed d0, d1, ...: plain dicts to the type checker.
    rows = cast(
        Iterable[dict[str, Any]],
        window.values("state").annotate(
            **_per_day(starts, lambda q: Count("pk", filter=q))
        ),
    )
    counts: list[dict[str, int]] = [{} for _ in starts[:-1]]
    for row in rows:
        for i, day in enumerate(counts):
            if row[f"d{i}"]:
                day[row["state"]] = row[f"d{i}"]
    failures = (
        window.filter(state=State.FAILED).values("fail_code").annotate(n=Count("pk"))
    )
    return counts, {row["fail_code"]: row["n"] for row in failures}


# --- Generation time by duration ------------------------------------------------------


@dataclass(frozen=True)
class GenerationTime:
    duration: int
    samples: int
    median: float | None
    p95: float | None
    documented: tuple[float, float]


def generation_times(sample: int = GENERATION_SAMPLE) -> list[GenerationTime]:
    """Median and p95 of the provider's generation time, per video duration.

    The sample is the one the poll scheduler learns from: the newest finished tasks
    of that duration, timed on the provider's clock (complete - create, else costTime).
    """
    return cached_history(
        f"generation-times:{sample}", lambda: _generation_times(sample)
    )


def _generation_times(sample: int) -> list[GenerationTime]:
    result = []
    for duration in contract.DURATIONS:
        ordered = sorted(observed_generation_seconds(duration=duration, limit=sample))
        result.append(
            GenerationTime(
                duration=duration,
                samples=len(ordered),
                median=schedule.quantile(ordered, 0.5) if ordered else None,
                p95=schedule.quantile(ordered, 0.95) if ordered else None,
                documented=contract.GENERATION_SECONDS[duration],
            )
        )
    return result


# --- Credits spent --------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSpend:
    username: str
    credits: int
    videos: int


@dataclass(frozen=True)
class SpendStats:
    days: list[tuple[dt.date, int]]
    members: list[MemberSpend]

    @property
    def total(self) -> int:
        return sum(credits for _, credits in self.days)


def spend_stats(
    now: dt.datetime, days: int = WINDOW_DAYS, top: int = TOP_MEMBERS
) -> SpendStats:
    """Credits captured (videos delivered) per day and per member.

    A capture moves no balance (the hold already did); what it makes final is the
    task's cost, which is the amount its hold took.
    """
    starts = day_starts(now, days)
    # Past days never change: ledger rows are append-only and stamped when written.
    past = cached_history(
        f"spend:{starts[0].isoformat()}:{days}", lambda: _captures(starts[:-1])
    )
    today = _captures(starts[-2:])
    per_day = [0] * days
    members: dict[str, list[int]] = {}
    for offset, block in ((0, past), (days - 1, today)):
        for username, (credits, videos, daily) in block.items():
            totals = members.setdefault(username, [0, 0])
            totals[0] += credits
            totals[1] += videos
            for i, value in enumerate(daily):
                per_day[offset + i] += value
    ranked = sorted(members.items(), key=lambda item: (-item[1][0], item[0]))
    return SpendStats(
        days=[(starts[i].date(), per_day[i]) for i in range(days)],
        members=[MemberSpend(name, c, v) for name, (c, v) in ranked[:top]],
    )


def _captures(starts: list[dt.datetime]) -> dict[str, tuple[int, int, list[int]]]:
    """Per member: credits captured, videos, and credits per day between ``starts``."""
    if len(starts) < 2:
        return {}
    rows = cast(
        Iterable[dict[str, Any]],
        LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.CAPTURE,
            created_at__gte=starts[0],
            created_at__lt=starts[-1],
        )
        .order_by()
        .values("account__user__username")
        .annotate(
            credits=Sum("task__cost"),
            videos=Count("pk"),
            **_per_day(starts, lambda q: Sum("task__cost", filter=q)),
        ),
    )
    return {
        row["account__user__username"]: (
            int(row["credits"] or 0),
            row["videos"],
            [int(row[f"d{i}"] or 0) for i in range(len(starts) - 1)],
        )
        for row in rows
    }


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
        return sum(self.in_flight.get(state, 0) for state in dispatch.SLOT_STATES)

    @property
    def rate_share(self) -> float:
        return (self.requests_last_minute or 0) / self.provider_rate_limit

    @property
    def slot_share(self) -> float:
        return self.at_provider / self.provider_slot_limit


def requests_last_minute(now: float | None = None) -> int:
    """Provider requests of the last 60 s, from the shared rate limiter."""
    return ratelimit.requests_last_minute(now)


def usage(now: dt.datetime) -> Usage:
    in_flight = dict(
        GenerationTask.objects.exclude(
            state__in=[State.SUCCEEDED, State.FAILED, State.CANCELLED]
        )
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    rate: int | None
    try:
        rate, error = requests_last_minute(now.timestamp()), ""
    except Exception as exc:  # Redis down: show it, keep the page
        log.warning("could not read the provider request rate: %s", exc)
        rate, error = None, f"Could not read the request counters: {exc}"
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
    checked_at: dt.datetime
    threshold: float

    @property
    def low(self) -> bool:
        return self.usd is not None and self.usd < self.threshold


def low_balance_threshold() -> float:
    return float(getattr(settings, "PROVIDER_LOW_BALANCE_USD", LOW_BALANCE_USD))


def provider_balance(client: Callable[[], ApixoClient] | None = None) -> Balance:
    """The provider account's balance in USD, asked at most once a minute.

    An error is cached like an answer: a provider that is down would otherwise be
    asked (and waited for) on every refresh of every open overview.
    """
    cached = cache.get(BALANCE_CACHE_KEY)
    if cached is None:
        cached = _fetch_balance(client)
        cache.set(BALANCE_CACHE_KEY, cached, BALANCE_CACHE_SECONDS)
    return Balance(threshold=low_balance_threshold(), **cached)


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
            cluster_error=f"Could not read the task queue's status: {exc}",
        )


def _with_cluster_stats(report: Health, now: dt.datetime) -> Health:
    from django_q.brokers import get_broker
    from django_q.models import Failure, Success
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
    last = Success.objects.order_by("-stopped").values_list("stopped", flat=True)
    return Health(
        dispatcher_at=report.dispatcher_at,
        dispatcher_age=report.dispatcher_age,
        dispatcher_stale_after=report.dispatcher_stale_after,
        clusters=sorted(clusters, key=lambda c: (c.host, c.name)),
        queued_jobs=int(broker.queue_size()),
        last_job_at=last.first(),
        failed_jobs_last_hour=Failure.objects.filter(
            stopped__gte=now - dt.timedelta(hours=1)
        ).count(),
    )


# --- Tasks that need attention --------------------------------------------------------


@dataclass(frozen=True)
class AttentionItem:
    kind: str  # unknown | unconfirmed | delayed | download
    task: GenerationTask
    why: str

    @property
    def label(self) -> str:
        return ATTENTION_KINDS[self.kind]


@dataclass(frozen=True)
class Attention:
    items: list[AttentionItem]
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


ATTENTION_KINDS: dict[str, str] = {
    "unknown": "Outcome unknown",
    "unconfirmed": "Unconfirmed, not resubmitted",
    "delayed": "Delayed",
    "download": "Download failing",
}


def attention(now: dt.datetime, rows: int = ATTENTION_ROWS) -> Attention:
    """Tasks staff should look at, oldest problem first, at most ``rows`` per kind.

    - unknown: we cannot tell whether the provider accepted the submission;
    - unconfirmed: failed as SUBMISSION_UNCONFIRMED in the window and not
      resubmitted (staff may resubmit them from the admin);
    - delayed: at the provider for longer than ``DELAYED_FACTOR`` times the slowest
      read its poll plan expects (``schedule.is_delayed``);
    - download: finished at the provider, but copying the video failed twice or more.
    """
    base = GenerationTask.objects.select_related("owner")
    queries: dict[str, tuple[QuerySet[GenerationTask], list[str]]] = {
        "unknown": (base.filter(state=State.UNKNOWN), ["state_changed_at"]),
        "unconfirmed": (
            base.filter(
                state=State.FAILED,
                fail_code=UNCONFIRMED,
                created_at__gte=day_starts(now)[0],
                retries__isnull=True,
            ),
            ["finished_at"],
        ),
        "delayed": (base.filter(delayed_q(now)), ["submitted_at"]),
        "download": (
            base.filter(
                state=State.DOWNLOADING,
                download_attempts__gte=DOWNLOAD_FAILING_ATTEMPTS,
            ),
            ["state_changed_at"],
        ),
    }
    items: list[AttentionItem] = []
    counts: dict[str, int] = {}
    for kind, (query, order) in queries.items():
        found = list(query.order_by(*order, "pk")[: rows + 1])
        counts[kind] = len(found) if len(found) <= rows else query.order_by().count()
        items.extend(
            AttentionItem(kind, task, _why(kind, task, now)) for task in found[:rows]
        )
    return Attention(items=items, counts=counts)


def delayed_q(now: dt.datetime) -> Q:
    """Tasks at the provider past their plan's slowest read times DELAYED_FACTOR."""
    kinds: Iterable[tuple[int, str, bool, str]] = (
        GenerationTask.objects.filter(state__in=POLLED_STATES)
        .order_by()
        .values_list("duration", "resolution", "sound", "routing")
        .distinct()
    )
    query = Q(pk__in=[])
    for duration, resolution, sound, routing in kinds:
        bound = delayed_after(duration, resolution, sound, routing)
        since = now - dt.timedelta(seconds=bound)
        query |= Q(
            Q(submitted_at__lt=since)
            | Q(submitted_at__isnull=True, created_at__lt=since),
            state__in=POLLED_STATES,
            duration=duration,
            resolution=resolution,
            sound=sound,
            routing=routing,
        )
    return query


def delayed_after(duration: int, resolution: str, sound: bool, routing: str) -> float:
    """Seconds after submission past which a task of this kind counts as delayed."""
    plan = schedule.plan_for(duration, resolution, sound, routing)
    return plan.slowest_expected * schedule.DELAYED_FACTOR


def _why(kind: str, task: GenerationTask, now: dt.datetime) -> str:
    if kind == "unknown":
        since = _ago(task.state_changed_at, now)
        return f"No clear answer to the submission, {since} ago." + (
            f" Provider task id {task.provider_task_id}."
            if task.provider_task_id
            else ""
        )
    if kind == "unconfirmed":
        return "Failed as unconfirmed: the member was not charged. Resubmit if wanted."
    if kind == "delayed":
        started = task.submitted_at or task.created_at
        bound = delayed_after(task.duration, task.resolution, task.sound, task.routing)
        return (
            f"At the provider for {_ago(started, now)}; "
            f"delayed after {_seconds(bound)}."
        )
    return f"{task.download_attempts} download attempts failed."


def _ago(moment: dt.datetime, now: dt.datetime) -> str:
    return _seconds((now - moment).total_seconds())


def _seconds(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86400} days"


# --- Everything at once ---------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    now: dt.datetime
    tasks: TaskStats
    times: list[GenerationTime]
    spend: SpendStats
    usage: Usage
    balance: Balance
    health: Health
    attention: Attention


def overview(now: dt.datetime | None = None) -> Overview:
    now = now or timezone.now()
    return Overview(
        now=now,
        tasks=task_stats(now),
        times=generation_times(),
        spend=spend_stats(now),
        usage=usage(now),
        balance=provider_balance(),
        health=health(now),
        attention=attention(now),
    )
