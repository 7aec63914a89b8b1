"""The driver of ``bench_pipeline``: runs inside a process whose default
database is the benchmark's own, starts the real processes and measures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count

from generations import credits
from generations.benchmarks.cpu import tree_cpu_seconds
from generations.models import (
    PROVIDER_SLOT_STATES,
    TERMINAL_STATES,
    GenerationTask,
    LedgerEntry,
    State,
    TaskTransition,
)
from generations.pipeline.schedule import quantile
from generations.services import GenerationParams, create_generations

DURATIONS = (4, 8, 12)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PipelineRun:
    def __init__(
        self, *, tasks: int, speed: float, workers: int, timeout: float, sim_key: str
    ) -> None:
        self.tasks = tasks
        self.speed = speed
        self.workers = workers
        self.timeout = timeout
        self.sim_key = sim_key
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="seedance-bench-run-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.web_cpu = 0.0
        self.env = {
            **os.environ,
            "SIMULATOR_PORT": str(self.port),
            "SIMULATOR_SPEED": str(speed),
            "SIMULATOR_API_KEY": sim_key,
            "DISPATCH_INTERVAL_SECONDS": "0.2",
        }

    def start(self, *args: str) -> None:
        log = (self.workdir / f"{args[0]}-{len(self.procs)}.log").open("ab")
        self.procs.append(
            subprocess.Popen(
                [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def sim_stats(self) -> dict[str, Any]:
        response = requests.get(
            f"http://127.0.0.1:{self.port}/_sim/stats",
            headers={"Authorization": f"Bearer {self.sim_key}"},
            timeout=10,
        )
        response.raise_for_status()
        return dict(response.json()["data"])

    def wait_for_simulator(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.sim_stats()
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("the simulator did not start")

    def execute(self) -> dict[str, Any]:
        user = get_user_model().objects.create_user("bench")
        credits.grant(user=user, amount=self.tasks * 100, reason="benchmark")
        self.start(
            "run_simulator", "--port", str(self.port), "--speed", str(self.speed),
            "--api-key", self.sim_key, "--data-dir", str(self.workdir / "sim"),
            "--shared-videos",
        )  # fmt: skip
        self.wait_for_simulator()
        self.start("run_dispatcher")
        for _ in range(self.workers):
            self.start("qcluster")
        started = time.monotonic()
        cpu_started = time.process_time()
        self.queue(user)
        # Creating the tasks is the web's share (what the create form runs).
        self.web_cpu = time.process_time() - cpu_started
        peak = self.wait(started)
        wall = time.monotonic() - started
        return self.report(wall, peak)

    def cpu_seconds(self) -> dict[str, float]:
        """Our processes' CPU: the web's share, the dispatcher and the worker
        clusters with all their children (start-up included); not the
        simulator's (the first process)."""
        dispatcher, *clusters = self.procs[1:]
        return {
            "web": round(self.web_cpu, 2),
            "dispatcher": round(tree_cpu_seconds([dispatcher.pid]), 2),
            "workers": round(tree_cpu_seconds([p.pid for p in clusters]), 2),
        }

    def queue(self, user: Any) -> None:
        batch: list[GenerationParams] = []
        for i in range(self.tasks):
            batch.append(
                GenerationParams(
                    prompt=f"benchmark clip {i}: waves rolling onto a beach",
                    resolution="480p",
                    duration=DURATIONS[i % 3],
                    sound=False,
                    aspect_ratio="16:9",
                )
            )
            if len(batch) == 100:
                create_generations(owner=user, variants=batch)
                batch = []
        if batch:
            create_generations(owner=user, variants=batch)

    def wait(self, started: float) -> int:
        peak = 0
        while time.monotonic() - started < self.timeout:
            in_flight = GenerationTask.objects.filter(
                state__in=PROVIDER_SLOT_STATES
            ).count()
            peak = max(peak, in_flight)
            open_tasks = GenerationTask.objects.exclude(state__in=TERMINAL_STATES)
            if not open_tasks.exists():
                break
            time.sleep(0.5)
        return peak

    def report(self, wall: float, peak: int) -> dict[str, Any]:
        cpu = self.cpu_seconds()
        stats = self.sim_stats()
        routes: dict[str, dict[str, int]] = stats.get("requests", {})
        from generations.apixo import contract

        status_calls = sum(routes.get(f"GET {contract.STATUS_PATH}", {}).values())
        generate_calls = int(stats.get("generate_calls", 0))
        http_429 = sum(by.get("429", 0) for by in routes.values())
        counts = dict(
            GenerationTask.objects.values_list("state").annotate(n=Count("id"))
        )
        succeeded = counts.get(State.SUCCEEDED, 0)
        settled = LedgerEntry.objects.filter(kind__in=["capture", "release"]).count()
        terminal = sum(counts.get(state, 0) for state in TERMINAL_STATES)
        ids = GenerationTask.objects.exclude(provider_task_id=None).count()
        lags = self.lags()
        return {
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "broker": "redis" if settings.REDIS_URL else "orm",
            "worker_clusters": self.workers,
            "speed": self.speed,
            "tasks": self.tasks,
            "succeeded": succeeded,
            "failed": counts.get(State.FAILED, 0),
            "lost": self.tasks - terminal + (terminal - settled),
            "duplicate_submissions": max(0, int(stats.get("tasks_created", 0)) - ids),
            "http_429": http_429,
            "calls_per_task": round((status_calls + generate_calls) / self.tasks, 2),
            "status_calls_per_task": round(status_calls / self.tasks, 2),
            "lag_p50_s": round(quantile(lags, 0.5), 1) if lags else None,
            "lag_p95_s": round(quantile(lags, 0.95), 1) if lags else None,
            "throughput_per_min": round(succeeded / (wall * self.speed / 60), 1),
            "peak_in_flight": peak,
            "wall_seconds": round(wall, 1),
            "cpu_ms_per_task": round(1000 * sum(cpu.values()) / max(1, terminal), 1),
            "cpu_seconds": cpu,
        }

    def lags(self) -> list[float]:
        """Provider finished -> we knew (the move to downloading), simulated s."""
        detected = dict(
            TaskTransition.objects.filter(to_state=State.DOWNLOADING).values_list(
                "task_id", "at"
            )
        )
        lags = []
        for task_id, completed in GenerationTask.objects.filter(
            pk__in=detected, provider_completed_at__isnull=False
        ).values_list("pk", "provider_completed_at"):
            if completed is not None:
                seconds = (detected[task_id] - completed).total_seconds()
                lags.append(seconds * self.speed)
        return sorted(lags)
