"""A real simulator over HTTP for tests, and a driver that runs the pipeline
in-process (each dispatched job runs at once instead of through django-q2)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils.module_loading import import_string

from generations.apixo.simulator.config import SimulatorConfig
from generations.apixo.simulator.running import RunningSimulator, start_simulator
from generations.models import TERMINAL_STATES, GenerationTask, LedgerEntry, State
from generations.pipeline import dispatch
from generations.pipeline.common import reset_client

SPEED = 400.0
API_KEY = "test-sim-key"


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    data_dir: Path = tmp_path_factory.mktemp("simulator")
    config = SimulatorConfig(api_key=API_KEY, speed=SPEED, data_dir=data_dir, seed=5)
    running = start_simulator(config)
    yield running
    running.stop()


@pytest.fixture
def sim(simulator: RunningSimulator, settings: Any) -> Iterator[RunningSimulator]:
    """The simulator, reset, with the studio's settings pointing at it."""
    simulator.reset()
    simulator.set_faults({})
    settings.SIMULATOR_ENABLED = True
    settings.SIMULATOR_SPEED = SPEED
    settings.APIXO_BASE_URL = simulator.base_url
    settings.APIXO_EFFECTIVE_KEY = API_KEY
    settings.APIXO_TIMEOUT_SECONDS = 3.0
    settings.APIXO_RESULT_HOSTS = ["127.0.0.1"]
    settings.APIXO_RESULT_ALLOW_LOCAL = True
    reset_client()
    yield simulator
    simulator.set_faults({})
    reset_client()


def run_job(func: str, task_id: int) -> None:
    import_string(func)(task_id)


def drive(
    until: Callable[[], bool] | None = None,
    *,
    timeout: float = 30.0,
    enqueue: Callable[[str, int], Any] = run_job,
) -> None:
    """Dispatch and run due jobs until ``until()`` (default: nothing in flight)."""
    until = until or all_settled
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            states = list(
                GenerationTask.objects.values_list("pk", "state", "last_error")
            )
            raise AssertionError(f"pipeline did not settle in {timeout} s: {states}")
        dispatch.sweep()
        dispatch.dispatch_once(enqueue=enqueue)
        time.sleep(0.02)


def drive_until_downloads_failed(task: GenerationTask, attempts: int) -> None:
    """Drive the pipeline until the task's download was tried ``attempts`` times."""
    drive(
        lambda: GenerationTask.objects.filter(
            pk=task.pk, download_attempts__gte=attempts
        ).exists()
    )


def all_settled() -> bool:
    return not GenerationTask.objects.exclude(state__in=TERMINAL_STATES).exists()


def assert_books_balance() -> None:
    """Every terminal task settled exactly once: captured iff it succeeded."""
    for task in GenerationTask.objects.all():
        kinds = list(
            LedgerEntry.objects.filter(task=task).values_list("kind", flat=True)
        )
        assert kinds.count("hold") == 1, (task.pk, kinds)
        settled = [k for k in kinds if k in ("capture", "release")]
        if task.state in TERMINAL_STATES:
            expected = ["capture"] if task.state == State.SUCCEEDED else ["release"]
            assert settled == expected, (task.pk, task.state, kinds)
        else:
            assert settled == [], (task.pk, task.state, kinds)
