"""Prometheus metrics, computed at scrape time from shared state.

Several web and worker processes run at once, so nothing here lives in process
memory: gauges are read from the database when scraped, counters come from the
shared counters (generations/ops/counters.py) or from sums of stored rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator

from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from generations.models import BreakerForce, GenerationTask, State, VideoAsset
from generations.ops import breaker, counters, watch
from generations.pipeline import dispatch, download

log = logging.getLogger(__name__)

POLLED_STATES = (State.WAITING, State.GENERATING)


class StudioCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield _tasks_by_state()
        yield from _provider_requests()
        yield _poll_lag(now)
        yield _queue_depth()
        yield from _breaker()
        yield _download_bytes()
        yield _storage_full()
        yield _dispatcher_age()


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StudioCollector())
    return generate_latest(registry)


def _tasks_by_state() -> Metric:
    family = GaugeMetricFamily(
        "seedance_tasks", "Generation tasks by state.", labels=["state"]
    )
    found = dict(
        GenerationTask.objects.order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    for state in State:
        family.add_metric([state.value], found.get(state, 0))
    return family


def _provider_requests() -> Iterator[Metric]:
    requests = CounterMetricFamily(
        "seedance_provider_requests",
        "Requests sent to the provider, by endpoint (every process).",
        labels=["endpoint"],
    )
    errors = CounterMetricFamily(
        "seedance_provider_errors",
        "Provider requests that failed, by endpoint and kind of error.",
        labels=["endpoint", "kind"],
    )
    per_endpoint: dict[str, int] = {}
    for name, value in sorted(counters.values(watch.PREFIX).items()):
        endpoint, outcome = watch.parse_counter_name(name)
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + value
        if outcome != watch.OK:
            errors.add_metric([endpoint, outcome], value)
    for endpoint, value in per_endpoint.items():
        requests.add_metric([endpoint], value)
    yield requests
    yield errors


def _poll_lag(now: dt.datetime) -> Metric:
    """How long the most overdue status read has been waiting for a worker."""
    oldest = GenerationTask.objects.filter(
        state__in=POLLED_STATES, next_action_at__lte=now
    ).aggregate(at=Min("next_action_at"))["at"]
    lag = (now - oldest).total_seconds() if oldest else 0.0
    return GaugeMetricFamily(
        "seedance_poll_lag_seconds",
        "Age of the most overdue status read (0 when none is overdue).",
        value=max(0.0, lag),
    )


def _queue_depth() -> Metric:
    family = GaugeMetricFamily(
        "seedance_queue_depth",
        "Tasks queued for a submit slot, and jobs waiting in the worker broker.",
        labels=["queue"],
    )
    family.add_metric(
        ["tasks"], GenerationTask.objects.filter(state=State.QUEUED).count()
    )
    try:
        from django_q.brokers import get_broker

        family.add_metric(["broker"], int(get_broker().queue_size() or 0))
    except Exception as exc:  # the broker is down: the other figures still count
        log.warning("metrics: broker queue size unavailable: %s", type(exc).__name__)
    return family


def _breaker() -> Iterator[Metric]:
    current = breaker.status()
    yield GaugeMetricFamily(
        "seedance_provider_breaker_open",
        "1 while submissions are stopped by the provider circuit breaker.",
        value=0 if current.submitting else 1,
    )
    forced = GaugeMetricFamily(
        "seedance_provider_breaker_forced",
        "1 for the mode staff forced the breaker into (auto: not forced).",
        labels=["mode"],
    )
    for mode in BreakerForce:
        forced.add_metric([mode.value or "auto"], 1 if current.forced == mode else 0)
    yield forced
    yield GaugeMetricFamily(
        "seedance_provider_failures_in_a_row",
        "Provider failures (connection errors, 5xx, timeouts) since its last answer.",
        value=current.failures,
    )


def _download_bytes() -> Metric:
    total = VideoAsset.objects.aggregate(n=Sum("size_bytes"))["n"] or 0
    return CounterMetricFamily(
        "seedance_download_bytes",
        "Bytes of finished videos downloaded from the provider into our storage.",
        value=total,
    )


def _storage_full() -> Metric:
    return GaugeMetricFamily(
        "seedance_downloads_waiting_for_storage",
        "Downloads waiting because the media storage is full (alert when > 0).",
        value=download.waiting_for_storage().count(),
    )


def _dispatcher_age() -> Metric:
    beat = dispatch.dispatcher_heartbeat()
    return GaugeMetricFamily(
        "seedance_dispatcher_heartbeat_age_seconds",
        "Seconds since the active dispatcher's last pass (-1: never).",
        value=-1 if beat is None else max(0.0, time.time() - beat),
    )
