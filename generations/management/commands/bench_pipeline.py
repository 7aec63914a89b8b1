"""End-to-end pipeline benchmark on real processes (prints one JSON object).

In a fresh database (``generations.benchmarks.fresh``), the driver starts the
simulator, the dispatcher and one or more qcluster processes, queues the tasks
(polling mode), waits until every task is finished, and reports. Times are in
simulated seconds (wall seconds x speed).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from generations.benchmarks.fresh import (
    add_db_name_argument,
    hidden_help,
    run_in_fresh_database,
)

SIM_KEY = "bench-sim-key"


class Command(BaseCommand):
    help = "Run N tasks through real processes and the simulator; print JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tasks", type=int, default=1000)
        parser.add_argument("--speed", type=float, default=60.0)
        parser.add_argument("--workers", type=int, default=1, help="qcluster processes")
        parser.add_argument("--timeout", type=float, default=900.0)
        add_db_name_argument(parser, "seedance_bench")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--drive", action="store_true", help=hidden_help())

    def handle(self, *args: Any, **options: Any) -> None:
        if options["drive"]:
            report = drive(options)
        else:
            report = run_in_fresh_database(
                "bench_pipeline",
                ["--tasks", str(options["tasks"]), "--speed", str(options["speed"]),
                 "--workers", str(options["workers"]),
                 "--timeout", str(options["timeout"])],
                options["db_name"],
                keep=options["keep"],
            )  # fmt: skip
        self.stdout.write(json.dumps(report, indent=None if options["json"] else 2))


def drive(options: dict[str, Any]) -> dict[str, Any]:
    from generations.benchmarks.pipeline_driver import PipelineRun

    run = PipelineRun(
        tasks=options["tasks"],
        speed=options["speed"],
        workers=options["workers"],
        timeout=options["timeout"],
        sim_key=SIM_KEY,
    )
    try:
        return run.execute()
    finally:
        run.stop()
