"""Virtual-clock benchmark of the poll scheduler against three baselines.

1,000 tasks are always in flight: when one is detected as finished, the next is
submitted at once. The first 1,000 tasks submitted are a warm-up for every policy;
once all of them are done they teach our scheduler (through the same
``choose_samples`` / ``plan_from_samples`` / ``PollPlan.delay_after`` the
dispatcher uses), and the next 10,000 tasks submitted are measured. Baselines
never learn.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand

from generations.apixo import contract
from generations.pipeline import schedule

DURATIONS = contract.DURATIONS
Policy = Callable[[int, float], float]  # (duration, elapsed) -> delay to next read


def documented_workload(rng: random.Random, duration: int) -> float:
    low, high = contract.GENERATION_SECONDS[duration]
    return rng.uniform(low, high)


def long_tail_workload(rng: random.Random, duration: int) -> float:
    # Log-normal, median 150 s; sigma 0.7 puts about 2.4 % past 10 minutes.
    return math.exp(math.log(150.0) + 0.7 * rng.gauss(0.0, 1.0))


WORKLOADS: dict[str, Callable[[random.Random, int], float]] = {
    "documented": documented_workload,
    "long_tail": long_tail_workload,
}


def fixed_policy(first: float, every: float) -> Policy:
    def delay(duration: int, elapsed: float) -> float:
        return first - elapsed if first - elapsed > 1e-3 else every

    return delay


BASELINES: dict[str, Policy] = {
    "provider_recipe": fixed_policy(50.0, 5.0),
    "apixo_docs": fixed_policy(60.0, 15.0),
    "fixed_5s": fixed_policy(5.0, 5.0),
}


class LearningPolicy:
    """Our scheduler: the documented prior first, then what it has observed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.observed: dict[int, list[float]] = {d: [] for d in DURATIONS}
        self.plans = {d: self._plan(d) for d in DURATIONS}

    def _plan(self, duration: int) -> schedule.PollPlan:
        seen = self.observed[duration][-schedule.HISTORY_SIZE :]
        pooled = [t for d in DURATIONS for t in self.observed[d]]
        samples = schedule.choose_samples(
            duration,
            same_kind=seen,
            same_duration=lambda: seen,
            any_duration=lambda: pooled[-schedule.POOLED_HISTORY_SIZE :],
            scale=1.0,
        )
        return schedule.plan_from_samples(samples, 1.0)

    def learn(self, duration: int, generation_seconds: float) -> None:
        self.observed[duration].append(generation_seconds)

    def relearn(self) -> None:
        self.plans = {d: self._plan(d) for d in DURATIONS}

    def __call__(self, duration: int, elapsed: float) -> float:
        return self.plans[duration].delay_after(elapsed, self.rng)


@dataclass
class Result:
    calls: list[int] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    per_minute: Counter[int] = field(default_factory=Counter)

    def summary(self) -> dict[str, float]:
        lags = sorted(self.lags)
        return {
            "tasks": len(self.calls),
            "calls_per_task": round(sum(self.calls) / len(self.calls), 3),
            "lag_p50_s": round(schedule.quantile(lags, 0.5), 2),
            "lag_p95_s": round(schedule.quantile(lags, 0.95), 2),
            "peak_rpm_at_1000": max(self.per_minute.values()),
        }


def simulate(
    policy: Policy,
    workload: Callable[[random.Random, int], float],
    *,
    seed: int,
    in_flight: int = 1000,
    warmup_tasks: int = 1000,
    measure_tasks: int = 10_000,
) -> Result:
    """Run tasks through ``policy`` on a virtual clock.

    The first ``warmup_tasks`` submitted are a warm-up for every policy (ours
    learns from them); tasks submitted after the last of them is done are
    measured, and so is every call (any task's) made from then on.
    """
    rng = random.Random(seed)
    learner = policy if isinstance(policy, LearningPolicy) else None
    result = Result()
    events: list[tuple[float, int]] = []
    tasks: dict[int, tuple[float, int, float, int]] = {}  # start, duration, T, calls
    next_id = 0
    finished = 0
    first_measured: int | None = None

    def submit(now: float) -> None:
        nonlocal next_id
        duration = DURATIONS[next_id % len(DURATIONS)]
        tasks[next_id] = (now, duration, workload(rng, duration), 0)
        count_call(now)
        heapq.heappush(events, (now + policy(duration, 0.0), next_id))
        next_id += 1

    def count_call(now: float) -> None:
        if first_measured is not None:
            result.per_minute[int(now // 60)] += 1

    for _ in range(in_flight):
        submit(0.0)
    while len(result.calls) < measure_tasks:
        now, task_id = heapq.heappop(events)
        start, duration, generation, calls = tasks[task_id]
        calls += 1
        count_call(now)
        elapsed = now - start
        if elapsed < generation:
            tasks[task_id] = (start, duration, generation, calls)
            heapq.heappush(events, (now + policy(duration, elapsed), task_id))
            continue
        del tasks[task_id]
        if first_measured is not None and task_id >= first_measured:
            result.calls.append(calls)
            result.lags.append(elapsed - generation)
        elif task_id < warmup_tasks:
            # Learn from the first tasks *submitted*, once every one of them is
            # done: the first ones to *finish* would be the fast ones.
            finished += 1
            if learner is not None:
                learner.learn(duration, generation)
            if finished == warmup_tasks:
                if learner is not None:
                    learner.relearn()
                first_measured = next_id
        submit(now)
    return result


def run(seed: int, measure_tasks: int) -> dict[str, Any]:
    report: dict[str, Any] = {"workloads": {}}
    for name, workload in WORKLOADS.items():
        policies: dict[str, Policy] = {"ours": LearningPolicy(random.Random(seed))}
        policies.update(BASELINES)
        report["workloads"][name] = {
            label: simulate(
                policy, workload, seed=seed, measure_tasks=measure_tasks
            ).summary()
            for label, policy in policies.items()
        }
        block = report["workloads"][name]
        block["ours_vs_provider_recipe_calls"] = round(
            block["ours"]["calls_per_task"]
            / block["provider_recipe"]["calls_per_task"],
            3,
        )
    return report


class Command(BaseCommand):
    help = "Benchmark the poll scheduler on a virtual clock (prints JSON)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON only.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--tasks", type=int, default=10_000)

    def handle(self, *args: Any, **options: Any) -> None:
        report = run(options["seed"], options["tasks"])
        self.stdout.write(json.dumps(report, indent=None if options["json"] else 2))
