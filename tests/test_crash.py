"""kill -9 the workers and the dispatcher during submit, poll and download
(real subprocesses), restart them: every task reaches a terminal or honestly
unknown state, nothing is submitted twice, every hold is settled once."""

from __future__ import annotations

from typing import Any

import pytest

from generations.models import TERMINAL_STATES, GenerationTask, State, VideoAsset
from tests.factories import queue_task
from tests.processes import Stack, wait_until
from tests.sim import assert_books_balance

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SETTLED = TERMINAL_STATES


def count(*states: State) -> int:
    return GenerationTask.objects.filter(state__in=states).count()


def settle(stack: Stack, timeout: float = 90) -> None:
    wait_until(
        lambda: count(*SETTLED) == GenerationTask.objects.count(),
        timeout,
        "every task to finish",
    )
    assert_books_balance()
    stats = stack.sim_stats()
    # Never submitted twice: the provider saw at most one task per task of ours.
    assert 0 < stats["tasks_created"] <= GenerationTask.objects.count()
    assert stats["generate_calls"] <= GenerationTask.objects.count()
    ids = [
        t
        for t in GenerationTask.objects.values_list("provider_task_id", flat=True)
        if t
    ]
    assert len(ids) == len(set(ids))


def start_pipeline(stack: Stack) -> None:
    stack.start_simulator()
    stack.start_dispatcher()
    stack.start_workers()


def test_it_survives_a_kill_during_submit(stack: Stack, alice: Any) -> None:
    start_pipeline(stack)
    stack.set_faults({"slow_seconds": 6, "slow_rate": 1.0})
    tasks = [queue_task(alice) for _ in range(3)]
    wait_until(lambda: count(State.SUBMITTING) >= 1, 30, "a submission in flight")
    stack.kill("worker")
    stack.set_faults({})
    stack.start_workers()
    settle(stack)
    states = set(GenerationTask.objects.values_list("state", flat=True))
    # Those killed mid-request end unconfirmed (credits back), the rest succeed.
    assert states <= {State.SUCCEEDED, State.FAILED}
    for task in GenerationTask.objects.filter(state=State.FAILED):
        assert task.fail_code == "SUBMISSION_UNCONFIRMED"
        assert "stopped while submitting" in " ".join(
            task.transitions.values_list("reason", flat=True)
        )
    assert len(tasks) == 3


def test_it_survives_a_kill_during_polling(stack: Stack, alice: Any) -> None:
    start_pipeline(stack)
    for _ in range(3):
        queue_task(alice, prompt="slow waves on a beach [sim:time=400]")
    wait_until(
        lambda: count(State.WAITING, State.GENERATING) == 3, 40, "tasks at the provider"
    )
    stack.kill("worker")
    stack.kill("dispatcher")
    stack.start_dispatcher()
    stack.start_workers()
    settle(stack)
    assert count(State.SUCCEEDED) == 3


def test_it_survives_a_kill_during_download(stack: Stack, alice: Any) -> None:
    start_pipeline(stack)
    stack.set_faults({"slow_result_seconds": 8})
    for _ in range(2):
        queue_task(alice)
    wait_until(
        lambda: GenerationTask.objects.filter(
            state=State.DOWNLOADING, lease_until__isnull=False
        ).exists(),
        60,
        "a download in flight",
    )
    stack.kill("worker")
    stack.kill("dispatcher")
    stack.set_faults({})
    stack.start_workers()
    stack.start_dispatcher()
    settle(stack)
    assert count(State.SUCCEEDED) == 2
    assert VideoAsset.objects.count() == 2
