"""Server time and SQL queries of the main pages with 100,000 videos (JSON).

Seeds a fresh database (never the developer's) with 100,000 finished videos and
1,000 tasks in flight across 20 members, then times each page through Django's
test client: dashboard, the live refresh request, the gallery (first page, a
filtered page, a search for a common word and for an absent one), the detail
page, the admin task list and the staff overview.

``--compare 100000,1000000`` seeds the smaller size, times the pages, grows the
same database to the larger size and times them again; the JSON then holds each
size's pages and the ratio of each page's p95 (larger / smaller).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from generations.benchmarks.fresh import (
    add_db_name_argument,
    hidden_help,
    run_in_fresh_database,
)


class Command(BaseCommand):
    help = "Benchmark the pages on a seeded database of 100,000 videos; print JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--videos", type=int, default=100_000)
        parser.add_argument(
            "--compare",
            default="",
            help="Sizes to compare in one run, e.g. 100000,1000000.",
        )
        parser.add_argument("--in-flight", type=int, default=1000)
        parser.add_argument("--runs", type=int, default=30)
        add_db_name_argument(parser, "seedance_bench_pages")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--drive", action="store_true", help=hidden_help())

    def handle(self, *args: Any, **options: Any) -> None:
        sizes = _sizes(options["compare"]) if options["compare"] else []
        if options["drive"]:
            from generations.benchmarks.pages import compare, run

            if sizes:
                report = compare(sizes, options["in_flight"], options["runs"])
            else:
                report = run(options["videos"], options["in_flight"], options["runs"])
        else:
            which = (
                ["--compare", options["compare"]]
                if sizes
                else ["--videos", str(options["videos"])]
            )
            report = run_in_fresh_database(
                "bench_pages",
                [*which, "--in-flight", str(options["in_flight"]),
                 "--runs", str(options["runs"])],
                options["db_name"],
                keep=options["keep"],
            )  # fmt: skip
        self.stdout.write(json.dumps(report, indent=None if options["json"] else 2))


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise CommandError(
            f"--compare takes sizes like 100000,1000000: {text!r}"
        ) from exc
    if len(sizes) < 2 or sizes[0] <= 0:
        raise CommandError("--compare needs two or more positive sizes.")
    return sizes
