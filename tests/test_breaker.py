"""The provider circuit breaker: opens on failures, stops submissions, probes,
closes; against the simulator over real HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from generations import credits
from generations.apixo import contract
from generations.apixo.client import ApixoClient, ServerError, TransportError
from generations.apixo.simulator.running import RunningSimulator
from generations.models import BreakerState, GenerationTask, ProviderBreaker, State
from generations.ops import breaker
from generations.pipeline import dispatch
from generations.pipeline.common import reset_client
from tests.factories import queue_task
from tests.processes import free_port
from tests.sim import API_KEY, assert_books_balance, drive, run_job

pytestmark = pytest.mark.django_db(transaction=True)


def generate_calls(sim: RunningSimulator) -> int:
    return int(sim.stats().get("generate_calls", 0))


def balance_reads(sim: RunningSimulator) -> int:
    requests = sim.stats()["requests"]
    return sum(
        int(sum(statuses.values()))
        for route, statuses in requests.items()
        if route.endswith(contract.BALANCE_PATH)
    )


def provider_down(settings: Any) -> None:
    """Nothing listens at the provider's address: every connection is refused."""
    settings.APIXO_BASE_URL = f"http://127.0.0.1:{free_port()}"
    reset_client()


def provider_back(settings: Any, sim: RunningSimulator) -> None:
    settings.APIXO_BASE_URL = sim.base_url
    reset_client()


def make_all_due() -> None:
    GenerationTask.objects.update(next_action_at=timezone.now(), lease_until=None)


def test_it_opens_stops_submitting_and_closes_after_a_probe(
    sim: RunningSimulator, alice: Any, bob: Any, settings: Any
) -> None:
    settings.BREAKER_FAILURE_THRESHOLD = 3
    settings.BREAKER_PROBE_SECONDS = 3600
    provider_down(settings)
    tasks = [queue_task(alice), queue_task(alice), queue_task(bob)]
    dispatch.dispatch_once(enqueue=run_job)

    status = breaker.status()
    assert status.state == BreakerState.OPEN
    assert not status.submitting
    assert status.last_failure_kind == "transport"
    # Queued tasks wait with their credits held.
    assert set(GenerationTask.objects.values_list("state", flat=True)) == {State.QUEUED}
    assert credits.account_for(alice).balance == 1000 - tasks[0].cost * 2

    provider_back(settings, sim)
    late = queue_task(bob)
    for _ in range(5):
        make_all_due()
        counts = dispatch.dispatch_once(enqueue=run_job)
        assert counts["submit"] == 0
    assert generate_calls(sim) == 0  # the simulator's own request log
    assert balance_reads(sim) == 0  # no probe before it is due

    # Backoffs as the outage left them (up to minutes).
    GenerationTask.objects.update(
        next_action_at=timezone.now() + dt.timedelta(minutes=5)
    )
    ProviderBreaker.objects.update(probe_at=timezone.now() - dt.timedelta(seconds=1))
    dispatch.dispatch_once(enqueue=run_job)
    assert balance_reads(sim) == 1
    assert breaker.status().state == BreakerState.CLOSED
    assert breaker.status().failures == 0
    # Backoffs earned during the outage are forgiven: every queued task is due.
    assert not GenerationTask.objects.filter(
        state=State.QUEUED, next_action_at__gt=timezone.now()
    ).exists()

    drive(timeout=60)
    assert set(GenerationTask.objects.values_list("state", flat=True)) == {
        State.SUCCEEDED
    }
    assert generate_calls(sim) == 4
    assert GenerationTask.objects.get(pk=late.pk).state == State.SUCCEEDED
    assert_books_balance()


def test_it_stays_open_while_the_probe_fails(
    sim: RunningSimulator, alice: Any, settings: Any
) -> None:
    settings.BREAKER_FAILURE_THRESHOLD = 2
    provider_down(settings)
    queue_task(alice)
    for _ in range(2):
        breaker.record(TransportError("refused", maybe_sent=False))
    assert breaker.status().state == BreakerState.OPEN
    ProviderBreaker.objects.update(probe_at=timezone.now() - dt.timedelta(seconds=1))
    dispatch.dispatch_once(enqueue=run_job)
    current = breaker.status()
    assert current.state == BreakerState.OPEN
    assert current.probe_at is not None and current.probe_at > timezone.now()
    # One probe per interval, not one per pass.
    dispatch.dispatch_once(enqueue=run_job)
    assert ProviderBreaker.objects.get().probes == 1
    assert GenerationTask.objects.get().state == State.QUEUED


