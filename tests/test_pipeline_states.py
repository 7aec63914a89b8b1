"""Edge cases of submit, poll, unknown resolution and sweep, with the client seam
patched. The same paths run against the simulator over HTTP in test_pipeline_e2e."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from generations import credits
from generations.apixo import client as api
from generations.models import FailCode, GenerationTask, LedgerEntry, State
from generations.pipeline import dispatch, poll, submit, unknown
from tests.factories import queue_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_client() -> Iterator[mock.Mock]:
    fake = mock.create_autospec(api.ApixoClient, instance=True)
    with (
        mock.patch("generations.pipeline.submit.get_client", return_value=fake),
        mock.patch("generations.pipeline.poll.get_client", return_value=fake),
    ):
        yield fake


def refreshed(task: GenerationTask) -> GenerationTask:
    task.refresh_from_db()
    return task


def settlement(task: GenerationTask) -> str | None:
    entry = LedgerEntry.objects.filter(
        task=task, kind__in=["capture", "release"]
    ).first()
    return entry.kind if entry else None


def test_it_submits_and_waits(alice: Any, fake_client: mock.Mock) -> None:
    task = queue_task(alice)
    fake_client.create_task.return_value = "task_1"
    submit.submit_task(task.pk)
    task = refreshed(task)
    assert task.state == State.WAITING
    assert task.provider_task_id == "task_1"
    assert task.next_action_at is not None and task.lease_until is None
    kwargs = fake_client.create_task.call_args.kwargs
    assert kwargs["input"]["prompt"] == task.prompt
    assert kwargs["callback_url"] is None
    assert [t.to_state for t in task.transitions.all()] == [
        "queued",
        "submitting",
        "waiting",
    ]


def test_it_submits_a_task_only_once(alice: Any, fake_client: mock.Mock) -> None:
    task = queue_task(alice)
    fake_client.create_task.return_value = "task_1"
    submit.submit_task(task.pk)
    submit.submit_task(task.pk)  # a redelivered job
    assert fake_client.create_task.call_count == 1


@pytest.mark.parametrize(
    "error",
    [
        api.RateLimited("slow down", status=429, retryable=True, maybe_sent=False),
        api.TransportError("refused", retryable=True, maybe_sent=False),
    ],
)
def test_it_requeues_what_provably_was_not_sent(
    alice: Any, fake_client: mock.Mock, error: api.ProviderError
) -> None:
    task = queue_task(alice)
    fake_client.create_task.side_effect = error
    submit.submit_task(task.pk)
    task = refreshed(task)
    assert task.state == State.QUEUED
    assert task.next_action_at is not None and task.next_action_at > timezone.now()
    assert settlement(task) is None


def test_it_honours_retry_after(alice: Any, fake_client: mock.Mock) -> None:
    task = queue_task(alice)
    fake_client.create_task.side_effect = api.RateLimited(
        "slow", status=429, retryable=True, maybe_sent=False, retry_after=40
    )
    submit.submit_task(task.pk)
    task = refreshed(task)
    assert task.next_action_at is not None
    assert task.next_action_at >= timezone.now() + dt.timedelta(seconds=39)


def test_it_fails_and_releases_a_rejected_task(
    alice: Any, fake_client: mock.Mock
) -> None:
    task = queue_task(alice)
    fake_client.create_task.side_effect = api.BadRequest(
        "Invalid request: bad prompt", status=400, maybe_sent=False
    )
    submit.submit_task(task.pk)
    task = refreshed(task)
    assert task.state == State.FAILED
    assert "bad prompt" in task.fail_message
    assert settlement(task) == "release"


@pytest.mark.parametrize(
    "error",
    [
        api.TransportError("read timeout", retryable=True, maybe_sent=True),
        api.ServerError("boom", status=500, retryable=True),
        api.MalformedResponse("no taskId"),
    ],
)
def test_it_marks_an_ambiguous_submission_unknown(
    alice: Any, fake_client: mock.Mock, error: api.ProviderError
) -> None:
    task = queue_task(alice)
    fake_client.create_task.side_effect = error
    submit.submit_task(task.pk)
    task = refreshed(task)
    assert task.state == State.UNKNOWN
    assert settlement(task) is None  # the hold stays until resolved
    # Without a callback nothing can tell us more: failed, not charged.
    unknown.resolve_unknown(task.pk)
    task = refreshed(task)
    assert task.state == State.FAILED
    assert task.fail_code == FailCode.SUBMISSION_UNCONFIRMED
    assert settlement(task) == "release"
    assert fake_client.create_task.call_count == 1  # never re-sent


def test_it_polls_through_to_downloading(alice: Any, fake_client: mock.Mock) -> None:
    task = queue_task(alice)
    fake_client.create_task.return_value = "task_1"
    submit.submit_task(task.pk)
    fake_client.get_status.return_value = api.TaskStatus("task_1", "processing")
    poll.poll_task(task.pk)
    assert refreshed(task).state == State.GENERATING
    fake_client.get_status.return_value = api.TaskStatus(
        "task_1",
        "success",
        result_urls=["https://r2.apixo.ai/video.mp4"],
        create_time_ms=1767965610929,
        complete_time_ms=1767965652317,
        cost_time_ms=41388,
    )
    poll.poll_task(task.pk)
    task = refreshed(task)
    assert task.state == State.DOWNLOADING
    assert task.result_urls == ["https://r2.apixo.ai/video.mp4"]
    assert task.provider_cost_ms == 41388
    assert task.provider_completed_at == dt.datetime(
        2026, 1, 9, 13, 34, 12, 317000, tzinfo=dt.UTC
    )


def test_it_keeps_failcode_and_releases(alice: Any, fake_client: mock.Mock) -> None:
    task = queue_task(alice)
    fake_client.create_task.return_value = "task_1"
    submit.submit_task(task.pk)
    fake_client.get_status.return_value = api.TaskStatus(
        "task_1",
        "failed",
        fail_code="CONTENT_VIOLATION",
        fail_message="Content does not meet safety guidelines",
    )
    poll.poll_task(task.pk)
    task = refreshed(task)
    assert task.state == State.FAILED
    assert task.fail_code == "CONTENT_VIOLATION"
    assert "safety rules" in task.fail_reason
    assert settlement(task) == "release"
    assert credits.account_for(alice).balance == 1000


@pytest.mark.parametrize(
    "error",
    [
        api.ServerError("down", status=503, retryable=True),
        api.MalformedResponse("resultJson is not valid JSON", retryable=True),
        api.NotFound("no such task", status=404, maybe_sent=False),
        api.TransportError("timeout", retryable=True),
    ],
)
def test_it_never_fails_a_task_on_a_bad_status_read(
    alice: Any, fake_client: mock.Mock, error: api.ProviderError
) -> None:
    task = queue_task(alice)
    fake_client.create_task.return_value = "task_1"
    submit.submit_task(task.pk)
    fake_client.get_status.side_effect = error
    poll.poll_task(task.pk)
    task = refreshed(task)
    assert task.state == State.WAITING
    assert task.last_error
    assert task.next_action_at is not None and task.lease_until is None


def test_it_sweeps_a_submission_whose_worker_died(alice: Any) -> None:
    task = queue_task(alice)
    past = timezone.now() - dt.timedelta(minutes=10)
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.SUBMITTING, lease_until=past
    )
    assert dispatch.sweep()["submitting_to_unknown"] == 1
    assert refreshed(task).state == State.UNKNOWN


def test_it_waits_for_a_callback_before_giving_up(alice: Any) -> None:
    task = queue_task(alice, delivery="webhook")
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.UNKNOWN, callback_token_hash="x" * 64, submitted_at=timezone.now()
    )
    unknown.resolve_unknown(task.pk)
    task = refreshed(task)
    assert task.state == State.UNKNOWN
    assert task.next_action_at is not None and task.next_action_at > timezone.now()
    GenerationTask.objects.filter(pk=task.pk).update(provider_task_id="task_9")
    unknown.resolve_unknown(task.pk)
    assert refreshed(task).state == State.WAITING


def test_it_dispatches_each_due_task_once(alice: Any) -> None:
    tasks = [queue_task(alice) for _ in range(3)]
    sent: list[tuple[str, int]] = []
    counts = dispatch.dispatch_once(enqueue=lambda f, i: sent.append((f, i)))
    assert counts["submit"] == 3
    assert (
        dispatch.dispatch_once(enqueue=lambda f, i: sent.append((f, i)))["submit"] == 0
    )
    assert sorted(i for _, i in sent) == sorted(t.pk for t in tasks)


def test_it_shares_slots_fairly(alice: Any, bob: Any, settings: Any) -> None:
    settings.PROVIDER_CONCURRENT_LIMIT = 3
    for _ in range(20):
        queue_task(alice)
    late = queue_task(bob)
    sent: list[int] = []
    dispatch.dispatch_once(enqueue=lambda f, i: sent.append(i))
    assert len(sent) == 3
    assert late.pk in sent


def test_it_schedules_the_sweeper_in_django_q() -> None:
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="generations.tasks.sweep")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)
    from generations import tasks

    assert set(tasks.sweep()) >= {"submitting_to_unknown", "revived", "settled"}


@pytest.mark.django_db(transaction=True)
def test_an_accepted_submission_survives_a_database_blip(
    sim: Any, alice: Any, monkeypatch: Any
) -> None:
    """The database restarting as the provider's answer arrives: the worker keeps
    the taskId and writes it once the database is back (not unknown, not failed)."""
    from django.db import OperationalError

    real = submit.transition
    refused: list[str] = []

    def restarting(task_id: int, source: Any, target: Any, *a: Any, **k: Any) -> Any:
        if target == State.WAITING and len(refused) < 3:
            refused.append(str(target))
            raise OperationalError("the database system is shutting down")
        return real(task_id, source, target, *a, **k)

    monkeypatch.setattr(submit, "transition", restarting)
    monkeypatch.setattr(submit, "RECORD_RETRY_PAUSE", 0.01)
    task = queue_task(alice)
    submit.submit_task(task.pk)
    task.refresh_from_db()
    assert len(refused) == 3
    assert task.state == State.WAITING
    assert task.provider_task_id
    assert sim.stats()["tasks_created"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_long_database_outage_still_raises(
    sim: Any, alice: Any, monkeypatch: Any
) -> None:
    from django.db import OperationalError

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    task = queue_task(alice)
    monkeypatch.setattr(submit, "RECORD_RETRY_SECONDS", 0.05)
    monkeypatch.setattr(submit, "RECORD_RETRY_PAUSE", 0.01)
    real = submit.transition
    monkeypatch.setattr(
        submit,
        "transition",
        lambda task_id, source, target, *a, **k: (
            down()
            if target == State.WAITING
            else real(task_id, source, target, *a, **k)
        ),
    )
    with pytest.raises(OperationalError):
        submit.submit_task(task.pk)
    task.refresh_from_db()
    assert task.state == State.SUBMITTING  # the sweeper makes it unknown later


@pytest.mark.django_db(transaction=True)
def test_a_database_blip_before_the_post_does_not_strand_the_task(
    sim: Any, alice: Any, monkeypatch: Any
) -> None:
    """``submitting`` committed, then the database goes away before the POST:
    the read is retried and the task is sent once (not left to become unknown)."""
    from django.db import OperationalError

    real_get = GenerationTask.objects.get
    failures = iter(range(2))

    def restarting(*args: Any, **kwargs: Any) -> Any:
        if next(failures, None) is not None:
            raise OperationalError("the database system is shutting down")
        return real_get(*args, **kwargs)

    monkeypatch.setattr(GenerationTask.objects, "get", restarting)
    monkeypatch.setattr(submit, "RECORD_RETRY_PAUSE", 0.01)
    task = queue_task(alice)
    submit.submit_task(task.pk)
    task.refresh_from_db()
    assert task.state == State.WAITING
    assert sim.stats()["tasks_created"] == 1
