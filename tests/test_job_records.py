"""django-q2 keeps failed jobs only; the last success is a cache stamp (ops/jobs.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Task
from django_q.monitor import save_task
from django_q.signals import post_execute

from generations import overview
from generations.ops import jobs

pytestmark = pytest.mark.django_db


def finished_job(*, success: bool, stopped: dt.datetime) -> dict[str, Any]:
    return {
        "id": f"job-{stopped.timestamp()}-{success}",
        "name": "poll_task-1",
        "func": "generations.tasks.poll_task",
        "args": (1,),
        "kwargs": {},
        "started": stopped - dt.timedelta(seconds=1),
        "stopped": stopped,
        "result": None if success else "boom",
        "success": success,
        # Not a worker's job: django-q2 then keeps the test's database connection.
        "sync": True,
    }


@pytest.fixture(autouse=True)
def fresh_stamp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "_stamped_at", None)


def test_the_monitor_saves_failures_but_not_successes() -> None:
    now = timezone.now()
    broker = get_broker()
    save_task(finished_job(success=True, stopped=now), broker)
    assert not Task.objects.exists()
    save_task(finished_job(success=False, stopped=now), broker)
    assert list(Task.objects.values_list("success", flat=True)) == [False]


def test_the_overview_shows_the_last_success_from_the_stamp() -> None:
    now = timezone.now()
    assert overview.health(now).last_job_at is None
    done = now - dt.timedelta(seconds=30)
    post_execute.send(sender="django_q", task=finished_job(success=True, stopped=done))
    report = overview.health(now)
    assert report.last_job_at == done
    assert report.failed_jobs_last_hour == 0


def test_a_failure_is_counted_and_does_not_stamp() -> None:
    now = timezone.now()
    failed = finished_job(success=False, stopped=now - dt.timedelta(minutes=5))
    save_task(failed, get_broker())
    post_execute.send(sender="django_q", task=failed)
    report = overview.health(now)
    assert report.last_job_at is None
    assert report.failed_jobs_last_hour == 1


def test_the_stamp_is_written_at_most_every_few_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])
    first = timezone.now() - dt.timedelta(minutes=2)
    jobs.note_job_done(task=finished_job(success=True, stopped=first))
    later = first + dt.timedelta(seconds=1)
    jobs.note_job_done(task=finished_job(success=True, stopped=later))
    assert jobs.last_job_done_at() == first
    clock[0] += jobs.STAMP_EVERY
    jobs.note_job_done(task=finished_job(success=True, stopped=later))
    assert jobs.last_job_done_at() == later
