"""Film stitching benchmark (issue #15): prints one JSON object with --json."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from generations.benchmarks import film


class Command(BaseCommand):
    help = "Stitch 10 simulator clips of 12 s at 720p: hard cuts and crossfades."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        report = film.run()
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        for key, value in report.items():
            self.stdout.write(f"{key}: {value}")
