"""Server time and SQL queries of the main pages with 100,000 videos (JSON).

Seeds a fresh database (never the developer's) with 100,000 finished videos and
1,000 tasks in flight across 20 members, then times each page through Django's
test client: dashboard, the live refresh request, the gallery (first page, a
filtered page, a search), the detail page, the admin task list and the staff
overview.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from generations.benchmarks.fresh import hidden_help, run_in_fresh_database


class Command(BaseCommand):
    help = "Benchmark the pages on a seeded database of 100,000 videos; print JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--videos", type=int, default=100_000)
        parser.add_argument("--in-flight", type=int, default=1000)
        parser.add_argument("--runs", type=int, default=30)
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--drive", action="store_true", help=hidden_help())

    def handle(self, *args: Any, **options: Any) -> None:
        if options["drive"]:
            from generations.benchmarks.pages import run

            report = run(options["videos"], options["in_flight"], options["runs"])
        else:
            report = run_in_fresh_database(
                "bench_pages",
                ["--videos", str(options["videos"]),
                 "--in-flight", str(options["in_flight"]),
                 "--runs", str(options["runs"])],
                "seedance_bench_pages",
            )  # fmt: skip
        self.stdout.write(json.dumps(report, indent=None if options["json"] else 2))