def test_it_counts_only_failures_in_a_row(settings: Any) -> None:
    settings.BREAKER_FAILURE_THRESHOLD = 3
    five_oh_three = ServerError("unavailable", status=503, retryable=True)
    breaker.record(five_oh_three)
    breaker.record(five_oh_three)
    breaker.record(None)  # an answer in between: the provider is up
    breaker.record(five_oh_three)
    breaker.record(five_oh_three)
    assert breaker.status().state == BreakerState.CLOSED
    breaker.record(five_oh_three)
    assert breaker.status().state == BreakerState.OPEN


def test_it_keeps_reading_statuses_at_a_low_rate_while_open(
    alice: Any, settings: Any
) -> None:
    settings.BREAKER_FAILURE_THRESHOLD = 1
    settings.BREAKER_READS_PER_PASS = 2
    settings.BREAKER_PROBE_SECONDS = 3600
    for i in range(6):
        task = queue_task(alice)
        GenerationTask.objects.filter(pk=task.pk).update(
            state=State.WAITING, provider_task_id=f"p-{i}"
        )
    queue_task(alice)
    make_all_due()
    breaker.record(TransportError("timed out"))
    sent: list[tuple[str, int]] = []
    counts = dispatch.dispatch_once(enqueue=lambda f, t: sent.append((f, t)))
    assert counts["poll"] == 2
    assert counts["submit"] == 0
    assert all(func == dispatch.JOBS["poll"] for func, _ in sent)


def test_it_obeys_staff_forcing(sim: RunningSimulator, alice: Any) -> None:
    queue_task(alice)
    breaker.force("open", by="sam")
    for _ in range(3):
        make_all_due()
        assert dispatch.dispatch_once(enqueue=run_job)["submit"] == 0
    assert generate_calls(sim) == 0
    assert breaker.status().forced_by == "sam"

    for _ in range(10):
        breaker.record(TransportError("refused", maybe_sent=False))
    breaker.force("closed", by="sam")
    make_all_due()
    assert dispatch.dispatch_once(enqueue=run_job)["submit"] == 1
    assert generate_calls(sim) == 1

    breaker.force("", by="sam")
    assert breaker.status().forced == ""
    with pytest.raises(ValueError):
        breaker.force("sideways", by="sam")


def test_it_never_loses_an_answer_when_the_hook_fails(sim: RunningSimulator) -> None:
    def broken(endpoint: str, error: Any) -> None:
        raise RuntimeError("database is locked")

    client = ApixoClient(base_url=sim.base_url, api_key=API_KEY, after_request=broken)
    task_id = client.create_task(
        input={
            "mode": "text-to-video",
            "prompt": "a quiet harbour at dawn, slow pan",
            "resolution": "480p",
            "duration": 4,
            "sound": False,
            "aspect_ratio": "16:9",
            "fixed_lens": False,
        }
    )
    assert task_id


@pytest.mark.slow
def test_it_rides_out_an_outage_with_real_processes(stack: Any, alice: Any) -> None:
    """Simulator, workers and dispatcher as processes: the simulator is stopped,
    the breaker opens, the probe (a django-q2 job) closes it once it is back."""
    from tests.processes import wait_until

    stack.env.update(BREAKER_FAILURE_THRESHOLD="3", BREAKER_PROBE_SECONDS="2")
    stack.start_simulator()
    stack.start_dispatcher()
    stack.start_workers()
    stack.kill("simulator")
    tasks = [queue_task(alice) for _ in range(3)]
    wait_until(
        lambda: breaker.status().state == BreakerState.OPEN, 60, "the breaker to open"
    )
    # The submission whose failure opened it may still be on its way back to the
    # queue; every task ends up waiting there, none failed or unknown.
    ids = [t.pk for t in tasks]
    wait_until(
        lambda: (
            set(
                GenerationTask.objects.filter(pk__in=ids).values_list(
                    "state", flat=True
                )
            )
            == {State.QUEUED}
        ),
        30,
        "every task back in the queue",
    )
    stack.start_simulator()
    wait_until(
        lambda: breaker.status().state == BreakerState.CLOSED, 60, "a probe to close it"
    )
    wait_until(
        lambda: GenerationTask.objects.filter(state=State.SUCCEEDED).count() == 3,
        120,
        "every task to succeed",
    )
    stats = stack.sim_stats()
    assert stats["generate_calls"] == 3  # each sent once, after recovery
    assert_books_balance()
