from __future__ import annotations

import datetime as dt
import json
import random
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from generations.management.commands import bench_polling
from generations.models import GenerationTask, State
from generations.pipeline import schedule
from tests.factories import queue_task


def lag_ok_share(plan: schedule.PollPlan, samples: list[float]) -> float:
    ok = 0
    for finish in samples:
        times = plan.poll_times(finish)
        ok += times[-1] - finish <= plan.lag_target
    return ok / len(samples)


def test_it_plans_the_documented_range_before_any_history() -> None:
    plan = schedule.plan_from_samples(schedule.documented_samples(8))
    assert 55 <= plan.offsets[0] <= 66  # near the earliest documented finish
    assert plan.slowest_expected >= 90
    rng = random.Random(1)
    future = [rng.uniform(60, 90) for _ in range(2000)]
    assert lag_ok_share(plan, future) >= 0.95
    assert plan.expected_calls < 6


def test_it_reads_earlier_once_history_shows_faster_tasks() -> None:
    rng = random.Random(2)
    prior = schedule.plan_from_samples(schedule.documented_samples(8))
    learned = schedule.plan_from_samples([rng.uniform(20, 30) for _ in range(300)])
    assert learned.offsets[0] < 25 < prior.offsets[0]


def test_it_backs_off_with_jitter_past_every_plan() -> None:
    plan = schedule.plan_from_samples(schedule.documented_samples(4))
    last = plan.offsets[-1]
    delays = [plan.delay_after(last + 100, random.Random(i)) for i in range(20)]
    assert len(set(delays)) > 1
    assert all(plan.lag_target < d <= plan.max_interval * 1.15 for d in delays)
    assert plan.delay_after(last + 10_000) <= plan.max_interval * 1.15


def test_it_scales_the_plan_for_a_fast_simulator() -> None:
    plan = schedule.plan_from_samples(schedule.documented_samples(4, scale=20), 20)
    assert plan.offsets[0] < 3.5
    assert plan.lag_target == pytest.approx(4.5 / 20)


def test_it_pools_durations_only_when_they_look_alike() -> None:
    rng = random.Random(3)
    a = [rng.lognormvariate(5, 0.7) for _ in range(300)]
    b = [rng.lognormvariate(5, 0.7) for _ in range(300)]
    c = [rng.uniform(40, 60) for _ in range(300)]
    assert schedule.same_distribution(a, a + b)
    assert not schedule.same_distribution(c, a + c)
    chosen = schedule.choose_samples(
        4, same_kind=c, same_duration=lambda: c, any_duration=lambda: a + c, scale=1
    )
    assert chosen is c


@pytest.mark.django_db
def test_it_learns_from_finished_tasks_in_the_database(
    alice: Any, settings: Any
) -> None:
    settings.SIMULATOR_ENABLED = False
    base = timezone.now() - dt.timedelta(hours=1)
    for i in range(40):
        task = queue_task(alice, duration=4)
        GenerationTask.objects.filter(pk=task.pk).update(
            state=State.SUCCEEDED,
            provider_created_at=base,
            provider_completed_at=base + dt.timedelta(seconds=10 + i % 5),
        )
    plan = schedule.plan_for(4, "480p", False, "auto")
    assert plan.offsets[0] < 15  # far below the documented 40-60 s
    assert plan.slowest_expected < 20


def test_it_meets_the_benchmark_targets() -> None:
    report = bench_polling.run(seed=7, measure_tasks=10_000)["workloads"]
    documented, long_tail = report["documented"], report["long_tail"]
    assert documented["ours"]["lag_p95_s"] <= 5
    assert documented["ours_vs_provider_recipe_calls"] <= 0.6
    assert long_tail["ours"]["lag_p95_s"] <= 10
    assert long_tail["ours_vs_provider_recipe_calls"] <= 0.55
    for block in (documented, long_tail):
        assert block["ours"]["peak_rpm_at_1000"] <= 8000
        assert block["fixed_5s"]["peak_rpm_at_1000"] > 8000  # the budget binds


def test_it_prints_one_json_object() -> None:
    out = StringIO()
    call_command("bench_polling", "--json", "--tasks", "300", stdout=out)
    report = json.loads(out.getvalue())
    assert set(report["workloads"]) == {"documented", "long_tail"}
    assert set(report["workloads"]["documented"]) >= {
        "ours",
        "provider_recipe",
        "apixo_docs",
        "fixed_5s",
    }
