"""/metrics: Prometheus text for staff or a bearer token, from shared state."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from generations.apixo.simulator.running import RunningSimulator
from generations.models import GenerationTask, State, VideoAsset
from generations.ops import breaker
from tests.factories import queue_task
from tests.sim import drive

TOKEN = "metrics-token-0123456789abcdef"


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(body: bytes, name: str, **labels: str) -> float:
    return samples(body)[(name, tuple(sorted(labels.items())))]


def counted(body: bytes, name: str, **labels: str) -> float:
    """A counter's value, 0 when it has not appeared yet."""
    return samples(body).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_it_refuses_visitors_members_and_wrong_tokens(
    client: Any, alice: Any, settings: Any, caplog: Any
) -> None:
    settings.METRICS_TOKEN = TOKEN
    caplog.set_level(logging.DEBUG)
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    basic = client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    client.force_login(alice)
    assert client.get("/metrics").status_code == 401
    assert client.post("/metrics").status_code == 405
    assert TOKEN not in caplog.text


@pytest.mark.django_db
def test_it_refuses_an_empty_token_when_none_is_configured(
    client: Any, settings: Any
) -> None:
    settings.METRICS_TOKEN = ""
    assert (
        client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    )
    assert (
        client.get("/metrics", headers={"Authorization": "Bearer x"}).status_code == 401
    )


@pytest.mark.django_db
def test_it_answers_staff_and_the_token(client: Any, staff: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    by_token = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert by_token.status_code == 200
    assert by_token["Content-Type"].startswith("text/plain")
    assert "no-cache" in by_token["Cache-Control"]
    client.force_login(staff)
    assert client.get("/metrics").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_it_reports_tasks_requests_errors_bytes_and_the_breaker(
    sim: RunningSimulator, client: Any, alice: Any, staff: Any
) -> None:
    client.force_login(staff)
    # Counters are shared (with Redis, across test runs too): compare growth.
    before = client.get("/metrics").content
    done = queue_task(alice)
    drive()
    sim.set_faults({"rate_503": 1.0})
    failing = queue_task(alice, prompt="a lighthouse in fog, slow zoom out")
    drive()  # the 503 makes the outcome unknown, then unconfirmed
    sim.set_faults({})
    waiting = queue_task(alice)
    body = client.get("/metrics").content

    def grew(name: str, **labels: str) -> float:
        return counted(body, name, **labels) - counted(before, name, **labels)

    assert value(body, "seedance_tasks", state="succeeded") == 1
    assert value(body, "seedance_tasks", state="failed") == 1
    assert value(body, "seedance_tasks", state="queued") == 1
    assert value(body, "seedance_queue_depth", queue="tasks") == 1
    stats = sim.stats()["requests"]
    generate_sent = sum(
        sum(v.values()) for k, v in stats.items() if "generateTask" in k
    )
    assert grew("seedance_provider_requests_total", endpoint="generate") == (
        generate_sent
    )
    assert (
        grew(
            "seedance_provider_errors_total",
            endpoint="generate",
            kind="server_error",
        )
        == 1
    )
    assert grew("seedance_provider_requests_total", endpoint="status") >= 1
    size = VideoAsset.objects.get(task=done).size_bytes
    assert size > 0
    assert value(body, "seedance_download_bytes_total") == size
    assert value(body, "seedance_provider_breaker_open") == 0
    assert value(body, "seedance_provider_failures_in_a_row") == 1  # the 503
    assert GenerationTask.objects.get(pk=failing.pk).state == State.FAILED
    assert waiting.state == State.QUEUED

    breaker.force("open", by="sam")
    body = client.get("/metrics").content
    assert value(body, "seedance_provider_breaker_open") == 1
    assert value(body, "seedance_provider_breaker_forced", mode="open") == 1
    assert value(body, "seedance_provider_breaker_forced", mode="auto") == 0


@pytest.mark.django_db
def test_it_reports_the_lag_of_the_most_overdue_poll(
    client: Any, alice: Any, staff: Any
) -> None:
    import datetime as dt

    from django.utils import timezone

    task = queue_task(alice)
    client.force_login(staff)
    assert value(client.get("/metrics").content, "seedance_poll_lag_seconds") == 0
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.WAITING,
        provider_task_id="p-1",
        next_action_at=timezone.now() - dt.timedelta(seconds=42),
    )
    lag = value(client.get("/metrics").content, "seedance_poll_lag_seconds")
    assert 42 <= lag < 60


def test_it_redacts_the_metrics_token_from_logs(settings: Any) -> None:
    from generations import logging as seedance_logging

    settings.METRICS_TOKEN = TOKEN
    line = f"scrape failed with metrics token {TOKEN} in a message"
    assert TOKEN not in seedance_logging.redact(line)
